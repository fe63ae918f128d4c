package config

import (
	"sort"
	"testing"
)

func TestValidInSection(t *testing.T) {
	tests := []struct {
		kind, name string
		want       bool
	}{
		{KindDefaults, "balance", true},
		{KindBackend, "balance", true},
		{KindListen, "balance", true},
		{KindFrontend, "balance", false},
		{KindFrontend, "maxconn", true},
		{KindBackend, "maxconn", false},
		{KindGlobal, "maxconn", true},
		{KindFrontend, "use_backend", true},
		{KindListen, "use_backend", true},
		{KindBackend, "use_backend", false},
		{KindDefaults, "use_backend", false},
		{KindBackend, "server", true},
		{KindFrontend, "server", false},
		{KindFrontend, "bind", true},
		{KindBackend, "bind", false},
		{KindDefaults, "description", false},
		{KindBackend, "hash-balance-factor", true},
		{KindListen, "hash-balance-factor", false},
		{KindFrontend, "timeout", true},
		{KindFrontend, "timout", false},
		{KindGlobal, "tune.bufsize", true},
		{KindGlobal, "tune.ssl.default-dh-param", true},
		{KindGlobal, "thread-groups", true},
		{KindGlobal, "busy-polling", true},
		{KindGlobal, "balance", false},
		{KindGlobal, "nbproc", false},
		{KindUserlist, "user", true},
		{KindUserlist, "group", true},
		{KindUserlist, "server", false},
		{KindPeers, "peer", true},
		{KindPeers, "enabled", true},
		{KindPeers, "table", true},
		{KindPeers, "shards", false},
		{KindResolvers, "nameserver", true},
		{KindResolvers, "parse-resolv-conf", true},
		{KindMailers, "mailer", true},
		{KindProgram, "command", true},
		{KindHTTPErrors, "errorfile", true},
		{KindHTTPErrors, "errorloc", false},
		{KindCache, "process-vary", true},
		{KindCache, "max-secondary-entries", true},
		{KindRing, "maxlen", true},
		{KindLogForward, "dgram-bind", true},
		{KindLogForward, "balance", false},
		{"nosuchsection", "balance", false},
	}
	for _, tt := range tests {
		if got := ValidInSection(tt.kind, tt.name); got != tt.want {
			t.Errorf("ValidInSection(%q, %q) = %v, want %v", tt.kind, tt.name, got, tt.want)
		}
	}
}

func TestSubValidIn(t *testing.T) {
	tests := []struct {
		kind, name, sub string
		want            bool
	}{
		{KindDefaults, "timeout", "client", true},
		{KindFrontend, "timeout", "client", true},
		{KindListen, "timeout", "client", true},
		{KindBackend, "timeout", "client", false},
		{KindBackend, "timeout", "server", true},
		{KindFrontend, "timeout", "server", false},
		{KindFrontend, "timeout", "http-request", true},
		{KindBackend, "timeout", "tunnel", true},
		{KindBackend, "timeout", "mail", false},
		{KindMailers, "timeout", "mail", true},
		{KindMailers, "timeout", "client", false},
		{KindRing, "timeout", "connect", true},
		{KindLogForward, "timeout", "client", true},
		{KindResolvers, "timeout", "retry", true},
		{KindResolvers, "hold", "nx", true},
		{KindResolvers, "hold", "maybe", false},
		{KindGlobal, "stats", "socket", true},
		{KindGlobal, "stats", "uri", false},
		{KindFrontend, "stats", "uri", true},
		{KindDefaults, "stats", "admin", false},
		{KindBackend, "stats", "admin", true},
		{KindDefaults, "stats", "show-modules", true},
		{KindFrontend, "capture", "request", true},
		{KindBackend, "capture", "request", false},
		{KindBackend, "stick", "on", true},
		{KindFrontend, "stick", "on", false},
		{KindFrontend, "tcp-request", "connection", true},
		{KindBackend, "tcp-request", "connection", false},
		{KindBackend, "tcp-request", "content", true},
		{KindFrontend, "tcp-response", "content", false},
		{KindBackend, "http-check", "send", true},
		{KindBackend, "http-check", "set-var(check.x)", true},
		{KindBackend, "http-check", "send-lf", false},
		{KindBackend, "tcp-check", "send-lf", true},
		{KindBackend, "tcp-check", "expect(x)", false},
		{KindBackend, "persist", "rdp-cookie", true},
		{KindBackend, "persist", "rdp-cookie(mstshash)", true},
		{KindBackend, "external-check", "command", true},
		{KindFrontend, "monitor", "fail", true},
		{KindFrontend, "rate-limit", "sessions", true},
		{KindFrontend, "declare", "capture", true},
		{KindDefaults, "email-alert", "mailers", true},
		{KindProgram, "option", "start-on-reload", true},
		{KindProgram, "option", "httplog", false},
		{KindFrontend, "balance", "roundrobin", false},
	}
	for _, tt := range tests {
		if got := SubValidIn(tt.kind, tt.name, tt.sub); got != tt.want {
			t.Errorf("SubValidIn(%q, %q, %q) = %v, want %v", tt.kind, tt.name, tt.sub, got, tt.want)
		}
	}
}

