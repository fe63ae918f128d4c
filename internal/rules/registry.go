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
	httpBoth = reqOnly | respOnly
	tcpBoth  = kindSet(1<<TCPConnection | 1<<TCPContent)
	allKinds = httpBoth | tcpBoth
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
	"allow":          {httpBoth, compileAllow},
	"accept":         {tcpBoth, compileAllow},
	"reject":         {reqOnly | tcpBoth, compileReject},
	"deny":           {httpBoth, compileReply},
	"return":         {httpBoth, compileReply},
	"tarpit":         {reqOnly, compileReply},
	"auth":           {reqOnly, compileAuth},
	"redirect":       {reqOnly, compileRedirect},
	"set-header":     {httpBoth, compileSetHeader},
	"add-header":     {httpBoth, compileSetHeader},
	"del-header":     {httpBoth, compileDelHeader},
	"replace-header": {httpBoth, compileReplaceHeader},
	"replace-value":  {httpBoth, compileReplaceHeader},
	"set-path":       {reqOnly, compileSetURI},
	"set-pathq":      {reqOnly, compileSetURI},
	"set-query":      {reqOnly, compileSetURI},
	"set-uri":        {reqOnly, compileSetURI},
	"replace-path":   {reqOnly, compileReplacePath},
	"replace-pathq":  {reqOnly, compileReplacePath},
	"set-var":        {allKinds, compileSetVar},
	"set-var-fmt":    {allKinds, compileSetVarFmt},
	"unset-var":      {allKinds, compileUnsetVar},
	"track-sc0":      {allKinds, compileTrack},
	"track-sc1":      {allKinds, compileTrack},
	"track-sc2":      {allKinds, compileTrack},
	"sc-inc-gpc0":    {allKinds, compileIncGPC},
	"sc-inc-gpc1":    {allKinds, compileIncGPC},
	"set-log-level":  {httpBoth, compileLogLevel},
	"capture":        {reqOnly, compileCapture},
	"set-status":     {respOnly, compileSetStatus},
	"use-service":    {reqOnly, compileUseService},
	"cache-use":      {reqOnly, compileCache},
	"cache-store":    {respOnly, compileCache},
	"expect-proxy":   {kindSet(1 << TCPConnection), compileExpectProxy},
	"do-resolve":     {reqOnly | kindSet(1<<TCPContent), compileDoResolve},
}

// Implemented returns, sorted, the actions Bulwark runs in a rule set
// ("http-request", "http-response", "tcp-request connection" or
// "tcp-request content"), for tests and documentation.
func Implemented(ruleset string) []string {
	var k Kind
	switch ruleset {
	case "http-request":
		k = HTTPRequest
	case "http-response":
		k = HTTPResponse
	case "tcp-request connection":
		k = TCPConnection
	case "tcp-request content":
		k = TCPContent
	default:
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
