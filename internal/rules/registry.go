package rules

import (
	"sort"

	"bulwark/internal/model"
)

// kindSet is a set of Kinds, one bit per Kind.
type kindSet uint8

const (
	reqOnly  = kindSet(1 << HTTPRequest)
	respOnly = kindSet(1 << HTTPResponse)
	after    = kindSet(1 << HTTPAfter)
	httpBoth = reqOnly | respOnly
	httpAll  = httpBoth | after
	tcpConn  = kindSet(1 << TCPConnection)
	tcpSess  = kindSet(1 << TCPSession)
	tcpCont  = kindSet(1 << TCPContent)
	tcpResp  = kindSet(1 << TCPResponse)
	tcpReq   = tcpConn | tcpSess | tcpCont
	tcpAll   = tcpReq | tcpResp
	allKinds = httpAll | tcpAll
	// trackSets are where track-sc* may run.
	trackSets = httpBoth | tcpReq
)

// actionDef is one action Bulwark runs: the rule lists it runs in and its
// compiler. Actions that HAProxy 2.6 knows (config.Actions) and that are
// not here are refused with "not supported", naming the action.
type actionDef struct {
	kinds   kindSet
	compile func(*compiler, *model.Rule) action
}

// registry is the one list of implemented actions; it is read-only.
var registry = map[string]actionDef{
	"allow":                {httpAll, compileAllow},
	"accept":               {tcpAll, compileAllow},
	"reject":               {reqOnly | tcpAll, compileReject},
	"close":                {tcpResp, compileClose},
	"deny":                 {httpBoth, compileReply},
	"return":               {httpBoth, compileReply},
	"tarpit":               {reqOnly, compileReply},
	"auth":                 {reqOnly, compileAuth},
	"redirect":             {httpBoth | kindSet(1<<Redirects), compileRedirect},
	"set-header":           {httpAll, compileSetHeader},
	"add-header":           {httpAll, compileSetHeader},
	"del-header":           {httpAll, compileDelHeader},
	"replace-header":       {httpAll, compileReplaceHeader},
	"replace-value":        {httpAll, compileReplaceHeader},
	"set-path":             {reqOnly, compileSetURI},
	"set-pathq":            {reqOnly, compileSetURI},
	"set-query":            {reqOnly, compileSetURI},
	"set-uri":              {reqOnly, compileSetURI},
	"replace-path":         {reqOnly, compileReplacePath},
	"replace-pathq":        {reqOnly, compileReplacePath},
	"replace-uri":          {reqOnly, compileReplacePath},
	"set-var":              {allKinds, compileSetVar},
	"set-var-fmt":          {allKinds, compileSetVarFmt},
	"unset-var":            {allKinds, compileUnsetVar},
	"track-sc0":            {trackSets | respOnly, compileTrack},
	"track-sc1":            {trackSets | respOnly, compileTrack},
	"track-sc2":            {trackSets | respOnly, compileTrack},
	"sc-inc-gpc":           {httpBoth | tcpAll, compileIncGPCIdx},
	"sc-inc-gpc0":          {httpBoth | tcpAll, compileIncGPC},
	"sc-inc-gpc1":          {httpBoth | tcpAll, compileIncGPC},
	"set-log-level":        {httpBoth | tcpCont | tcpResp, compileLogLevel},
	"sc-set-gpt":           {httpBoth | tcpAll, compileSetGPT},
	"sc-set-gpt0":          {httpBoth | tcpAll, compileSetGPT0},
	"silent-drop":          {httpBoth | tcpReq | tcpResp, compileSilentDrop},
	"set-nice":             {httpBoth | tcpCont | tcpResp, compileSockOpt},
	"set-mark":             {httpBoth | tcpReq | tcpResp, compileSockOpt},
	"set-tos":              {httpBoth | tcpReq | tcpResp, compileSockOpt},
	"capture":              {httpAll | tcpCont, compileCapture},
	"set-method":           {reqOnly, compileSetMethod},
	"set-timeout":          {reqOnly, compileSetTimeout},
	"wait-for-body":        {httpBoth, compileWaitForBody},
	"normalize-uri":        {reqOnly, compileNormalizeURI},
	"set-src":              {reqOnly | tcpReq, compileSetAddr},
	"set-dst":              {reqOnly | tcpReq, compileSetAddr},
	"set-src-port":         {reqOnly | tcpReq, compileSetAddr},
	"set-dst-port":         {reqOnly | tcpReq, compileSetAddr},
	"set-status":           {respOnly | after, compileSetStatus},
	"strict-mode":          {httpAll, compileStrictMode},
	"use-service":          {reqOnly | tcpCont, compileUseService},
	"cache-use":            {reqOnly, compileCache},
	"cache-store":          {respOnly, compileCache},
	"expect-proxy":         {kindSet(1 << TCPConnection), compileExpectProxy},
	"expect-netscaler-cip": {kindSet(1 << TCPConnection), compileExpectProxy},
	"do-resolve":           {reqOnly | kindSet(1<<TCPContent), compileDoResolve},
	"add-acl":              {httpBoth, compilePatAction},
	"del-acl":              {httpBoth, compilePatAction},
	"del-map":              {httpBoth, compilePatAction},
	"set-map":              {httpBoth, compilePatAction},
	"set-priority-class":   {reqOnly | tcpCont, compilePriority},
	"set-priority-offset":  {reqOnly | tcpCont, compilePriority},
	"disable-l7-retry":     {reqOnly, compileDisableL7Retry},
	"early-hint":           {reqOnly, compileEarlyHint},
	"wait-for-handshake":   {reqOnly, compileWaitForHandshake},
	"switch-mode":          {tcpCont, compileSwitchMode},
}

// Implemented returns, sorted, the actions Bulwark runs in a rule set
// ("http-request", "http-response", "tcp-request connection" or
// "tcp-request content"), for tests and documentation.
func Implemented(ruleset string) []string {
	k := Kind(255)
	for i, n := range kindNames {
		if n == ruleset {
			k = Kind(i)
		}
	}
	if k == 255 {
		return nil
	}
	var out []string
	for name, d := range registry {
		if d.kinds&(1<<k) != 0 {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
