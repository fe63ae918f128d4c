// Package model compiles the configuration AST into a typed, validated and
// cross-referenced description of what the proxy runs. It never reads
// configuration text itself: positions come from the AST, so every error
// names its file, line and column.
package model

import (
	"net/netip"
	"time"

	"bulwark/internal/balance"
	"bulwark/internal/compress"
	"bulwark/internal/config"
)

// Mode is a proxy's traffic mode.
type Mode int

const (
	ModeTCP Mode = iota
	ModeHTTP
)

func (m Mode) String() string {
	if m == ModeHTTP {
		return "http"
	}
	return "tcp"
}

// Cap is a proxy's capability: what it can be used as.
type Cap int

const (
	CapFrontend Cap = 1 << iota
	CapBackend
	CapDefaults
)

// Model is a whole compiled configuration.
type Model struct {
	Files     []string
	Global    Global
	Proxies   []*Proxy // frontends, backends and listens in file order
	Userlists map[string]*Userlist
	// Caches are the "cache" sections in file order.
	Caches []*CacheSection
	// FCGIApps are the "fcgi-app" sections in file order.
	FCGIApps []*FCGIApp
	// Peers are the "peers" sections in file order.
	Peers []*PeersSection
	// Resolvers are the "resolvers" sections by name.
	Resolvers map[string]*Resolvers
	// Programs are the "program" sections, run by the master.
	Programs []*Program
	// HTTPErrors are the "http-errors" sections by name.
	HTTPErrors map[string]*HTTPErrors
	// Unrun lists the sections that parse but that Bulwark does not run
	// (peers, resolvers, ...): kept for the auditor.
	Unrun []*config.Section
}

// Frontend returns the proxy with frontend capability named name.
func (m *Model) Frontend(name string) *Proxy { return m.find(name, CapFrontend) }

// Backend returns the proxy with backend capability named name.
func (m *Model) Backend(name string) *Proxy { return m.find(name, CapBackend) }

func (m *Model) find(name string, c Cap) *Proxy {
	for _, p := range m.Proxies {
		if p.Name == name && p.Cap&c != 0 {
			return p
		}
	}
	return nil
}

// Frontends returns the proxies with frontend capability, in order.
func (m *Model) Frontends() []*Proxy { return m.filter(CapFrontend) }

// Backends returns the proxies with backend capability, in order.
func (m *Model) Backends() []*Proxy { return m.filter(CapBackend) }

func (m *Model) filter(c Cap) []*Proxy {
	var out []*Proxy
	for _, p := range m.Proxies {
		if p.Cap&c != 0 {
			out = append(out, p)
		}
	}
	return out
}

// GlobalVar is one global "set-var <name> <expr>" or "set-var-fmt
// <name> <fmt>".
type GlobalVar struct {
	Pos  config.Pos
	Name string
	// Text is the sample expression, or the log-format string when Fmt.
	Text string
	Fmt  bool
}

