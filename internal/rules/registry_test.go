package rules_test

import (
	"strings"
	"testing"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/rules"
)

var rulesets = []struct {
	name string
	kind rules.Kind
	mode string
}{
	{"http-request", rules.HTTPRequest, "http"},
	{"http-response", rules.HTTPResponse, "http"},
	{"tcp-request connection", rules.TCPConnection, "tcp"},
	{"tcp-request content", rules.TCPContent, "tcp"},
}

// The registry of implemented actions and HAProxy 2.6's action table (the
// one behind "unknown action ... did you mean") agree: every implemented
// action is a 2.6 action of its rule set, and every 2.6 action gets past
// the Model and is then either compiled or refused as not supported,
// naming it. A drift like "replace-pathq is an unknown action" fails here.
func TestRegistryAgreesWithHAProxyTable(t *testing.T) {
	for _, rs := range rulesets {
		for _, name := range rules.Implemented(rs.name) {
			if !config.IsAction(rs.name, name) {
				t.Errorf("%s: '%s' is implemented but unknown to HAProxy 2.6's table", rs.name, name)
			}
		}
		impl := map[string]bool{}
		for _, name := range rules.Implemented(rs.name) {
			impl[name] = true
		}
		for _, name := range config.Actions(rs.name) {
			word := name
			src := "frontend fe\n mode " + rs.mode + "\n bind 127.0.0.1:80\n " + rs.name + " " + word + "\n"
			ds := compileModel(src)
			if unknown(ds) {
				word = name + "(txn.x)"
				src = "frontend fe\n mode " + rs.mode + "\n bind 127.0.0.1:80\n " + rs.name + " " + word + "\n"
				ds = compileModel(src)
			}
			if unknown(ds) {
				t.Errorf("%s: 2.6 action '%s' is unknown to the Model: %v", rs.name, name, ds)
				continue
			}
			m := modelOf(src)
			p := m.Proxies[0]
			set, ads := acl.Compile(p, m, acl.Options{})
			if ads.HasAlerts() {
				t.Fatalf("%s %s: %v", rs.name, word, ads)
			}
			_, rds := rules.Compile(p, rs.kind, set, rules.Options{})
			refused := false
			for _, d := range rds {
				refused = refused || (d.Code == model.CodeUnsupported && strings.Contains(d.Msg, "'"+rs.name+" "+name+"' is not supported"))
			}
			if refused == impl[name] {
				t.Errorf("%s %s: implemented=%v, but the compiler said %v", rs.name, name, impl[name], rds)
			}
		}
	}
}

func modelOf(src string) *model.Model {
	cfg, _ := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	m, _ := model.Compile(cfg, model.Options{})
	return m
}

func compileModel(src string) config.Diagnostics {
	cfg, ds := config.Parse("t.cfg", []byte(src), config.LexOptions{})
	_, cds := model.Compile(cfg, model.Options{})
	return append(ds, cds...)
}

func unknown(ds config.Diagnostics) bool {
	for _, d := range ds {
		if strings.Contains(d.Msg, "unknown action") {
			return true
		}
	}
	return false
}