func TestOptionValidIn(t *testing.T) {
	tests := []struct {
		option, kind string
		want         bool
	}{
		{"httpchk", KindBackend, true},
		{"httpchk", KindListen, true},
		{"httpchk", KindDefaults, true},
		{"httpchk", KindFrontend, false},
		{"httplog", KindFrontend, true},
		{"httplog", KindBackend, false},
		{"forwardfor", KindBackend, true},
		{"forwardfor", KindFrontend, true},
		{"spop-check", KindBackend, true},
		{"spop-check", KindDefaults, false},
		{"redispatch", KindFrontend, false},
		{"dontlognull", KindDefaults, true},
		{"forceclose", KindDefaults, false},
		{"httplogg", KindFrontend, false},
	}
	for _, tt := range tests {
		if got := OptionValidIn(tt.option, tt.kind); got != tt.want {
			t.Errorf("OptionValidIn(%q, %q) = %v, want %v", tt.option, tt.kind, got, tt.want)
		}
	}
}

func TestNamedDefaultsOnly(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"http-request", true},
		{"http-response", true},
		{"http-after-response", true},
		{"tcp-request", true},
		{"tcp-response", true},
		{"acl", true},
		{"timeout", false},
		{"option", false},
		{"balance", false},
	}
	for _, tt := range tests {
		kw, ok := LookupKeyword(KindDefaults, tt.name)
		if !ok {
			t.Errorf("LookupKeyword(defaults, %q) not found", tt.name)
			continue
		}
		if kw.NamedDefaultsOnly != tt.want {
			t.Errorf("%q: NamedDefaultsOnly = %v, want %v", tt.name, kw.NamedDefaultsOnly, tt.want)
		}
	}
}

func TestLookupKeywordFamily(t *testing.T) {
	// A proxy keyword is known in every proxy kind, so that the checker can
	// warn rather than call it unknown.
	kw, ok := LookupKeyword(KindFrontend, "balance")
	if !ok || kw.Name != "balance" {
		t.Fatalf("LookupKeyword(frontend, balance) = %v, %v", kw, ok)
	}
	if kw.Sections&SecFrontend != 0 || kw.Sections&SecBackend == 0 {
		t.Errorf("balance sections = %b", kw.Sections)
	}
	if _, ok := LookupKeyword(KindMailers, "balance"); ok {
		t.Error("balance found in mailers")
	}
	if kw, _ := LookupKeyword(KindGlobal, "stats"); kw == nil || kw.Sections != SecGlobal {
		t.Errorf("global stats = %+v", kw)
	}
}

func TestNegationAllowed(t *testing.T) {
	tests := []struct {
		kind, name, sub string
		want            bool
	}{
		{KindDefaults, "option", "dontlognull", true},
		{KindDefaults, "option", "http-server-close", true},
		{KindDefaults, "option", "httplog", false},
		{KindDefaults, "option", "forwardfor", false},
		{KindDefaults, "option", "nosuch", false},
		{KindFrontend, "log", "", true},
		{KindFrontend, "maxconn", "", false},
		{KindGlobal, "busy-polling", "", true},
		{KindGlobal, "strict-limits", "", true},
		{KindGlobal, "log", "", true},
		{KindGlobal, "maxconn", "", false},
		{KindGlobal, "insecure-setuid-wanted", "", false},
		{KindProgram, "option", "start-on-reload", true},
		{KindMailers, "nosuch", "", false},
	}
	for _, tt := range tests {
		if got := NegationAllowed(tt.kind, tt.name, tt.sub); got != tt.want {
			t.Errorf("NegationAllowed(%q, %q, %q) = %v, want %v", tt.kind, tt.name, tt.sub, got, tt.want)
		}
	}
}

