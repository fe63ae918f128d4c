package config

import (
	"sort"
	"strings"
)

// The keyword table below transcribes HAProxy 2.6's doc/configuration.txt
// (sections 3, 4.1/4.2, 5.1, 5.2, 5.3.2 and 6.2.1). It is data about the
// configuration language, shared by the parser (unknown keyword alerts and
// suggestions), the compiler (how many words a bind/server option takes) and
// the auditor. Nothing here is mutated after package initialisation; callers
// must treat returned *Keyword values and their slices as read-only.

// SectionSet is a bitmask of section kinds.
type SectionSet uint16

// One bit per section kind of ast.go.
const (
	SecGlobal SectionSet = 1 << iota
	SecDefaults
	SecFrontend
	SecListen
	SecBackend
	SecUserlist
	SecPeers
	SecResolvers
	SecMailers
	SecProgram
	SecHTTPErrors
	SecCache
	SecRing
	SecLogForward
	SecFCGIApp
)

// Shorthands for the columns of the 4.1 keyword matrix.
const (
	secD    = SecDefaults
	secF    = SecFrontend
	secL    = SecListen
	secB    = SecBackend
	secDFLB = secD | secF | secL | secB
	secDFL  = secD | secF | secL
	secDLB  = secD | secL | secB
	secFLB  = secF | secL | secB
	secFL   = secF | secL
	secLB   = secL | secB
	secAll  = SectionSet(1<<15 - 1)
)

// SectionOf maps a section kind (KindGlobal, ...) to its bit; 0 if unknown.
func SectionOf(kind string) SectionSet {
	for i, k := range SectionKinds {
		if k == kind {
			return sectionBits[i]
		}
	}
	return 0
}

// sectionBits is parallel to SectionKinds.
var sectionBits = [...]SectionSet{
	SecGlobal, SecDefaults, SecFrontend, SecBackend, SecListen,
	SecUserlist, SecPeers, SecResolvers, SecMailers, SecProgram,
	SecHTTPErrors, SecCache, SecRing, SecLogForward, SecFCGIApp,
}

// Keyword describes a directive's first word within one family of sections
// (global, the four proxy kinds, or one of the other section kinds).
type Keyword struct {
	Name string
	// Sections is where the keyword may appear; for multi-word families it
	// is the union over the second words.
	Sections SectionSet
	// NamedDefaultsOnly marks the "(!)" keywords: in a defaults section
	// they are only accepted when the section has a name.
	NamedDefaultsOnly bool
	// Negatable is true when HAProxy accepts the "no" and "default"
	// prefixes (for "option" it depends on the option: see SubKeyword).
	Negatable  bool
	Deprecated bool
	// Sub lists, sorted, the valid second words of a multi-word keyword
	// ("timeout client", "option httplog", "tcp-request content"); nil when
	// the second word is free-form. For the rule keywords (http-request,
	// http-response, http-after-response) the second word is an action,
	// which may carry "(args)" or a "lua." prefix: Sub is nil and Actions /
	// IsAction apply instead.
	Sub  []string
	subs map[string]SubKeyword
}

// SubKeyword describes one second word of a multi-word keyword.
type SubKeyword struct {
	Name     string
	Sections SectionSet
	// Negatable marks the "(*)" options that accept "no"/"default".
	Negatable  bool
	Deprecated bool
	// Paren is true when the word carries an argument in parentheses, as
	// in "http-check set-var(check.x)" or "persist rdp-cookie(name)".
	Paren bool
}

// Lookup returns the description of second word sub, accepting "name(args)"
// for words that take a parenthesised argument.
func (k *Keyword) Lookup(sub string) (SubKeyword, bool) {
	if k == nil || k.subs == nil {
		return SubKeyword{}, false
	}
	if s, ok := k.subs[sub]; ok {
		return s, true
	}
	if i := strings.IndexByte(sub, '('); i > 0 && strings.HasSuffix(sub, ")") {
		if s, ok := k.subs[sub[:i]]; ok && s.Paren {
			return s, true
		}
	}
	return SubKeyword{}, false
}

type keywordTable map[string]*Keyword