// Global holds process-wide settings.
type Global struct {
	Pos config.Pos
	// Experimental is "expose-experimental-directives": HAProxy refuses
	// its experimental actions (normalize-uri) without it.
	Experimental bool
	// Vars are the "set-var" and "set-var-fmt" lines (CM 3.1), in file
	// order: each is evaluated once, when the configuration is compiled,
	// and may read the ones before it.
	Vars []GlobalVar
	// ServerStateFile and ServerStateBase are "server-state-file" and
	// "server-state-base": where backends with
	// "load-server-state-from-file" find the state of a previous process.
	ServerStateFile, ServerStateBase string
	// SpreadChecks is "spread-checks" (percent of jitter on check
	// intervals); MaxSpreadChecks bounds the initial spreading delay.
	SpreadChecks    int
	MaxSpreadChecks time.Duration
	// Node and Description name this process on the stats page and in
	// "show info" (node defaults to the host name).
	Node, Description string
	User              string
	Group             string
	UID               int // -1 when unset
	GID               int // -1 when unset
	Chroot            string
	MaxConn           int
	NbThread          int
	Daemon            bool
	PidFile           string
	HardStop          time.Duration // hard-stop-after; 0 = none
	BufSize           int           // tune.bufsize, default 16384
	MaxRewrite        int           // tune.maxrewrite
	MaxHdr            int           // tune.http.maxhdr, default 101
	CompMaxLevel      int           // tune.comp.maxlevel, 0 = 1
	H2                H2Tune        // tune.h2.*
	UlimitN           int           // ulimit-n, 0 = leave the limit as it is
	// PoolLowFDRatio and PoolHighFDRatio are "tune.pool-low-fd-ratio"
	// (default 20) and "tune.pool-high-fd-ratio" (default 25): the share
	// of the descriptor limit in use past which a server connection is
	// no longer kept idle after its response, and past which a new
	// server connection closes an idle one.
	PoolLowFDRatio, PoolHighFDRatio int
	// NoMemoryTrimming is "no-memory-trimming": the proxy never hands the
	// memory a burst left back to the system on its own (see
	// internal/proxy/trim.go).
	NoMemoryTrimming bool
	// NoReusePort is "noreuseport" (or -dR): listening sockets are bound
	// without SO_REUSEPORT, so no other process can bind the same port
	// beside them (and a new process without -x cannot start while the
	// old one listens).
	NoReusePort bool
	// NoSplice is "nosplice": no kernel splicing at all, whatever the
	// splice options say (TCP relays included, which Go splices on its
	// own otherwise).
	NoSplice bool
	// MaxPipes is "maxpipes": how many pipes the splicing transfers may
	// hold at once; one beyond it copies instead. 0 = maxconn/4, no
	// limit without maxconn.
	MaxPipes int
	// MaxReloads is "mworker-max-reloads": an old worker that has
	// survived more reloads than this is sent SIGTERM; -1 when unset.
	MaxReloads int
	// SSLCaptureSize is tune.ssl.capture-buffer-size: how many bytes of
	// the ClientHello lists the ssl_fc_*list fetches return; 0 (the
	// default) captures nothing.
	SSLCaptureSize int
	// SSLCacheSize is tune.ssl.cachesize: how many blocks of about 200
	// bytes the stateful TLS session cache of the binds with
	// no-tls-tickets holds (default 20000); 0 disables that cache.
	SSLCacheSize int
	// SSLLifetime is tune.ssl.lifetime: how long a session of that cache
	// may be resumed (default 300s).
	SSLLifetime time.Duration
	// SSLKeyLog is "tune.ssl.keylog on": every TLS connection keeps the
	// secrets of its handshake for the ssl_fc_*_secret and
	// ssl_*_session_key fetches.
	SSLKeyLog bool
	// EnvOps are setenv, presetenv, unsetenv and resetenv in order; the
	// lexer already applied them to the configuration's "${NAME}"s, the
	// process applies them to its own environment at start-up.
	EnvOps     []EnvOp
	Logs       []LogTarget
	StatsSocks []*StatsSocket
	// StatsTimeout is "stats timeout" (runtime API idle limit), 0 = 10 s.
	StatsTimeout time.Duration
	// StatsMaxConn is "stats maxconn": concurrent runtime API connections
	// over all stats sockets, default 10 as in HAProxy.
	StatsMaxConn int
	SSL          SSLDefaults
	ZeroWarn     bool
	// LogTag is "log-tag" (syslog tag, default the program name);
	// LogSendHostname is "log-send-hostname [<name>]".
	LogTag string
	// CrtBase and CABase prefix relative certificate and CA paths.
	CrtBase, CABase string
	LogSendHostname bool
	LogHostname     string
	// MasterWorker is "master-worker" (as -W); NoExitOnFailure its
	// "no-exit-on-failure": the master stays when a worker fails.
	MasterWorker, NoExitOnFailure bool
	// Directives keeps every global directive for the auditor.
	Directives []*config.Directive
	// Bulwark holds the Bulwark-only settings (bulwark.go).
	Bulwark Bulwark
}

// SSLDefaults are the ssl-default-* settings of the global section.
type SSLDefaults struct {
	BindCiphers      string
	BindCipherSuites string
	BindCurves       string
	BindOptions      []string
	ServerCiphers    string
	ServerSuites     string
	ServerOptions    []string
	ServerVerify     string // "required" (default) or "none"
	DHParamFile      string
}

