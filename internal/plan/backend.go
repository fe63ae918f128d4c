package plan

import (
	"os"

	"bulwark/internal/acl"
	"bulwark/internal/rules"

	"bulwark/internal/balance"
	"bulwark/internal/config"
	"bulwark/internal/model"
)

// checkBalance refuses what the balancer cannot be built for.
func checkBalance(p *model.Proxy, ds *config.Diagnostics) {
	if p.LB.Algo != balance.RoundRobin || p.Disabled {
		return
	}
	active := 0
	for _, s := range p.Servers {
		if !s.Backup {
			active++
		}
	}
	if active > balance.MaxRRServers {
		ds.Alertf(p.BalancePos, "%s '%s': %v", p.Kind, p.Name, balance.ErrTooManyServers)
	}
}

// sectionFiles reads the errorfiles of the "http-errors" sections once
// per plan; Errors answers rules.Options.Errors.
type sectionFiles struct {
	m    *model.Model
	ds   *config.Diagnostics
	read map[string]map[int][]byte
}

func (sf *sectionFiles) Errors(name string) (map[int][]byte, bool) {
	if files, ok := sf.read[name]; ok {
		return files, true
	}
	he, ok := sf.m.HTTPErrors[name]
	if !ok {
		return nil, false
	}
	files := make(map[int][]byte, len(he.Files))
	for code, path := range he.Files {
		b, err := os.ReadFile(path)
		if err != nil {
			sf.ds.Alertf(he.Pos, "http-errors '%s': errorfile %d : %v", name, code, err)
			continue
		}
		files[code] = b
	}
	if sf.read == nil {
		sf.read = map[string]map[int][]byte{}
	}
	sf.read[name] = files
	return files, true
}

// compileErrors builds a proxy's error messages by status: each directive
// overrides the earlier ones for its codes, inherited ones first (CM 4.2
// "errorfiles"). A status without an entry gets the built-in page.
func compileErrors(p *model.Proxy, set *acl.Set, sf *sectionFiles, ds *config.Diagnostics) map[int]*rules.Reply {
	pages := map[int]*rules.Reply{}
	for _, em := range p.Errors {
		switch em.Directive {
		case "errorfile":
			b, err := os.ReadFile(em.File)
			if err != nil {
				ds.Alertf(em.Pos, "errorfile : error opening file '%s'", em.File)
				continue
			}
			pages[em.Code] = rules.RawReply(em.Code, b)
		case "errorloc", "errorloc302":
			pages[em.Code] = rules.LocationReply(em.Code, 302, em.URL)
		case "errorloc303":
			pages[em.Code] = rules.LocationReply(em.Code, 303, em.URL)
		case "errorfiles":
			files, ok := sf.Errors(em.Section)
			if !ok {
				ds.Alertf(em.Pos, "%s '%s': unknown http-errors section '%s' (referenced by 'errorfiles')", p.Kind, p.Name, em.Section)
				continue
			}
			if em.Codes == nil {
				for code, b := range files {
					pages[code] = rules.RawReply(code, b)
				}
			}
			for _, code := range em.Codes {
				if b, ok := files[code]; ok {
					pages[code] = rules.RawReply(code, b)
				}
			}
		case "http-error":
			if set == nil {
				continue // the ACLs did not compile; already reported
			}
			rep, keep, reset, d := rules.CompileHTTPError(p, em.Rule, set, rules.Options{Errors: sf.Errors})
			*ds = append(*ds, d...)
			switch {
			case keep, d.HasAlerts():
			case reset:
				delete(pages, em.Code)
			default:
				pages[em.Code] = rep
			}
		}
	}
	return pages
}