type keywordTables struct {
	// byFamily maps the set of section bits sharing a table (one bit, or
	// the four proxy bits together) to its table.
	byFamily map[SectionSet]keywordTable
	actions  map[string]actionSet
}

type actionSet struct {
	names []string
	lua   bool // accepts "lua.<name>" actions registered by Lua scripts
}

const proxyFamily = secDFLB

// tables is built once at initialisation and only read afterwards.
var tables = buildTables()

// entry is the compact form the data below is written in.
type entry struct {
	name  string
	sec   SectionSet
	flags uint8
	subs  []entry
}

const (
	fNamed uint8 = 1 << iota // "(!)": named defaults only
	fNeg                     // "(*)": accepts "no"/"default"
	fDepr                    // deprecated
	fParen                   // takes "(args)"
)

func simple(sec SectionSet, names string) []entry {
	var out []entry
	for _, n := range strings.Fields(names) {
		out = append(out, entry{name: n, sec: sec})
	}
	return out
}

func concat(lists ...[]entry) []entry {
	var out []entry
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

func family(name string, sec SectionSet, flags uint8, subs []entry) entry {
	for i := range subs {
		if subs[i].sec == 0 {
			subs[i].sec = sec
		}
	}
	return entry{name: name, sec: sec, flags: flags, subs: subs}
}

func makeTable(entries []entry) keywordTable {
	t := make(keywordTable, len(entries))
	for _, e := range entries {
		kw := &Keyword{
			Name:              e.name,
			Sections:          e.sec,
			NamedDefaultsOnly: e.flags&fNamed != 0,
			Negatable:         e.flags&fNeg != 0,
			Deprecated:        e.flags&fDepr != 0,
		}
		if len(e.subs) > 0 {
			kw.subs = make(map[string]SubKeyword, len(e.subs))
			kw.Sections = 0
			for _, s := range e.subs {
				kw.subs[s.name] = SubKeyword{Name: s.name, Sections: s.sec,
					Negatable: s.flags&fNeg != 0, Deprecated: s.flags&fDepr != 0,
					Paren: s.flags&fParen != 0}
				kw.Sub = append(kw.Sub, s.name)
				kw.Sections |= s.sec
			}
			sort.Strings(kw.Sub)
		}
		t[e.name] = kw
	}
	return t
}

func buildTables() keywordTables {
	return keywordTables{
		byFamily: map[SectionSet]keywordTable{
			SecGlobal:     makeTable(globalEntries()),
			proxyFamily:   makeTable(proxyEntries()),
			SecUserlist:   makeTable(simple(SecUserlist, "group user")),
			SecPeers:      makeTable(simple(SecPeers, "bind default-bind default-server disabled enabled log peer server table")),
			SecResolvers:  makeTable(resolversEntries()),
			SecMailers:    makeTable(append(simple(SecMailers, "mailer"), family("timeout", SecMailers, 0, simple(0, "mail")))),
			SecProgram:    makeTable(programEntries()),
			SecHTTPErrors: makeTable(simple(SecHTTPErrors, "errorfile")),
			SecCache:      makeTable(simple(SecCache, "total-max-size max-object-size max-age process-vary max-secondary-entries")),
			SecRing:       makeTable(append(simple(SecRing, "description format maxlen server size"), family("timeout", SecRing, 0, simple(0, "connect server")))),
			SecLogForward: makeTable(append(simple(SecLogForward, "backlog bind dgram-bind log maxconn"), family("timeout", SecLogForward, 0, simple(0, "client")))),
			SecFCGIApp:    makeTable(fcgiAppEntries()),
		},
		actions: actionEntries(),
	}
}

// globalEntries is section 3: the summary list at its top plus keywords
// documented in 3.1-3.3 but missing from that list (close-spread-time,
// master-worker, set-var-fmt, thread-groups, tune.fail-alloc, ...).
func globalEntries() []entry {
	g := simple(SecGlobal, `
		ca-base chroot close-spread-time cluster-secret crt-base cpu-map daemon
		default-path description deviceatlas-json-file deviceatlas-log-level
		deviceatlas-separator deviceatlas-properties-cookie
		expose-experimental-directives external-check fd-hard-limit gid grace
		group hard-stop-after httpclient.resolvers.id httpclient.resolvers.prefer
		httpclient.ssl.ca-file httpclient.ssl.verify
		h1-accept-payload-with-any-method h1-case-adjust h1-case-adjust-file
		issuers-chain-path h2-workaround-bogus-websocket-clients localpeer
		log-tag log-send-hostname lua-load lua-load-per-thread lua-prepend-path
		master-worker mworker-max-reloads nbthread node pidfile
		pp2-never-send-local presetenv resetenv uid ulimit-n user set-var
		set-var-fmt setenv ssl-default-bind-ciphers ssl-default-bind-ciphersuites
		ssl-default-bind-curves ssl-default-bind-options ssl-default-server-ciphers
		ssl-default-server-ciphersuites ssl-default-server-options
		ssl-dh-param-file ssl-load-extra-del-ext ssl-load-extra-files
		ssl-propquery ssl-provider ssl-provider-path ssl-server-verify
		ssl-skip-self-issued-ca thread-group thread-groups unix-bind unsetenv
		51degrees-data-file 51degrees-property-name-list
		51degrees-property-separator 51degrees-cache-size wurfl-data-file
		wurfl-information-list wurfl-information-list-separator wurfl-cache-size
		wurfl-patch-file

		max-spread-checks maxconn maxconnrate maxcomprate maxcompcpuusage
		maxpipes maxsessrate maxsslconn maxsslrate maxzlibmem no-memory-trimming
		noepoll nokqueue noevports nopoll nosplice nogetaddrinfo noreuseport
		profiling.memory profiling.tasks spread-checks server-state-base
		server-state-file ssl-engine ssl-mode-async
		tune.buffers.limit tune.buffers.reserve tune.bufsize tune.comp.maxlevel
		tune.fail-alloc tune.fd.edge-triggered tune.h2.header-table-size
		tune.h2.initial-window-size tune.h2.max-concurrent-streams
		tune.h2.max-frame-size tune.http.cookielen tune.http.logurilen
		tune.http.maxhdr tune.idle-pool.shared tune.idletimer
		tune.listener.multi-queue tune.lua.forced-yield tune.lua.maxmem
		tune.lua.session-timeout tune.lua.task-timeout tune.lua.service-timeout
		tune.maxaccept tune.maxpollevents tune.maxrewrite tune.pattern.cache-size
		tune.pipesize tune.pool-high-fd-ratio tune.pool-low-fd-ratio
		tune.quic.frontend.conn-tx-buffers.limit tune.quic.frontend.max-idle-timeout
		tune.quic.frontend.max-streams-bidi tune.quic.retry-threshold
		tune.rcvbuf.client tune.rcvbuf.server tune.recv_enough
		tune.runqueue-depth tune.sched.low-latency tune.sndbuf.client
		tune.sndbuf.server tune.ssl.cachesize tune.ssl.force-private-cache
		tune.ssl.hard-maxrecord tune.ssl.keylog tune.ssl.lifetime
		tune.ssl.maxrecord tune.ssl.default-dh-param tune.ssl.ssl-ctx-cache-size
		tune.ssl.capture-buffer-size tune.vars.global-max-size
		tune.vars.proc-max-size tune.vars.reqres-max-size tune.vars.sess-max-size
		tune.vars.txn-max-size tune.zlib.memlevel tune.zlib.windowsize

		quiet zero-warning`)
	g = append(g, simple(SecGlobal, BulwarkGlobalKeywords)...)
	// cfgparse.c accepts "no"/"default" only for these global keywords.
	g = append(g, simple(SecGlobal, "busy-polling insecure-fork-wanted insecure-setuid-wanted log numa-cpu-mapping set-dumpable strict-limits")...)
	for i := range g {
		switch g[i].name {
		case "busy-polling", "insecure-fork-wanted", "log", "numa-cpu-mapping", "set-dumpable", "strict-limits":
			g[i].flags |= fNeg
		}
	}
	g = append(g,
		entry{name: "tune.ssl.capture-cipherlist-size", sec: SecGlobal, flags: fDepr},
		family("stats", SecGlobal, 0, []entry{
			{name: "bind-process", flags: fDepr}, {name: "maxconn"}, {name: "socket"}, {name: "timeout"},
		}),
	)
	return g
}

// proxyEntries is the 4.1 matrix plus the 4.2 entries it omits
// (dynamic-cookie-key, hash-balance-factor, max-session-srv-conns,
// stats show-modules).
func proxyEntries() []entry {
	p := []entry{
		{name: "acl", sec: secDFLB, flags: fNamed},
		{name: "backlog", sec: secDFL},
		{name: "balance", sec: secDLB},
		{name: "bind", sec: secFL},
		{name: "bind-process", sec: secDFLB},
		{name: "clitcpka-cnt", sec: secDFL},
		{name: "clitcpka-idle", sec: secDFL},
		{name: "clitcpka-intvl", sec: secDFL},
		{name: "compression", sec: secDFLB},
		{name: "cookie", sec: secDLB},
		{name: "appsession", sec: secLB}, // refused by the compiler with HAProxy's message
		{name: "default-server", sec: secDLB},
		{name: "default_backend", sec: secDFL},
		{name: "description", sec: secFLB},
		{name: "disabled", sec: secDFLB},
		{name: "dispatch", sec: secLB},
		{name: "dynamic-cookie-key", sec: secDLB},
		{name: "enabled", sec: secDFLB},
		{name: "errorfile", sec: secDFLB},
		{name: "errorfiles", sec: secDFLB},
		{name: "errorloc", sec: secDFLB},
		{name: "errorloc302", sec: secDFLB},
		{name: "errorloc303", sec: secDFLB},
		{name: "error-log-format", sec: secDFL},
		{name: "force-persist", sec: secLB},
		{name: "filter", sec: secFLB},
		{name: "fullconn", sec: secDLB},
		{name: "hash-balance-factor", sec: secD | secB},
		{name: "hash-type", sec: secDLB},
		{name: "http-after-response", sec: secDFLB, flags: fNamed},
		{name: "http-error", sec: secDFLB},
		{name: "http-request", sec: secDFLB, flags: fNamed},
		{name: "http-response", sec: secDFLB, flags: fNamed},
		{name: "http-reuse", sec: secDLB},
		{name: "http-send-name-header", sec: secLB},
		{name: "id", sec: secFLB},
		{name: "ignore-persist", sec: secLB},
		{name: "load-server-state-from-file", sec: secDLB},
		{name: "log", sec: secDFLB, flags: fNeg},
		{name: "log-format", sec: secDFL},
		{name: "log-format-sd", sec: secDFL},
		{name: "log-tag", sec: secDFLB},
		{name: "max-keep-alive-queue", sec: secDLB},
		{name: "max-session-srv-conns", sec: secDFL},
		{name: "maxconn", sec: secDFL},
		{name: "mode", sec: secDFLB},
		{name: "monitor-uri", sec: secDFL},
		{name: "redirect", sec: secFLB},
		{name: "retries", sec: secDLB},
		{name: "retry-on", sec: secDLB},
		{name: "server", sec: secLB},
		{name: "server-state-file-name", sec: secDLB},
		{name: "server-template", sec: secLB},
		{name: "source", sec: secDLB},
		{name: "srvtcpka-cnt", sec: secDLB},
		{name: "srvtcpka-idle", sec: secDLB},
		{name: "srvtcpka-intvl", sec: secDLB},
		{name: "stick-table", sec: secFLB},
		{name: "transparent", sec: secDLB, flags: fDepr},
		{name: "unique-id-format", sec: secDFL},
		{name: "unique-id-header", sec: secDFL},
		{name: "use_backend", sec: secFL},
		{name: "use-fcgi-app", sec: secLB},
		{name: "use-server", sec: secLB},

		family("capture", secFL, 0, simple(0, "cookie request response")),
		family("declare", secFL, 0, simple(0, "capture")),
		family("email-alert", secDFLB, 0, simple(0, "from level mailers myhostname to")),
		family("external-check", secDLB, 0, simple(0, "command path")),
		family("monitor", secFL, 0, simple(0, "fail")),
		family("persist", secDLB, 0, []entry{{name: "rdp-cookie", flags: fParen}}),
		family("rate-limit", secDFL, 0, simple(0, "sessions")),
		family("stick", secLB, 0, simple(0, "match on store-request store-response")),
		family("http-check", secDLB, 0, checkSubs("disable-on-404 send-state")),
		family("tcp-check", secDLB, 0, checkSubs("send-lf send-binary send-binary-lf")),
		family("tcp-request", secDFLB, fNamed, []entry{
			{name: "connection", sec: secDFL}, {name: "content", sec: secDFLB},
			{name: "inspect-delay", sec: secDFLB}, {name: "session", sec: secDFL},
		}),
		family("tcp-response", secDLB, fNamed, simple(0, "content inspect-delay")),
		family("stats", secDFLB, 0, concat(simple(secFLB, "admin http-request"),
			simple(secDFLB, "auth enable hide-version realm refresh scope show-desc show-legends show-modules show-node uri"))),
		family("timeout", secDFLB, 0, concat(simple(secDFL, "client client-fin"),
			simple(secDLB, "check connect queue server server-fin tunnel"),
			simple(secDFLB, "http-keep-alive http-request tarpit"))),
		family("option", secDFLB, 0, optionEntries()),
	}
	p = append(p, simple(secDFL, BulwarkProxyKeywords)...)
	return p
}

// checkSubs lists the http-check / tcp-check second words: those common to
// both plus the ones given.
func checkSubs(extra string) []entry {
	s := simple(0, "comment connect expect send "+extra)
	return append(s, entry{name: "set-var", flags: fParen},
		entry{name: "set-var-fmt", flags: fParen}, entry{name: "unset-var", flags: fParen})
}

// optionEntries is the "option" part of the 4.1 matrix; fNeg marks "(*)".
func optionEntries() []entry {
	return []entry{
		{"abortonclose", secDLB, fNeg, nil},
		{"accept-invalid-http-request", secDFL, fNeg, nil},
		{"accept-invalid-http-response", secDLB, fNeg, nil},
		{"allbackups", secDLB, fNeg, nil},
		{"checkcache", secDLB, fNeg, nil},
		{"clitcpka", secDFL, fNeg, nil},
		{"contstats", secDFL, fNeg, nil},
		{"disable-h2-upgrade", secDFL, fNeg, nil},
		{"dontlog-normal", secDFL, fNeg, nil},
		{"dontlognull", secDFL, fNeg, nil},
		{"external-check", secDLB, 0, nil},
		{"forwardfor", secDFLB, 0, nil},
		{"h1-case-adjust-bogus-client", secDFL, fNeg, nil},
		{"h1-case-adjust-bogus-server", secDLB, fNeg, nil},
		{"http-buffer-request", secDFLB, fNeg, nil},
		{"http-ignore-probes", secDFL, fNeg, nil},
		{"http-keep-alive", secDFLB, fNeg, nil},
		{"http-no-delay", secDFLB, fNeg, nil},
		{"http-pretend-keepalive", secDLB, fNeg, nil},
		{"http-restrict-req-hdr-names", secDFLB, 0, nil},
		{"http-server-close", secDFLB, fNeg, nil},
		{"http-use-proxy-header", secDFL, fNeg, nil},
		{"httpchk", secDLB, 0, nil},
		{"httpclose", secDFLB, fNeg, nil},
		{"httplog", secDFL, 0, nil},
		{"httpslog", secDFL, 0, nil},
		{"idle-close-on-response", secDFL, fNeg, nil},
		{"independent-streams", secDFLB, fNeg, nil},
		{"ldap-check", secDLB, 0, nil},
		{"log-health-checks", secDLB, fNeg, nil},
		{"log-separate-errors", secDFL, fNeg, nil},
		{"logasap", secDFL, fNeg, nil},
		{"mysql-check", secDLB, 0, nil},
		{"nolinger", secDFLB, fNeg, nil},
		{"originalto", secDFLB, 0, nil},
		{"persist", secDLB, fNeg, nil},
		{"pgsql-check", secDLB, 0, nil},
		{"prefer-last-server", secDLB, fNeg, nil},
		{"redis-check", secDLB, 0, nil},
		{"redispatch", secDLB, fNeg, nil},
		{"smtpchk", secDLB, 0, nil},
		{"socket-stats", secDFL, fNeg, nil},
		{"splice-auto", secDFLB, fNeg, nil},
		{"splice-request", secDFLB, fNeg, nil},
		{"splice-response", secDFLB, fNeg, nil},
		{"spop-check", secB, 0, nil},
		{"srvtcpka", secDLB, fNeg, nil},
		{"ssl-hello-chk", secDLB, 0, nil},
		{"tcp-check", secDLB, 0, nil},
		{"tcp-smart-accept", secDFL, fNeg, nil},
		{"tcp-smart-connect", secDLB, fNeg, nil},
		{"tcpka", secDFLB, 0, nil},
		{"tcplog", secDFLB, 0, nil},
		{"transparent", secDLB, fNeg, nil},
	}
}

func resolversEntries() []entry {
	return append(simple(SecResolvers, "accepted_payload_size nameserver parse-resolv-conf resolve_retries"),
		family("hold", SecResolvers, 0, simple(0, "nx other refused timeout valid obsolete")),
		family("timeout", SecResolvers, 0, simple(0, "resolve retry")))
}

// fcgiAppEntries is section 10.1.1.
func fcgiAppEntries() []entry {
	return append(simple(SecFCGIApp, "acl docroot index log-stderr pass-header path-info set-param"),
		family("option", SecFCGIApp, 0, []entry{{name: "get-values", flags: fNeg}, {name: "keep-conn", flags: fNeg},
			{name: "max-reqs"}, {name: "mpxs-conns", flags: fNeg}}))
}

func programEntries() []entry {
	return append(simple(SecProgram, "command user group"),
		family("option", SecProgram, 0, []entry{{name: "start-on-reload", flags: fNeg}}))
}

// actionEntries lists the actions of each rule set, as the 2.6 manual
// enumerates them at the head of each keyword's description.
func actionEntries() map[string]actionSet {
	const (
		track = "track-sc0 track-sc1 track-sc2"
		gpc   = "sc-inc-gpc sc-inc-gpc0 sc-inc-gpc1 sc-set-gpt sc-set-gpt0"
		vars  = "set-var set-var-fmt unset-var"
		l4    = "set-dst set-dst-port set-src set-src-port set-mark set-tos silent-drop"
		hdr   = "add-header del-header replace-header replace-value set-header"
		acls  = "add-acl del-acl del-map set-map"
	)
	set := func(lua bool, lists ...string) actionSet {
		names := strings.Fields(strings.Join(lists, " "))
		sort.Strings(names)
		return actionSet{names: names, lua: lua}
	}
	return map[string]actionSet{
		"http-request": set(true, track, gpc, vars, l4, hdr, acls, `allow auth
			cache-use capture deny disable-l7-retry do-resolve early-hint
			normalize-uri redirect reject replace-path replace-pathq replace-uri
			return send-spoe-group set-log-level set-method set-nice set-path
			set-pathq set-priority-class set-priority-offset set-query set-timeout
			set-uri strict-mode tarpit use-service wait-for-body
			wait-for-handshake`),
		"http-response": set(true, track, gpc, vars, hdr, acls, `allow
			cache-store capture deny redirect return send-spoe-group
			set-log-level set-mark set-nice set-status set-tos silent-drop
			strict-mode wait-for-body`),
		"http-after-response": set(false, vars, hdr, "allow capture set-status strict-mode"),
		"tcp-request connection": set(false, track, gpc, vars, l4,
			"accept expect-netscaler-cip expect-proxy reject"),
		"tcp-request content": set(true, track, gpc, vars, l4, `accept capture
			do-resolve reject send-spoe-group set-log-level set-nice
			set-priority-class set-priority-offset switch-mode use-service`),
		"tcp-request session": set(false, track, gpc, vars, l4, "accept reject"),
		"tcp-response content": set(true, gpc, vars, `accept close reject
			send-spoe-group set-log-level set-mark set-nice set-tos silent-drop`),
		"stats http-request": set(false, "allow auth deny"),
	}
}

// tableFor returns the table shared by sections of this kind and the bit of
// the kind itself.
func tableFor(kind string) (keywordTable, SectionSet) {
	bit := SectionOf(kind)
	if bit == 0 {
		return nil, 0
	}
	if bit&proxyFamily != 0 {
		return tables.byFamily[proxyFamily], bit
	}
	return tables.byFamily[bit], bit
}

// LookupKeyword finds the first word name among the keywords of the family
// of sectionKind. The four proxy kinds share one family, so "balance" is
// found for a frontend even though it is not valid there: HAProxy warns
// about such keywords instead of rejecting them, and ValidInSection tells
// them apart.
func LookupKeyword(sectionKind, name string) (*Keyword, bool) {
	t, _ := tableFor(sectionKind)
	kw, ok := t[name]
	return kw, ok
}

// ValidInSection reports whether name may start a directive in a section of
// this kind. For multi-word keywords it is true when at least one second
// word is valid there; SubValidIn checks the pair.
func ValidInSection(sectionKind, name string) bool {
	kw, ok := LookupKeyword(sectionKind, name)
	if !ok {
		return false
	}
	_, bit := tableFor(sectionKind)
	return kw.Sections&bit != 0
}

// SubValidIn reports whether "name sub" may appear in a section of this
// kind; sub may be "word(args)" for second words taking such an argument.
func SubValidIn(sectionKind, name, sub string) bool {
	kw, ok := LookupKeyword(sectionKind, name)
	if !ok {
		return false
	}
	s, ok := kw.Lookup(sub)
	if !ok {
		return false
	}
	_, bit := tableFor(sectionKind)
	return s.Sections&bit != 0
}

// SubKeywordsIn returns the sorted second words of name in the family of
// sectionKind, whatever their validity in the exact kind; nil when name
// has no fixed second word.
func SubKeywordsIn(sectionKind, name string) []string {
	kw, ok := LookupKeyword(sectionKind, name)
	if !ok || kw.Sub == nil {
		return nil
	}
	return append([]string(nil), kw.Sub...)
}

// SubKeywords returns the sorted union of name's second words over every
// section family, e.g. "timeout" gives the proxy timeouts together with
// "mail" (mailers) and "resolve"/"retry" (resolvers). It never rejects a
// pair some section accepts; SubKeywordsIn and SubValidIn are exact.
func SubKeywords(name string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range tables.byFamily {
		if kw, ok := t[name]; ok {
			for _, s := range kw.Sub {
				if !seen[s] {
					seen[s] = true
					out = append(out, s)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// OptionValidIn reports whether "option <option>" may appear in a section
// of this kind (proxy sections and program).
func OptionValidIn(option, sectionKind string) bool {
	return SubValidIn(sectionKind, "option", option)
}

// NegationAllowed reports whether "no"/"default" may prefix the directive
// "name sub..." in a section of this kind. sub is only consulted for
// "option", where the "(*)" marks of the matrix decide.
func NegationAllowed(sectionKind, name, sub string) bool {
	kw, ok := LookupKeyword(sectionKind, name)
	if !ok {
		return false
	}
	if name == "option" {
		s, ok := kw.Lookup(sub)
		return ok && s.Negatable
	}
	return kw.Negatable
}

// KeywordsFor returns, sorted, the first words valid in a section of this
// kind: the candidates for a "did you mean" suggestion.
func KeywordsFor(sectionKind string) []string {
	t, bit := tableFor(sectionKind)
	out := make([]string, 0, len(t))
	for name, kw := range t {
		if kw.Sections&bit != 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Actions returns the sorted action names of a rule set: "http-request",
// "http-response", "http-after-response", "tcp-request connection",
// "tcp-request content", "tcp-request session", "tcp-response content" or
// "stats http-request". The names are bare: "set-var" stands for
// "set-var(<name>)". Nil for an unknown rule set.
func Actions(ruleset string) []string {
	a, ok := tables.actions[ruleset]
	if !ok {
		return nil
	}
	return append([]string(nil), a.names...)
}

// IsAction reports whether word is an action of ruleset as written in a
// configuration: "set-var(txn.x)" matches "set-var", and "lua.<name>" is
// accepted where Lua may register actions, since the parser cannot know
// which names the loaded scripts register.
func IsAction(ruleset, word string) bool {
	a, ok := tables.actions[ruleset]
	if !ok {
		return false
	}
	if a.lua && strings.HasPrefix(word, "lua.") && len(word) > len("lua.") {
		return true
	}
	name := ActionName(word)
	i := sort.SearchStrings(a.names, name)
	return i < len(a.names) && a.names[i] == name
}

// ActionName strips a parenthesised argument: "sc-inc-gpc0(1)" gives
// "sc-inc-gpc0". Words without one are returned unchanged.
func ActionName(word string) string {
	if i := strings.IndexByte(word, '('); i > 0 && strings.HasSuffix(word, ")") {
		return word[:i]
	}
	return word
}

// ArgsVariable marks an option whose number of words depends on what
// follows it ("source <addr> [usesrc ...] [interface ...]").
const ArgsVariable = -1

// BindOptions maps each "bind" option of manual section 5.1 to the number
// of words it consumes after itself. Read-only.
var BindOptions = arityMap(`
	accept-proxy allow-0rtt defer-accept force-sslv3 force-tlsv10
	force-tlsv11 force-tlsv12 force-tlsv13 generate-certificates no-ca-names
	no-sslv3 no-tls-tickets no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13
	prefer-client-ciphers quic-force-retry ssl strict-sni tfo transparent
	v4v6 v6only`, `
	accept-netscaler-cip alpn backlog ca-file ca-ignore-err ca-sign-file
	ca-sign-pass ca-verify-file ciphers ciphersuites crl-file crt
	crt-ignore-err crt-list curves ecdhe expose-fd gid group id interface
	level maxconn mode mss name namespace nice npn process proto
	severity-output shards ssl-max-ver ssl-min-ver tcp-ut thread
	tls-ticket-keys uid user verify `+BulwarkBindKeywords, "")

// ServerOptions maps each "server"/"default-server" option of manual
// section 5.2 to the number of words it consumes after itself. Read-only.
var ServerOptions = arityMap(`
	agent-check allow-0rtt backup check check-send-proxy check-ssl
	check-via-socks4 disabled enabled force-sslv3 force-tlsv10 force-tlsv11
	force-tlsv12 force-tlsv13 no-agent-check no-backup no-check no-check-ssl
	no-send-proxy no-send-proxy-v2 no-send-proxy-v2-ssl
	no-send-proxy-v2-ssl-cn no-ssl no-ssl-reuse no-sslv3 no-tfo
	no-tls-tickets no-tlsv10 no-tlsv11 no-tlsv12 no-tlsv13 no-verifyhost
	non-stick send-proxy send-proxy-v2 send-proxy-v2-ssl
	send-proxy-v2-ssl-cn ssl ssl-reuse stick tfo tls-tickets`, `
	addr agent-addr agent-inter agent-port agent-send alpn ca-file
	check-alpn check-proto check-sni ciphers ciphersuites cookie crl-file crt
	downinter error-limit fall fastinter id init-addr inter log-proto
	max-reuse maxconn maxqueue minconn namespace npn observe on-error
	on-marked-down on-marked-up pool-low-conn pool-max-conn pool-purge-delay
	port proto proxy-v2-options redir resolve-net resolve-opts
	resolve-prefer resolvers rise slowstart sni socks4 ssl-max-ver
	ssl-min-ver tcp-ut track verify verifyhost weight ws`, "source")

func arityMap(none, one, variable string) map[string]int {
	m := map[string]int{}
	for n, list := range map[int]string{0: none, 1: one, ArgsVariable: variable} {
		for _, w := range strings.Fields(list) {
			m[w] = n
		}
	}
	return m
}
