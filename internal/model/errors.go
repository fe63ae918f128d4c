package model

import (
	"strconv"

	"bulwark/internal/config"
)

// HTTPErrors is an "http-errors" section (CM 3.8): named errorfiles that
// proxies import with "errorfiles" or "http-error ... errorfiles".
type HTTPErrors struct {
	Pos   config.Pos
	Name  string
	Files map[int]string // status -> file ("" never: /dev/null is a path)
}

// ErrorMsg is one of a proxy's error-message directives, in the order they
// apply (inherited ones first): each overrides what came before for its
// status codes, as CM 4.2 "errorfiles" says.
type ErrorMsg struct {
	Pos config.Pos
	// Directive is errorfile, errorfiles, errorloc, errorloc302,
	// errorloc303 or http-error.
	Directive string
	Code      int    // errorfile, errorloc*, http-error
	Codes     []int  // errorfiles: the imported codes, nil for all
	Section   string // errorfiles: the http-errors section
	File      string // errorfile
	URL       string // errorloc*
	// Rule is the http-error line as a reply rule (its Args start with
	// "status <code>"), compiled by the rules package like "return".
	Rule *Rule
}

// ErrorCodes are the statuses HAProxy generates and so lets a
// configuration customize.
var ErrorCodes = errorfileCodes

func (c *compiler) httpErrors(s *config.Section) {
	if c.m.HTTPErrors == nil {
		c.m.HTTPErrors = map[string]*HTTPErrors{}
	}
	if s.Name == "" {
		c.ds.Alertf(s.Pos, "'http-errors' expects <name> as argument")
		return
	}
	if prev, ok := c.m.HTTPErrors[s.Name]; ok {
		c.ds.Alertf(s.Pos, "http-errors section '%s' has the same name as another http-errors section declared at %s", s.Name, prev.Pos)
		return
	}
	he := &HTTPErrors{Pos: s.Pos, Name: s.Name, Files: map[int]string{}}
	c.m.HTTPErrors[s.Name] = he
	for _, d := range s.Directives {
		if d.Name != "errorfile" {
			continue // the parser reported the unknown keyword
		}
		code, ok := c.errorCode(d, 0)
		if !ok {
			continue
		}
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'errorfile' expects <status_code> and <file>")
			continue
		}
		c.checkErrorFile(d)
		he.Files[code] = d.Arg(1)
	}
}

// errorCode reads the status of argument i; a status HAProxy never
// generates is a warning, and the line is then ignored, as in HAProxy.
func (c *compiler) errorCode(d *config.Directive, i int) (int, bool) {
	code, err := strconv.Atoi(d.Arg(i))
	if err != nil {
		c.ds.Alertf(d.ArgPos(i), "'%s' : invalid status code '%s'", d.Name, d.Arg(i))
		return 0, false
	}
	if !errorfileCodes[code] {
		c.ds.Warnf(d.ArgPos(i), "status code '%d' not handled by '%s', error customization will be ignored", code, d.Name)
		return 0, false
	}
	return code, true
}

// errorDirective reads errorfile, errorfiles, errorloc* and http-error.
func (c *compiler) errorDirective(p *Proxy, d *config.Directive, inherited bool) {
	em := &ErrorMsg{Pos: d.Pos, Directive: d.Name}
	switch d.Name {
	case "errorfile":
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'errorfile' expects <status_code> and <file>")
			return
		}
		code, ok := c.errorCode(d, 0)
		if !ok {
			return
		}
		if !inherited {
			c.checkErrorFile(d)
		}
		em.Code, em.File = code, d.Arg(1)
		p.ErrorFiles[code] = em.File
	case "errorloc", "errorloc302", "errorloc303":
		if len(d.Args) != 2 {
			c.ds.Alertf(d.Pos, "'%s' expects <status_code> and <url>", d.Name)
			return
		}
		code, ok := c.errorCode(d, 0)
		if !ok {
			return
		}
		em.Code, em.URL = code, d.Arg(1)
	case "errorfiles":
		if len(d.Args) == 0 {
			c.ds.Alertf(d.Pos, "'errorfiles' expects <name> as argument")
			return
		}
		em.Section = d.Arg(0)
		for i := 1; i < len(d.Args); i++ {
			code, err := strconv.Atoi(d.Arg(i))
			if err != nil || !errorfileCodes[code] {
				c.ds.Warnf(d.ArgPos(i), "status code '%s' not handled by 'errorfiles', error customization will be ignored", d.Arg(i))
				continue
			}
			em.Codes = append(em.Codes, code)
		}
		if len(d.Args) > 1 && len(em.Codes) == 0 {
			return
		}
	case "http-error":
		if d.Arg(0) != "status" || len(d.Args) < 2 {
			c.ds.Alertf(d.Pos, "'http-error' expects 'status <code>' as first argument")
			return
		}
		code, ok := c.errorCode(d, 1)
		if !ok {
			return
		}
		em.Code = code
		em.Rule = &Rule{Pos: d.Pos, Keyword: "http-error", Action: "return", Args: d.Args, FromDefaults: inherited}
	}
	p.Errors = append(p.Errors, em)
}
