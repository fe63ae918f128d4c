package model

import (
	"os/user"

	"bulwark/internal/config"
)

// Program is a "program" section (CM 3.7): an external command the master
// of master-worker mode starts beside its workers, signals with SIGUSR1
// on a reload and SIGTERM on a stop, and lists in "show proc".
type Program struct {
	Pos  config.Pos
	Name string
	// Command is the program and its arguments; the program is looked up
	// in PATH unless it names a path.
	Command []string
	// User and Group, when set, are whom the command runs as.
	User, Group string
	// StartOnReload is "option start-on-reload" (the default): a reload
	// starts a new instance; without it the running one is kept.
	StartOnReload bool
}

func (c *compiler) program(s *config.Section) {
	if s.Name == "" {
		c.ds.Alertf(s.Pos, "'program' expects an <id> argument")
		return
	}
	for _, p := range c.m.Programs {
		if p.Name == s.Name {
			c.ds.Alertf(s.NamePos, "'%s' program section already exists in the configuration (declared at %s)", s.Name, p.Pos)
			return
		}
	}
	p := &Program{Pos: s.Pos, Name: s.Name, StartOnReload: true}
	for _, d := range s.Directives {
		switch d.Name {
		case "command":
			if len(d.Args) == 0 {
				c.ds.Alertf(d.Pos, "'command' expects a command with optional arguments separated in words")
				continue
			}
			p.Command = argTexts(d.Args)
		case "user", "group":
			if len(d.Args) != 1 {
				c.ds.Alertf(d.Pos, "'%s' expects a %s name", d.Name, d.Name)
				continue
			}
			// As HAProxy, the name must resolve when the file is read.
			var err error
			if d.Name == "user" {
				if p.User != "" {
					c.ds.Alertf(d.Pos, "user/uid already specified. Continuing.")
				}
				_, err = user.Lookup(d.Arg(0))
				p.User = d.Arg(0)
			} else {
				if p.Group != "" {
					c.ds.Alertf(d.Pos, "group/gid already specified. Continuing.")
				}
				_, err = user.LookupGroup(d.Arg(0))
				p.Group = d.Arg(0)
			}
			if err != nil {
				c.ds.Alertf(d.ArgPos(0), "cannot find %s id for '%s' (%v)", d.Name, d.Arg(0), err)
			}
		case "option", "no":
			args := d.Args
			if d.Name == "no" {
				if len(args) == 0 || args[0].Text != "option" {
					c.ds.Alertf(d.Pos, "unknown keyword 'no' in 'program' section")
					continue
				}
				args = args[1:]
			}
			if len(args) == 0 {
				c.ds.Alertf(d.Pos, "'option' expects an option name")
				continue
			}
			if args[0].Text != "start-on-reload" || len(args) > 1 {
				continue // the parser's keyword table has reported it
			}
			p.StartOnReload = d.Name != "no"
		default:
			c.ds.Alertf(d.Pos, "unknown keyword '%s' in 'program' section", d.Name)
		}
	}
	if len(p.Command) == 0 {
		c.ds.Alertf(s.Pos, "The program section '%s' lacks a command to launch", s.Name)
		return
	}
	c.m.Programs = append(c.m.Programs, p)
}
