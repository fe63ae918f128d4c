package model

import (
	"bulwark/internal/compress"
	"bulwark/internal/config"
)

// compression reads "compression algo|type|offload" with HAProxy 2.6's
// messages. Lines add up: a proxy's own algorithms follow those of its
// defaults.
func (c *compiler) compression(p *Proxy, s *config.Section, d *config.Directive) {
	if p.Compression == nil {
		p.Compression, p.CompressionPos = &compress.Config{}, d.Pos
	}
	cfg := p.Compression
	switch d.Arg(0) {
	case "algo":
		if len(d.Args) < 2 {
			c.ds.Alertf(d.Pos, "'compression' expects <algorithm>.")
			return
		}
		for i, name := range d.Texts()[1:] {
			a, ok := compress.ParseAlgo(name)
			if !ok {
				c.ds.Alertf(d.ArgPos(i+1), "'compression' : '%s' is not a supported algorithm.", name)
				return
			}
			cfg.Algos = append(cfg.Algos, a)
		}
	case "type":
		if len(d.Args) < 2 {
			c.ds.Alertf(d.Pos, "'compression' expects <type>.")
			return
		}
		cfg.Types = append(cfg.Types, d.Texts()[1:]...)
	case "offload":
		if s.Kind == config.KindDefaults {
			c.ds.Warnf(d.Pos, "'compression' : 'offload' ignored in 'defaults' section.")
			return
		}
		cfg.Offload = true
	default:
		c.ds.Alertf(d.Pos, "'compression' expects 'algo', 'type' or 'offload'")
	}
}

// FilterNames are the filters "filter" runs (for "bulwark -vv"), sorted.
func FilterNames() []string { return []string{"cache", "compression", "fcgi-app"} }

// filter reads "filter compression" and "filter cache NAME" ("filter
// fcgi-app NAME" is useFCGIApp's); the other filters of 2.6 (spoe, trace,
// bwlim) are refused.
func (c *compiler) filter(p *Proxy, s *config.Section, d *config.Directive) {
	switch d.Arg(0) {
	case "compression":
		if len(d.Args) != 1 {
			c.ds.Alertf(d.Pos, "'filter compression' expects no argument")
			return
		}
	case "cache":
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'filter cache' expects a cache name")
			return
		}
	case "":
		c.ds.Alertf(d.Pos, "'filter' expects a filter name")
		return
	default:
		c.unsupported(d.Pos, "'filter %s' is not supported by bulwark", d.Arg(0))
		return
	}
	for _, f := range p.Filters {
		if f.Name == d.Arg(0) {
			c.ds.Alertf(d.Pos, "only one 'filter %s' per proxy is allowed (previous at %s)", f.Name, f.Pos)
			return
		}
	}
	p.Filters = append(p.Filters, Filter{Pos: d.Pos, Name: d.Arg(0), Arg: d.Arg(1)})
}
