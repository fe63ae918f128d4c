package model

import (
	"regexp"
	"strconv"

	"bulwark/internal/config"
)

// FCGIApp is a "fcgi-app" section (CM 10.1.1): how a backend with
// "use-fcgi-app" turns requests into FastCGI ones.
type FCGIApp struct {
	Pos  config.Pos
	Name string
	// DocRoot and Index build SCRIPT_FILENAME, PATH_TRANSLATED and the
	// SCRIPT_NAME of paths ending in '/'.
	DocRoot, Index string
	// PathInfo is "path-info": its first group is SCRIPT_NAME, its second
	// PATH_INFO, matched on the URL-decoded path. Nil without one.
	PathInfo *regexp.Regexp
	// ACLs holds the section's private ACLs in a proxy of their own, so
	// that conditions compile as a proxy's do: the ACLs of other sections
	// are not visible here, and those of this one nowhere else.
	ACLs *Proxy
	// PassHeaders are "pass-header" lines, SetParams "set-param" ones,
	// in order.
	PassHeaders []FCGIRule
	SetParams   []FCGIRule
	// LogStderr are the "log-stderr" targets; none drops STDERR.
	LogStderr []LogTarget
	// GetValues, KeepConn, MaxReqs and MpxsConns are the options; only
	// one request is sent per connection at a time whatever MaxReqs and
	// MpxsConns say (docs/fcgi.md).
	GetValues, KeepConn, MpxsConns bool
	MaxReqs                        int
}

// FCGIRule is a "pass-header" (Value empty) or "set-param" line.
type FCGIRule struct {
	Pos   config.Pos
	Name  string
	Value string // a log-format string
	Cond  *Cond
}

// FCGIApp returns the fcgi-app section called name, or nil.
func (m *Model) FCGIApp(name string) *FCGIApp {
	for _, a := range m.FCGIApps {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// fcgiApp reads a "fcgi-app" section with HAProxy 2.6's defaults
// (keep-conn on, max-reqs 1) and messages.
func (c *compiler) fcgiApp(s *config.Section) {
	if prev := c.m.FCGIApp(s.Name); prev != nil {
		c.ds.Alertf(s.Pos, "fcgi-app section '%s' has the same name as another one declared at %s:%d.", s.Name, prev.Pos.File, prev.Pos.Line)
		return
	}
	app := &FCGIApp{Pos: s.Pos, Name: s.Name, KeepConn: true, MaxReqs: 1,
		ACLs: &Proxy{Pos: s.Pos, Name: s.Name, Kind: config.KindBackend, Mode: ModeHTTP, Cap: CapBackend}}
	for _, d := range s.Directives {
		switch d.Name {
		case "acl":
			c.acl(app.ACLs, d)
		case "docroot", "index":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects <path> as argument.", d.Name)
				continue
			}
			if d.Name == "docroot" {
				app.DocRoot = d.Arg(0)
			} else {
				app.Index = d.Arg(0)
			}
		case "path-info":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'path-info' expects <regex> as argument.")
				continue
			}
			re, err := regexp.Compile(d.Arg(0))
			if err != nil {
				c.ds.Alertf(d.ArgPos(0), "'%s' : regex '%s' is invalid (%v).", d.Arg(0), d.Arg(0), err)
				continue
			}
			app.PathInfo = re
		case "log-stderr":
			c.log(&app.LogStderr, d)
		case "pass-header", "set-param":
			n := 1
			if d.Name == "set-param" {
				n = 2
			}
			if len(d.Args) < n || d.Arg(0) == "" {
				what := "<name>"
				if n == 2 {
					what = "<name> and <value>"
				}
				c.ds.Alertf(d.Pos, "'%s' expects %s as arguments.", d.Name, what)
				continue
			}
			r := FCGIRule{Pos: d.Pos, Name: d.Arg(0)}
			if n == 2 {
				r.Value = d.Arg(1)
			}
			cond, ok := c.cond(app.ACLs, d.Args[n:], d.Pos)
			if !ok {
				continue
			}
			r.Cond = cond
			if n == 2 {
				app.SetParams = append(app.SetParams, r)
			} else {
				app.PassHeaders = append(app.PassHeaders, r)
			}
		case "option":
			c.fcgiOption(app, d, true)
		case "no":
			if d.Arg(0) == "option" {
				c.fcgiOption(app, d, false)
			}
		}
	}
	if app.DocRoot == "" {
		c.ds.Alertf(s.Pos, "fcgi-app '%s': no docroot configured.", s.Name)
	}
	c.m.FCGIApps = append(c.m.FCGIApps, app)
}

