package plan

import (
	"crypto/tls"

	"bulwark/internal/acl"
	"bulwark/internal/acme"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/tlsconf"
)

// compileTLS loads the certificates and TLS settings of p's binds and
// servers; the configurations built here are the ones that serve.
func compileTLS(m *model.Model, p *model.Proxy, opt tlsconf.Options, mgr *acme.Manager, stores *[]*tlsconf.Store, ds *config.Diagnostics) (map[*model.Server]*tls.Config, map[*model.Bind]*tls.Config) {
	var srv map[*model.Server]*tls.Config
	var bind map[*model.Bind]*tls.Config
	for _, b := range p.Binds {
		if !b.SSL {
			continue
		}
		var bt *tlsconf.BindTLS
		var err error
		if len(b.ACME) > 0 {
			if mgr == nil {
				continue // compileACME said why
			}
			bt, err = tlsconf.LoadBindSource(b, &m.Global.SSL, opt, mgr)
		} else {
			bt, err = tlsconf.LoadBind(b, &m.Global.SSL, opt)
		}
		if err != nil {
			ds.Alertf(b.Pos, "%s '%s': bind: %v", p.Kind, p.Name, err)
			continue
		}
		if bt.Store != nil {
			*stores = append(*stores, bt.Store)
		}
		for _, w := range bt.Warnings {
			ds.Warnf(b.Pos, "%s '%s': bind: %s", p.Kind, p.Name, w)
		}
		if bind == nil {
			bind = map[*model.Bind]*tls.Config{}
		}
		bind[b] = bt.Config
	}
	for _, s := range p.Servers {
		if !s.SSL {
			continue
		}
		cfg, warns, err := tlsconf.ServerConfigWith(s, &m.Global.SSL, opt)
		if err != nil {
			ds.Alertf(s.Pos, "%s '%s': server '%s': %v", p.Kind, p.Name, s.Name, err)
			continue
		}
		for _, w := range warns {
			ds.Warnf(s.Pos, "%s '%s': server '%s': %s", p.Kind, p.Name, s.Name, w)
		}
		if srv == nil {
			srv = map[*model.Server]*tls.Config{}
		}
		srv[s] = cfg
	}
	return srv, bind
}

// compileServerSNI compiles the "sni" expressions that are not constants
// (tlsconf.SNI): each new connection sends the name they give for its
// request, and connections are then only shared between requests that
// give the same name (see proxy.connKey).
func compileServerSNI(p *model.Proxy, set *acl.Set, ds *config.Diagnostics) map[*model.Server]*acl.Expr {
	var out map[*model.Server]*acl.Expr
	for _, s := range p.Servers {
		if !s.SSL {
			continue
		}
		expr, constant := tlsconf.SNI(s)
		if constant || set == nil {
			continue
		}
		x, err := set.Expr(expr)
		if err != nil {
			ds.Alertf(s.Pos, "%s '%s': server '%s': 'sni' : %v", p.Kind, p.Name, s.Name, err)
			continue
		}
		if out == nil {
			out = map[*model.Server]*acl.Expr{}
		}
		out[s] = x
	}
	return out
}