func TestSubKeywords(t *testing.T) {
	timeouts := SubKeywords("timeout")
	for _, w := range []string{"client", "server", "connect", "tunnel", "mail", "resolve"} {
		if !contains(timeouts, w) {
			t.Errorf("SubKeywords(timeout) lacks %q: %v", w, timeouts)
		}
	}
	if !sort.StringsAreSorted(timeouts) {
		t.Errorf("SubKeywords(timeout) not sorted: %v", timeouts)
	}
	stats := SubKeywords("stats")
	if !contains(stats, "socket") || !contains(stats, "uri") {
		t.Errorf("SubKeywords(stats) = %v", stats)
	}
	if got := SubKeywordsIn(KindBackend, "timeout"); contains(got, "mail") || !contains(got, "client") {
		t.Errorf("SubKeywordsIn(backend, timeout) = %v", got)
	}
	if got := SubKeywords("http-request"); got != nil {
		t.Errorf("SubKeywords(http-request) = %v, want nil (actions are separate)", got)
	}
	if got := SubKeywords("balance"); got != nil {
		t.Errorf("SubKeywords(balance) = %v, want nil", got)
	}
	// Returned slices are copies: changing one must not alter the table.
	got := SubKeywordsIn(KindFrontend, "timeout")
	got[0] = "zzz"
	if contains(SubKeywordsIn(KindFrontend, "timeout"), "zzz") {
		t.Error("SubKeywordsIn returned the table's own slice")
	}
}

func TestActions(t *testing.T) {
	tests := []struct {
		ruleset, word string
		want          bool
	}{
		{"http-request", "deny", true},
		{"http-request", "set-var(txn.x)", true},
		{"http-request", "set-var-fmt(txn.x)", true},
		{"http-request", "sc-inc-gpc0(1)", true},
		{"http-request", "add-acl(/etc/x.lst)", true},
		{"http-request", "lua.myaction", true},
		{"http-request", "lua.", false},
		{"http-request", "denny", false},
		{"http-request", "set-bandwidth-limit", false},
		{"http-request", "set-status", false},
		{"http-request", "wait-for-handshake", true},
		{"http-request", "normalize-uri", true},
		{"http-response", "set-status", true},
		{"http-response", "cache-store", true},
		{"http-response", "auth", false},
		{"http-after-response", "set-header", true},
		{"http-after-response", "lua.x", false},
		{"http-after-response", "deny", false},
		{"tcp-request connection", "expect-proxy", true},
		{"tcp-request connection", "capture", false},
		{"tcp-request content", "switch-mode", true},
		{"tcp-request content", "lua.x", true},
		{"tcp-request session", "expect-proxy", false},
		{"tcp-request session", "track-sc2", true},
		{"tcp-response content", "close", true},
		{"tcp-response content", "track-sc0", false},
		{"stats http-request", "auth", true},
		{"stats http-request", "redirect", false},
		{"nosuch", "deny", false},
	}
	for _, tt := range tests {
		if got := IsAction(tt.ruleset, tt.word); got != tt.want {
			t.Errorf("IsAction(%q, %q) = %v, want %v", tt.ruleset, tt.word, got, tt.want)
		}
	}
	if n := len(Actions("http-request")); n < 55 {
		t.Errorf("http-request has %d actions, want >= 55", n)
	}
	if Actions("nosuch") != nil {
		t.Error("Actions(nosuch) != nil")
	}
}