func (c *compiler) fcgiOption(app *FCGIApp, d *config.Directive, enable bool) {
	args := d.Args
	if !enable {
		args = args[1:]
	}
	if len(args) == 0 {
		c.ds.Alertf(d.Pos, "'option' expects an option name.")
		return
	}
	switch args[0].Text {
	case "get-values":
		app.GetValues = enable
	case "keep-conn":
		app.KeepConn = enable
	case "mpxs-conns":
		app.MpxsConns = enable
		if enable {
			c.noEffect(d.Pos, "fcgi-app '%s': 'option mpxs-conns' (Bulwark sends one request at a time per FastCGI connection)", app.Name)
		}
	case "max-reqs":
		n := 0
		if len(args) > 1 {
			n, _ = strconv.Atoi(args[1].Text)
		}
		if !enable || n <= 0 {
			c.ds.Alertf(d.Pos, "option 'max-reqs' expects a strictly positive integer argument.")
			return
		}
		app.MaxReqs = n
		if n > 1 {
			c.noEffect(d.Pos, "fcgi-app '%s': 'option max-reqs %d' (Bulwark sends one request at a time per FastCGI connection)", app.Name, n)
		}
	default:
		c.ds.Alertf(args[0].Pos, "unknown option '%s' in fcgi-app section.", args[0].Text)
	}
}

// useFCGIApp reads "use-fcgi-app NAME" and "filter fcgi-app NAME", which
// HAProxy treats alike: one application per backend.
func (c *compiler) useFCGIApp(p *Proxy, d *config.Directive, name string) {
	if p.Cap&CapBackend == 0 {
		c.ds.Alertf(d.Pos, "'use-fcgi-app' only available in backend or listen section")
		return
	}
	if name == "" {
		c.ds.Alertf(d.Pos, "'%s' expects <name> as argument", d.Name)
		return
	}
	if p.FCGIAppName != "" && p.FCGIAppName != name {
		c.ds.Alertf(d.Pos, "only one fcgi-app supported per backend")
		return
	}
	p.FCGIAppName, p.FCGIAppPos = name, d.Pos
}

// checkFCGIRefs resolves "use-fcgi-app" and matches it with the servers'
// "proto fcgi", with HAProxy's messages; a backend with an application
// deletes header names outside [A-Za-z0-9-] unless told otherwise (CM 4.2
// "option http-restrict-req-hdr-names").
func (c *compiler) checkFCGIRefs() {
	for _, p := range c.m.Proxies {
		if p.FCGIAppName != "" {
			p.FCGI = c.m.FCGIApp(p.FCGIAppName)
			if p.FCGI == nil {
				c.ds.Alertf(p.FCGIAppPos, "proxy '%s' : fcgi-app '%s' not found.", p.Name, p.FCGIAppName)
				continue
			}
			if p.Mode != ModeHTTP {
				c.ds.Alertf(p.FCGIAppPos, "proxy '%s': FCGI application cannot be used in non-HTTP mode.", p.Name)
				continue
			}
			if p.RestrictHdrNames == "" {
				p.RestrictHdrNames = "delete"
			}
		}
		found := false
		for _, sv := range p.Servers {
			if sv.Opts["proto"] != "fcgi" {
				continue
			}
			found = true
			if p.Mode != ModeHTTP {
				c.ds.Alertf(sv.Pos, "backend '%s' : MUX protocol 'fcgi' is not usable for server '%s' at [%s:%d].", p.Name, sv.Name, sv.Pos.File, sv.Pos.Line)
			} else if p.FCGIAppName == "" {
				c.ds.Alertf(sv.Pos, "proxy '%s': FCGI server '%s' has no FCGI app configured.", p.Name, sv.Name)
			}
		}
		if p.FCGI != nil && !found && p.Mode == ModeHTTP {
			c.ds.Alertf(p.FCGIAppPos, "proxy '%s': FCGI app configured but no FCGI server found.", p.Name)
		}
	}
}
