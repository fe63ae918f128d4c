package model

import (
	"strconv"
	"time"

	"bulwark/internal/cache"
	"bulwark/internal/config"
)

// CacheSection is a "cache" section.
type CacheSection struct {
	Pos    config.Pos
	Config cache.Config
}

// cacheSection reads a "cache" section with HAProxy 2.6's defaults
// (max-age 60 s, max-object-size a 256th of the total, 10 secondary
// entries) and its messages.
func (c *compiler) cacheSection(s *config.Section) {
	for _, prev := range c.m.Caches {
		if prev.Config.Name == s.Name {
			c.ds.Alertf(s.Pos, "Duplicate cache name '%s'.", s.Name)
			return
		}
	}
	cs := &CacheSection{Pos: s.Pos, Config: cache.Config{Name: s.Name, MaxAge: 60 * time.Second, MaxSecondary: 10}}
	var objSet bool
	for _, d := range s.Directives {
		n, err := strconv.ParseInt(d.Arg(0), 10, 64)
		switch d.Name {
		case "total-max-size":
			if err != nil || n <= 0 {
				c.ds.Alertf(d.Pos, "'%s' expects a positive number of megabytes", d.Name)
				continue
			}
			if n > 4095 {
				c.ds.Warnf(d.Pos, "\"total-max-size\" (%d) must not be greater than 4095", n)
				n = 4095
			}
			cs.Config.TotalMax = n << 20
		case "max-object-size":
			if err != nil || n <= 0 {
				c.ds.Alertf(d.Pos, "'%s' expects a positive number of bytes", d.Name)
				continue
			}
			cs.Config.MaxObject, objSet = n, true
		case "max-age":
			if err != nil || n < 0 {
				c.ds.Alertf(d.Pos, "'%s' expects a number of seconds", d.Name)
				continue
			}
			cs.Config.MaxAge = time.Duration(n) * time.Second
		case "process-vary":
			switch d.Arg(0) {
			case "on":
				cs.Config.ProcessVary = true
			case "off":
				cs.Config.ProcessVary = false
			default:
				c.ds.Warnf(d.Pos, "'process-vary' expects \"on\" or \"off\" (enable or disable vary processing).")
			}
		case "max-secondary-entries":
			if err != nil || n <= 0 {
				c.ds.Alertf(d.Pos, "max-secondary-entries wrong value '%s'", d.Arg(0))
				continue
			}
			cs.Config.MaxSecondary = int(n)
		}
	}
	if cs.Config.TotalMax == 0 {
		c.ds.Alertf(s.Pos, "Size not specified for cache '%s'", s.Name)
		return
	}
	if !objSet {
		cs.Config.MaxObject = cs.Config.TotalMax / 256
	} else if cs.Config.MaxObject > cs.Config.TotalMax/2 {
		c.ds.Alertf(s.Pos, "\"max-object-size\" is limited to an half of \"total-max-size\" => %d", cs.Config.TotalMax/2)
		return
	}
	c.m.Caches = append(c.m.Caches, cs)
}

// Cache returns the cache section called name, or nil.
func (m *Model) Cache(name string) *CacheSection {
	for _, cs := range m.Caches {
		if cs.Config.Name == name {
			return cs
		}
	}
	return nil
}

// checkCacheRefs checks the caches that "cache-use", "cache-store" and
// "filter cache" name, with HAProxy's message.
func (c *compiler) checkCacheRefs() {
	for _, p := range c.m.Proxies {
		check := func(name string) {
			if c.m.Cache(name) == nil {
				c.ds.Alertf(p.Pos, "config: %s '%s': unable to find the cache '%s' referenced by the filter 'cache'.", proxyKind(p), p.Name, name)
			}
		}
		for _, f := range p.Filters {
			if f.Name == "cache" {
				check(f.Arg)
			}
		}
		implicit := ""
		for _, list := range [][]*Rule{p.HTTPRequest, p.HTTPResponse} {
			for _, r := range list {
				if (r.Action == "cache-use" || r.Action == "cache-store") && len(r.Args) > 0 {
					check(r.Args[0].Text)
					if implicit == "" {
						implicit = r.Args[0].Text
					}
				}
			}
		}
		c.checkFilterOrder(p, implicit)
	}
}

// proxyKind is how HAProxy's post-parse messages name p's kind.
func proxyKind(p *Proxy) string {
	switch {
	case p.Cap&CapFrontend == 0:
		return "backend"
	case p.Cap&CapBackend != 0:
		return "proxy"
	}
	return "frontend"
}

// checkFilterOrder refuses an explicit "filter compression" placed
// before a cache filter, with HAProxy's messages: the cache must store
// and serve the body as the server sent it, so it comes first. Without
// an explicit "filter cache", the cache-use/cache-store rules add one at
// the end of the list (implicit names its cache, "" without rules). The
// compression filter's own complaint comes only when it compresses.
func (c *compiler) checkFilterOrder(p *Proxy, implicit string) {
	comp := -1
	var after []string
	explicitCache := false
	for i, f := range p.Filters {
		switch {
		case f.Name == "compression":
			comp = i
		case f.Name == "cache":
			explicitCache = true
			if comp >= 0 {
				after = append(after, f.Arg)
			}
		}
	}
	if comp < 0 {
		return
	}
	if !explicitCache && implicit != "" {
		after = append(after, implicit)
	}
	if len(after) == 0 {
		return
	}
	kind := proxyKind(p)
	if p.Compression.Enabled() {
		c.ds.Alertf(p.Pos, "config: %s '%s': unable to enable the compression filter before any cache filter.", kind, p.Name)
	}
	for _, name := range after {
		c.ds.Alertf(p.Pos, "config: %s '%s': unable to enable the compression filter before the cache '%s'.", kind, p.Name, name)
	}
}