func TestActionName(t *testing.T) {
	for in, want := range map[string]string{
		"set-var(txn.x)": "set-var",
		"deny":           "deny",
		"(x)":            "(x)",
		"set-var(":       "set-var(",
	} {
		if got := ActionName(in); got != want {
			t.Errorf("ActionName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOptionArity(t *testing.T) {
	tests := []struct {
		opts map[string]int
		name string
		want int
	}{
		{BindOptions, "ssl", 0},
		{BindOptions, "crt", 1},
		{BindOptions, "accept-proxy", 0},
		{BindOptions, "alpn", 1},
		{BindOptions, "verify", 1},
		{BindOptions, "v4v6", 0},
		{ServerOptions, "check", 0},
		{ServerOptions, "inter", 1},
		{ServerOptions, "weight", 1},
		{ServerOptions, "no-ssl", 0},
		{ServerOptions, "send-proxy-v2", 0},
		{ServerOptions, "source", ArgsVariable},
		{ServerOptions, "resolvers", 1},
	}
	for _, tt := range tests {
		got, ok := tt.opts[tt.name]
		if !ok || got != tt.want {
			t.Errorf("arity of %q = %d, %v; want %d", tt.name, got, ok, tt.want)
		}
	}
	if _, ok := BindOptions["check"]; ok {
		t.Error("check is not a bind option")
	}
	if len(BindOptions) < 60 || len(ServerOptions) < 90 {
		t.Errorf("bind/server options: %d/%d", len(BindOptions), len(ServerOptions))
	}
}

// TestTableSizes guards against a table being truncated by an edit, and
// against a keyword being listed twice (the later entry would silently
// replace the earlier one).
func TestTableSizes(t *testing.T) {
	if n := len(KeywordsFor(KindGlobal)); n <= 150 {
		t.Errorf("global has %d keywords, want > 150", n)
	}
	// The proxy matrix counts multi-word forms ("timeout client") as rows.
	rows := 0
	for _, kw := range tables.byFamily[proxyFamily] {
		if kw.Sub == nil {
			rows++
		}
		rows += len(kw.Sub)
	}
	if rows <= 100 {
		t.Errorf("proxy matrix has %d rows, want > 100", rows)
	}
	for _, c := range []struct {
		name    string
		entries []entry
		fam     SectionSet
	}{
		{"global", globalEntries(), SecGlobal},
		{"proxy", proxyEntries(), proxyFamily},
	} {
		if got := len(tables.byFamily[c.fam]); got != len(c.entries) {
			t.Errorf("%s: %d entries but %d distinct keywords", c.name, len(c.entries), got)
		}
		for _, e := range c.entries {
			seen := map[string]bool{}
			for _, s := range e.subs {
				if seen[s.name] {
					t.Errorf("%s %s: %q listed twice", c.name, e.name, s.name)
				}
				seen[s.name] = true
			}
		}
	}
	if n := len(optionEntries()); n < 50 {
		t.Errorf("only %d options", n)
	}
}

// TestEveryKindHasKeywords makes sure each section kind the parser knows
// maps to a table, and that every keyword of a table is valid somewhere in
// its family.
func TestEveryKindHasKeywords(t *testing.T) {
	for _, k := range SectionKinds {
		if SectionOf(k) == 0 {
			t.Errorf("SectionOf(%q) = 0", k)
		}
		if len(KeywordsFor(k)) == 0 {
			t.Errorf("KeywordsFor(%q) is empty", k)
		}
	}
	for fam, tab := range tables.byFamily {
		for name, kw := range tab {
			if kw.Sections&fam == 0 || kw.Sections&^fam != 0 {
				t.Errorf("%s: sections %b outside family %b", name, kw.Sections, fam)
			}
		}
	}
	if SectionOf("nosuch") != 0 || KeywordsFor("nosuch") == nil || len(KeywordsFor("nosuch")) != 0 {
		t.Error("unknown kind should map to nothing")
	}
}

func TestKeywordsForSorted(t *testing.T) {
	got := KeywordsFor(KindFrontend)
	if !sort.StringsAreSorted(got) {
		t.Error("KeywordsFor(frontend) not sorted")
	}
	if contains(got, "balance") || !contains(got, "use_backend") {
		t.Errorf("KeywordsFor(frontend) wrong: balance=%v use_backend=%v",
			contains(got, "balance"), contains(got, "use_backend"))
	}
}

// Rules (and acl) in an anonymous defaults section are refused in
// HAProxy 2.6.12's words, compared with "haproxy -c" on the same lines.
func TestAnonymousDefaultsWording(t *testing.T) {
	for line, want := range map[string]string{
		"http-request deny":                "'http-request' not allowed in anonymous 'defaults' section.",
		"http-after-response del-header x": "'http-after-response' not allowed in anonymous 'defaults' section.",
		"acl a path /x":                    "'acl' not allowed in anonymous 'defaults' section.",
		"tcp-request content accept":       "tcp-request content is not allowed in anonymous 'defaults' sections",
		"tcp-request inspect-delay 1s":     "tcp-request inspect-delay is not allowed in anonymous 'defaults' sections",
		"tcp-response content accept":      "tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name",
	} {
		_, ds := Parse("t.cfg", []byte("defaults\n    "+line+"\n"), LexOptions{})
		found := false
		for _, d := range ds {
			if d.Pos.Line == 2 && d.Severity == SevAlert && d.Msg == want {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: want alert %q, got %v", line, want, ds)
		}
		_, ds = Parse("t.cfg", []byte("defaults named\n    "+line+"\n"), LexOptions{})
		if ds.HasAlerts() {
			t.Errorf("%s in a named defaults: %v", line, ds)
		}
	}
}