// StatsSocket is a runtime API listener.
type StatsSocket struct {
	Pos   config.Pos
	Addr  Addr
	Mode  uint32 // file mode for unix sockets, 0 = unset
	User  string
	Group string
	Level string // user|operator|admin; default operator
	// MaxConn is the bind option "maxconn": concurrent connections on
	// this socket, 0 = only the StatsMaxConn bound.
	MaxConn int
	// ExposeFD is "expose-fd listeners": the socket hands the listening
	// sockets to a process started with -x ("_getsocks").
	ExposeFD bool
	Opts     map[string]string
}

// LogTarget is one "log" line.
type LogTarget struct {
	Pos      config.Pos
	Global   bool   // "log global"
	Target   string // address, path, stdout, stderr, ring@...
	Len      int
	Format   string
	Facility string
	Level    string
	MinLevel string
	// Sample is "sample <ranges>:<size>": the target takes only the
	// lines whose position in each period of Size lines (from 1) falls
	// in one of the ranges; nil takes every line.
	Sample *LogSample
}

// LogSample is a "log ... sample" clause.
type LogSample struct {
	Ranges [][2]int // inclusive, 1-based
	Size   int
}

// Proxy is a frontend, backend or listen section after defaults inheritance.
// Filter is one "filter" line.
type Filter struct {
	Pos  config.Pos
	Name string // "compression" or "cache"
	Arg  string // the cache name
}

type Proxy struct {
	// LogJSON is "bulwark-log-json": access log lines in JSON with
	// Elastic Common Schema field names instead of the log-format.
	LogJSON bool
	Name    string
	Kind    string // frontend, backend, listen
	Pos     config.Pos
	Cap     Cap
	Mode    Mode
	ID      int // declaration order, from 1 (HAProxy's iid), or ExplicitID
	// ExplicitID is the "id" directive's value, 0 without one.
	ExplicitID int
	Defaults   string
	Disabled   bool

	Timeouts Timeouts
	MaxConn  int
	Backlog  int
	Retries  int
	// RetryOn is "retry-on": when a request is sent again, within
	// Retries attempts. Default conn-failure.
	RetryOn RetryOn
	// Redispatch: -2 unset, -1 on last retry (HAProxy's default when
	// enabled), 0 disabled, N every Nth retry.
	Redispatch int

	Binds         []*Bind
	Servers       []*Server
	DefaultServer ServerOptions
	Balance       []string // arguments of "balance", nil = roundrobin
	BalancePos    config.Pos
	HashType      []string
	// LB and Hash are "balance" and "hash-type" parsed (zero values:
	// roundrobin, map-based sdbm).
	LB   balance.Params
	Hash balance.HashType

	Options map[string]bool // option name -> enabled; absent = default
	// OptionArgs keeps each option's directive for the auditor; the
	// stages that run the proxy read the typed fields instead.
	OptionArgs map[string]*config.Directive
	HTTPLogCLF bool // "option httplog clf"
	ForwardFor *ForwardFor
	HTTPReuse  string
	// Source is the backend's "source ADDR[:PORT]", for servers without
	// their own.
	Source string
	// UseSrc is "source … usesrc client|clientip": connections to the
	// servers come from the client's address (IP_TRANSPARENT).
	UseSrc string
	// PersistRDP is the cookie name of "persist rdp-cookie[(name)]"
	// ("msts" by default), "" without it.
	PersistRDP string
	// Compression is the "compression" lines (defaults' first), nil
	// without any.
	Compression *compress.Config
	// CompressionPos is the first "compression" line, for messages.
	CompressionPos config.Pos
	// Filters are the "filter" lines in order: "compression" and
	// "cache NAME" are the ones Bulwark runs.
	Filters []Filter
	// FCGIAppName is "use-fcgi-app" (or "filter fcgi-app"); FCGI the
	// section it names, once resolved.
	FCGIAppName string
	FCGIAppPos  config.Pos
	FCGI        *FCGIApp
	// dispatch is the "dispatch" line, applied once the section is read.
	dispatch *config.Directive
	// httpInTCP are the HTTP rule lines of a TCP proxy, warned about
	// once the section is read unless a switch-mode rule uses them.
	httpInTCP []*config.Directive
	// MonitorURI is "monitor-uri"; MonitorFail the "monitor fail" lines
	// (Action empty, Cond set).
	MonitorURI  string
	MonitorFail []*Rule
	// OriginalTo is "option originalto" (IfNone unused).
	OriginalTo *ForwardFor
	// RestrictHdrNames is "option http-restrict-req-hdr-names": "",
	// "preserve", "delete" or "reject".
	RestrictHdrNames string
	// HTTPChk is the request line of "option httpchk", nil without
	// it; Check is the whole active check.
	HTTPChk *HTTPChkOption
	Check   HealthCheck

	ACLs           []*ACL
	HTTPRequest    []*Rule
	HTTPResponse   []*Rule
	HTTPAfter      []*Rule
	TCPRequest     []*Rule
	TCPResponse    []*Rule
	Redirects      []*Rule
	UseBackends    []*UseBackend
	DefaultBackend string
	DefBackendPos  config.Pos
	UseServers     []*Rule

	StickTable *StickTable
	StickRules []*Rule
	Stats      *Stats
	Logs       []LogTarget
	LogFormat  string
	// LogFormatPos is where the log-format string starts, for errors
	// inside it; the same for the other format strings below.
	LogFormatPos config.Pos
	// LogFormatSD, ErrorLogFormat and UniqueIDFormat are the other
	// log-format strings of CM 4.2; UniqueIDHeader names the request
	// header that carries the unique id.
	LogFormatSD, ErrorLogFormat, UniqueIDFormat       string
	LogFormatSDPos, ErrorLogFormatPos, UniqueIDFmtPos config.Pos
	UniqueIDHeader                                    string
	// LoadServerState is "load-server-state-from-file" (global, local,
	// none; "" unset) and ServerStateFileName "server-state-file-name".
	LoadServerState, ServerStateFileName string
	LogTag                               string
	ErrorFiles                           map[int]string
	// Errors are the error-message directives in the order they apply.
	Errors   []*ErrorMsg
	Captures []Capture
	// InspectDelay is "tcp-request inspect-delay" (0 when absent).
	InspectDelay time.Duration
	// ResInspectDelay is "tcp-response inspect-delay" (0 when absent):
	// how long tcp-response content rules may wait for the server's data.
	ResInspectDelay time.Duration

	// Directives keeps every directive applied to this proxy (inherited
	// first) for the auditor and for positions.
	Directives []*config.Directive

	// Cookie persistence: "cookie", "force-persist"/"ignore-persist"
	// (Keyword says which; in order), "dynamic-cookie-key".
	Cookie           *Cookie
	PersistRules     []*Rule
	DynamicCookieKey string
}

