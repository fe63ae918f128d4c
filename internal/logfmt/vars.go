package logfmt

// Var is a log-format variable of the 2.6 manual's table (CM 8.2.6).
type Var uint8

// The variables, in the order of the manual's table.
const (
	VarNone     Var = iota
	VarGlobal       // %o
	VarBytesOut     // %B  bytes read from the server, sent to the client
	VarCapReqCookie
	VarCapResCookie
	VarHostname
	VarHTTPMethod
	VarHTTPPath  // %HP
	VarHTTPPathO // %HPO
	VarHTTPQuery // %HQ
	VarHTTPURI   // %HU
	VarHTTPVer   // %HV
	VarUniqueID  // %ID
	VarStatus    // %ST
	VarGMTDate   // %T
	VarTa
	VarTc
	VarTd
	VarLocalDate // %Tl
	VarTh
	VarTi
	VarTq
	VarTR
	VarTr
	VarTs
	VarTt
	VarTu
	VarTw
	VarBytesIn // %U
	VarActConn
	VarBackend
	VarBeConn
	VarBackendIP
	VarBackendPort
	VarBeQueue
	VarClientIP
	VarClientPort
	VarFrontend
	VarFeConn
	VarFrontendIP
	VarFrontendPort
	VarFrontendXprt // %ft
	VarLogCounter   // %lc
	VarHdrReq       // %hr
	VarHdrReqList   // %hrl
	VarHdrRes       // %hs
	VarHdrResList   // %hsl
	VarMs
	VarPid
	VarRequest // %r
	VarRetries
	VarReqCounter // %rt
	VarServer
	VarSrvConn
	VarServerIP
	VarServerPort
	VarSrvQueue
	VarSSLCiphers
	VarSSLVersion
	VarDate        // %t
	VarReqDate     // %tr
	VarReqDateGMT  // %trg
	VarReqDateLoc  // %trl
	VarTermState   // %ts
	VarTermCookies // %tsc
	numVars
)

type varDef struct {
	name string
	v    Var
	http bool // "H" in the manual: HTTP mode only
}

// varDefs is the manual's table. It is a function so that the table is
// immutable: each caller gets its own copy.
func varDefs() []varDef {
	return []varDef{
		{"o", VarGlobal, false}, {"B", VarBytesOut, false}, {"CC", VarCapReqCookie, true},
		{"CS", VarCapResCookie, true}, {"H", VarHostname, false}, {"HM", VarHTTPMethod, true},
		{"HP", VarHTTPPath, true}, {"HPO", VarHTTPPathO, true}, {"HQ", VarHTTPQuery, true},
		{"HU", VarHTTPURI, true}, {"HV", VarHTTPVer, true}, {"ID", VarUniqueID, false},
		{"ST", VarStatus, false}, {"T", VarGMTDate, false}, {"Ta", VarTa, true},
		{"Tc", VarTc, false}, {"Td", VarTd, false}, {"Tl", VarLocalDate, false},
		{"Th", VarTh, false}, {"Ti", VarTi, true}, {"Tq", VarTq, true}, {"TR", VarTR, true},
		{"Tr", VarTr, true}, {"Ts", VarTs, false}, {"Tt", VarTt, false}, {"Tu", VarTu, false},
		{"Tw", VarTw, false}, {"U", VarBytesIn, false}, {"ac", VarActConn, false},
		{"b", VarBackend, false}, {"bc", VarBeConn, false}, {"bi", VarBackendIP, false},
		{"bp", VarBackendPort, false}, {"bq", VarBeQueue, false}, {"ci", VarClientIP, false},
		{"cp", VarClientPort, false}, {"f", VarFrontend, false}, {"fc", VarFeConn, false},
		{"fi", VarFrontendIP, false}, {"fp", VarFrontendPort, false}, {"ft", VarFrontendXprt, false},
		{"lc", VarLogCounter, false}, {"hr", VarHdrReq, false}, {"hrl", VarHdrReqList, false},
		{"hs", VarHdrRes, false}, {"hsl", VarHdrResList, false}, {"ms", VarMs, false},
		{"pid", VarPid, false}, {"r", VarRequest, true}, {"rc", VarRetries, false},
		{"rt", VarReqCounter, false}, {"s", VarServer, false}, {"sc", VarSrvConn, false},
		{"si", VarServerIP, false}, {"sp", VarServerPort, false}, {"sq", VarSrvQueue, false},
		{"sslc", VarSSLCiphers, false}, {"sslv", VarSSLVersion, false}, {"t", VarDate, false},
		{"tr", VarReqDate, true}, {"trg", VarReqDateGMT, true}, {"trl", VarReqDateLoc, true},
		{"ts", VarTermState, false}, {"tsc", VarTermCookies, true},
	}
}

// LookupVar finds a variable by name (case-sensitive, as HAProxy).
func LookupVar(name string) (Var, bool) {
	for _, d := range varDefs() {
		if d.name == name {
			return d.v, true
		}
	}
	return VarNone, false
}

// Names returns every variable name of the table, for tests and docs.
func Names() []string {
	ds := varDefs()
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.name
	}
	return out
}

// HTTPOnly reports whether v is marked "H" (HTTP mode only).
func (v Var) HTTPOnly() bool {
	for _, d := range varDefs() {
		if d.v == v {
			return d.http
		}
	}
	return false
}

// The built-in formats, exactly as CM 8.2.2 to 8.2.4 declare them.
const (
	TCPLog   = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq"
	HTTPLog  = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r"
	HTTPSLog = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r " +
		"%[fc_err]/%[ssl_fc_err,hex]/%[ssl_c_err]/%[ssl_c_ca_err]/%[ssl_fc_is_resumed] %[ssl_fc_sni]/%sslv/%sslc"
	CLFLog = `%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl`
)