// Option reports whether option name is enabled on the proxy.
func (p *Proxy) Option(name string) bool { return p.Options[name] }

// Timeouts in a proxy; zero means unset.
type Timeouts struct {
	Client, Server, Connect, HTTPRequest, HTTPKeepAlive, Queue, Tunnel,
	ClientFin, ServerFin, Check, Tarpit time.Duration
}

// EnvOp is one environment directive of global: Op is "setenv",
// "presetenv", "unsetenv" or "resetenv"; Args its words.
type EnvOp struct {
	Op   string
	Args []string
}

// H2Tune are the HTTP/2 settings Bulwark advertises (tune.h2.*), with
// HAProxy 2.6's defaults.
type H2Tune struct {
	HeaderTableSize      int // tune.h2.header-table-size, 4096
	InitialWindowSize    int // tune.h2.initial-window-size, 65535
	MaxConcurrentStreams int // tune.h2.max-concurrent-streams, 100
	MaxFrameSize         int // tune.h2.max-frame-size, 16384
}

// Capture is one capture slot of a frontend, in the order HAProxy numbers
// them (per direction, in configuration order, a named defaults section's
// first): a "capture request|response header <name> len <n>" line, a
// "declare capture request|response len <n>" line (Name empty) or the slot
// an "http-request capture <sample> len <n>" rule allocates (Name empty,
// Rule set).
type Capture struct {
	Pos      config.Pos
	Response bool
	Name     string // as written; matched without case
	Len      int
	Rule     *Rule
}

// ForwardFor is "option forwardfor".
type ForwardFor struct {
	Except string
	Header string
	IfNone bool
}

// Addr is a listening or server address after prefix handling.
type Addr struct {
	// Net is tcp4, tcp6, tcp (dual or hostname), unix, abns, fd, or
	// sockpair.
	Net       string
	Host      string
	PortLow   int
	PortHigh  int // equal to PortLow unless a range
	Path      string
	FD        int
	Raw       string
	PortDelta bool // server port written as +N / -N (relative)
}

// Wildcard reports whether the address listens on every interface.
func (a Addr) Wildcard() bool {
	return (a.Net == "tcp" || a.Net == "tcp4" || a.Net == "tcp6") &&
		(a.Host == "" || a.Host == "*" || a.Host == "0.0.0.0" || a.Host == "::")
}

// Bind is one "bind" line; one Bind may listen on several addresses.
type Bind struct {
	Pos     config.Pos
	Addrs   []Addr
	SSL     bool
	Certs   []string
	CrtList []string
	ALPN    []string
	Opts    map[string]string // every option, value "" for flags
	// Proto is "proto NAME": the multiplexer forced on every connection
	// of the bind ("h2": HTTP/2 from the first byte, also in clear text
	// and whatever TLS ALPN chose); "" lets ALPN decide.
	Proto    string
	ProtoPos config.Pos
	// ACME lists the domains of "bulwark-acme": the certificate comes from
	// the ACME CA instead of crt files.
	ACME    []string
	MaxConn int
	// NetScaler is "accept-netscaler-cip <magic>": every connection
	// starts with a NetScaler Client IP header of magic number
	// NetScalerMagic (which "tcp-request connection expect-netscaler-cip"
	// expects too; 0 without the option, as in HAProxy).
	NetScaler      bool
	NetScalerMagic uint32
	Name           string
	Mode           uint32 // unix socket mode
	User           string
	Group          string
}

// ServerOptions are the settings of a server or default-server line.
type ServerOptions struct {
	Check     bool
	Inter     time.Duration
	FastInter time.Duration
	DownInter time.Duration
	Rise      int
	Fall      int
	Weight    int
	Backup    bool
	MaxConn   int
	MaxQueue  int
	Disabled  bool
	SSL       bool
	Verify    string
	SNI       string
	// Source is "source ADDR[:PORT]": the local address of connections
	// to the server (the backend's when the server has none).
	Source     string
	UseSrc     string // usesrc client|clientip, after source
	SendProxy  string
	Port       int
	Opts       map[string]string
	Track      string
	SlowStart  time.Duration
	CheckSSL   bool
	AgentCheck bool
	// CheckAddr and Port ("addr", "port") redirect the health check;
	// CheckSNI, CheckALPN and CheckSendProxy tune its connection.
	CheckAddr, CheckSNI, CheckALPN string
	// Proto is "proto h1|h2": the protocol spoken to the server whatever
	// ALPN chose ("" lets ALPN decide, HTTP/1.1 without it); CheckProto
	// ("check-proto") the health checks', the server's when "".
	Proto, CheckProto       string
	ProtoPos, CheckProtoPos config.Pos
	CheckSendProxy          bool
	// AgentPort, AgentAddr, AgentInter and AgentSend are the agent check's.
	AgentPort  int
	AgentAddr  string
	AgentInter time.Duration
	AgentSend  string
	// Observe ("none", "layer4", "layer7"), ErrorLimit (default 10) and
	// OnError (default "fastinter") are the passive checks; OnMarkedDown
	// and OnMarkedUp what a state change does to sessions.
	Observe, OnError, OnMarkedDown, OnMarkedUp string
	// Socks4 is "socks4 <addr>:<port>": connections to the server go
	// through that SOCKS4 proxy; CheckViaSocks4 sends the checks too.
	Socks4         string
	CheckViaSocks4 bool
	ErrorLimit     int
	// PoolMaxConn bounds the idle connections kept for the server
	// ("pool-max-conn"): -1 unlimited, 0 none (a connection closes after
	// each response). Default DefaultPoolMaxConn.
	PoolMaxConn int
	// PoolLowConn is "pool-low-conn": purging keeps at least this many
	// idle connections.
	PoolLowConn int
	// PoolPurgeDelay is "pool-purge-delay": the period of idle-connection
	// purging; 0 keeps no idle connection. Default 5s.
	PoolPurgeDelay time.Duration
	// Resolvers names the "resolvers" section that resolves the server's
	// name at run time ("" = resolved once, at start-up). ResolvePrefer is
	// "ipv4" or "ipv6" ("" = HAProxy's default, ipv6); ResolveNets are
	// the preferred networks; AllowDupIP and IgnoreWeight are
	// "resolve-opts".
	Resolvers     string
	ResolvePrefer string
	ResolveNets   []netip.Prefix
	AllowDupIP    bool
	IgnoreWeight  bool
	// InitAddr is "init-addr", nil for the default (DefaultInitAddr).
	InitAddr []InitAddr
}

// DefaultPoolMaxConn is Bulwark's bound on a server's idle connections
// when "pool-max-conn" is not set. HAProxy's default is unlimited (-1);
// a burst should not leave thousands of sockets open to one server.
const DefaultPoolMaxConn = 1024

// Server is one "server" line.
type Server struct {
	Pos  config.Pos
	Name string
	Addr Addr
	ID   int
	// Template is the prefix of the "server-template" line the server
	// comes from, "" for a "server" line.
	Template string
	// ToDst: the server of "option transparent" (a backend without
	// servers), whose connections go to the client's destination.
	ToDst bool
	ServerOptions
}

// ACL is one "acl" line (several lines with the same name OR together).
type ACL struct {
	Pos   config.Pos
	Name  string
	Fetch string
	Args  []config.Word // flags, operator and patterns as written
}

// Cond is an "if"/"unless" condition in disjunctive normal form (CM 7.2).
type Cond struct {
	Pos    config.Pos
	Unless bool
	// Terms are ORed; the ACLs inside one term are ANDed.
	Terms [][]CondACL
}

// CondACL is one operand of a condition: a named ACL or an anonymous one.
type CondACL struct {
	Pos  config.Pos
	Neg  bool
	Name string // "" when anonymous
	Anon *ACL
}

// Rule is an http-request / http-response / tcp-request ... line.
type Rule struct {
	Pos     config.Pos
	Keyword string // http-request, tcp-request connection, ...
	Action  string // deny, set-header, track-sc0, set-var, ...
	// ActionArg is the text inside the action's parentheses, as in
	// "set-var(txn.host)" or "sc-inc-gpc(0,1)"; "" when there are none.
	ActionArg string
	Args      []config.Word
	Cond      *Cond
	// FromDefaults is set for rules inherited from a named defaults
	// section, which run before the proxy's own.
	FromDefaults bool
}

// UseBackend is a use_backend line.
type UseBackend struct {
	Pos     config.Pos
	Backend string
	Dynamic bool // name is a log-format expression
	Cond    *Cond
}

// StickTable is a "stick-table" line.
type StickTable struct {
	Pos  config.Pos
	Args []string
}

// Stats is the stats page of a proxy.
type Stats struct {
	Pos         config.Pos
	Enabled     bool
	URI         string
	Realm       string
	Auth        []string // user:password
	AdminConds  []*Cond
	HideVersion bool
	Refresh     time.Duration
	Rules       []*Rule
	// ShowNode and ShowDesc put the node name and description on the
	// page; Node and Desc override the global ones when given.
	ShowNode, ShowDesc bool
	Node, Desc         string
	ShowLegends        bool
	ShowModules        bool
	// Scopes limit the page to these proxies ("stats scope"; "." is the
	// proxy serving the page); none: all.
	Scopes []string
}

// Userlist is a userlist section.
type Userlist struct {
	Pos    config.Pos
	Name   string
	Users  []*User
	Groups map[string][]string
}

// User is one user of a userlist.
type User struct {
	Pos      config.Pos
	Name     string
	Password string
	Insecure bool
	Groups   []string
}

// HTTP connection modes (CM 4 "option http-keep-alive"), weakest first.
const (
	ConnKeepAlive   = "http-keep-alive"
	ConnServerClose = "http-server-close"
	ConnClose       = "httpclose"
)

// ConnMode returns the proxy's own HTTP connection mode. The three options
// exclude one another, so at most one is on (the last one written).
func (p *Proxy) ConnMode() string {
	switch {
	case p.Options[ConnClose]:
		return ConnClose
	case p.Options[ConnServerClose]:
		return ConnServerClose
	}
	return ConnKeepAlive
}

// EffectiveConnMode is the mode a transaction from frontend fe to backend
// be runs in: the stronger of the two wins (httpclose > http-server-close >
// http-keep-alive), whichever side sets it.
func EffectiveConnMode(fe, be *Proxy) string {
	rank := map[string]int{ConnKeepAlive: 0, ConnServerClose: 1, ConnClose: 2}
	a, b := fe.ConnMode(), be.ConnMode()
	if rank[b] > rank[a] {
		return b
	}
	return a
}
