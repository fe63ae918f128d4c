package stats

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Info is the process information of "show info" and the top of the page.
type Info struct {
	Name, Version, ReleaseDate string
	Nbthread                   int
	Pid                        int
	Start                      time.Time
	Now                        time.Time
	UlimitN, Maxsock           int64
	Maxconn, HardMaxconn       int64
	CurrConns, CumConns        int64
	CumReq                     int64
	ConnRate, ConnRateLimit    int64
	MaxConnRate                int64
	SessRate, SessRateLimit    int64
	MaxSessRate                int64
	Node, Description          string
	Stopping                   bool
	Jobs, Listeners            int64
	TotalBytesOut              int64
	// MaxPipes and PipesUsed are the splicing pipes' bound ("maxpipes",
	// 0 without) and how many transfers hold one.
	MaxPipes, PipesUsed int64
	Tasks               int64 // goroutines: the closest thing to HAProxy's tasks
	// The TLS counters (MG 9.3 "show info"): connections, sessions per
	// second, full handshakes ("key rate") per second on each side, and
	// the share of resumed client sessions.
	MaxSslConns, CurrSslConns, CumSslConns    int64
	SslRate, SslRateLimit, MaxSslRate         int64
	SslFrontendKeyRate, SslFrontendMaxKeyRate int64
	SslFrontendSessionReuse                   int64
	SslBackendKeyRate, SslBackendMaxKeyRate   int64
	SslCacheLookups, SslCacheMisses           int64
	// DroppedLogs adds up the log targets' lost lines. (HAProxy's
	// CumRecvLogs counts lines received by log-forward sections, which
	// Bulwark does not have: it stays 0.)
	DroppedLogs int64
	// PoolAlloc and PoolUsed are the Go heap's bytes in spans and in
	// live objects: Bulwark's memory is the Go allocator's, not pools.
	PoolAlloc, PoolUsed int64
	RunQueue            int64 // runnable goroutines
	IdlePct             int64 // of the process's CPU capacity, over the last sample
	BytesOutRate        int64 // bytes sent to clients over the last second
}

// InfoItem is one "show info" line: HAProxy's position and name (tools
// read "show info typed" by position), tags and type as in Field.
type InfoItem struct {
	Pos   int
	Field Field
	Value Value
}

// Uptime is HAProxy's "0d 0h00m10s".
func Uptime(d time.Duration) string {
	s := int64(d.Seconds())
	return fmt.Sprintf("%dd %dh%02dm%02ds", s/86400, s%86400/3600, s%3600/60, s%60)
}

// Items lists HAProxy 2.6's fields at its positions, in its order (the
// zlib memory fields, which HAProxy prints only when built with zlib
// rather than libslz, are not). The limits and counters of features
// Bulwark does not have (memory limit, free pipes: a splice's pipe is closed when it ends, peers, busy polling, debug
// commands, log reception, compression rates, spliced bytes, the
// do-resolve name failures of FailedResolutions) are the zeros they truly
// are, so that tools reading fixed positions find them.
func (in *Info) Items() []InfoItem {
	up := in.Now.Sub(in.Start)
	var out []InfoItem
	add := func(p int, name, tags, typ string, v Value) {
		out = append(out, InfoItem{p, Field{name, tags, typ}, v})
	}
	str := func(s string) Value { return Value{Set: true, IsStr: true, S: s} }
	num := func(n int64) Value { return Value{Set: true, N: n} }
	add(0, "Name", "POS", "str", str(in.Name))
	add(1, "Version", "POS", "str", str(in.Version))
	add(2, "Release_date", "POS", "str", str(in.ReleaseDate))
	add(3, "Nbthread", "CGS", "u32", num(int64(in.Nbthread)))
	add(4, "Nbproc", "CGS", "u32", num(1))
	add(5, "Process_num", "KGP", "u32", num(1))
	add(6, "Pid", "SGP", "u32", num(int64(in.Pid)))
	add(7, "Uptime", "MDP", "str", str(Uptime(up)))
	add(8, "Uptime_sec", "MDP", "u32", num(int64(up.Seconds())))
	add(9, "Memmax_MB", "CLP", "u32", num(0))
	add(10, "PoolAlloc_MB", "MGP", "u32", num(in.PoolAlloc/(1<<20)))
	add(11, "PoolUsed_MB", "MGP", "u32", num(in.PoolUsed/(1<<20)))
	add(12, "PoolFailed", "MCP", "u32", num(0))
	add(13, "Ulimit-n", "CLP", "u32", num(in.UlimitN))
	add(14, "Maxsock", "CLP", "u32", num(in.Maxsock))
	add(15, "Maxconn", "CLP", "u32", num(in.Maxconn))
	add(16, "Hard_maxconn", "CLP", "u32", num(in.HardMaxconn))
	add(17, "CurrConns", "MGP", "u32", num(in.CurrConns))
	add(18, "CumConns", "MCP", "u32", num(in.CumConns))
	add(19, "CumReq", "MCP", "u32", num(in.CumReq))
	add(20, "MaxSslConns", "MMP", "u32", num(in.MaxSslConns))
	add(21, "CurrSslConns", "MGP", "u32", num(in.CurrSslConns))
	add(22, "CumSslConns", "MCP", "u32", num(in.CumSslConns))
	add(23, "Maxpipes", "CLP", "u32", num(in.MaxPipes))
	add(24, "PipesUsed", "MGP", "u32", num(in.PipesUsed))
	add(25, "PipesFree", "MGP", "u32", num(0))
	add(26, "ConnRate", "MRP", "u32", num(in.ConnRate))
	add(27, "ConnRateLimit", "CLP", "u32", num(in.ConnRateLimit))
	add(28, "MaxConnRate", "MMP", "u32", num(in.MaxConnRate))
	add(29, "SessRate", "MRP", "u32", num(in.SessRate))
	add(30, "SessRateLimit", "CLP", "u32", num(in.SessRateLimit))
	add(31, "MaxSessRate", "MRP", "u32", num(in.MaxSessRate))
	add(32, "SslRate", "MRP", "u32", num(in.SslRate))
	add(33, "SslRateLimit", "CLP", "u32", num(in.SslRateLimit))
	add(34, "MaxSslRate", "MMP", "u32", num(in.MaxSslRate))
	add(35, "SslFrontendKeyRate", "MGP", "u32", num(in.SslFrontendKeyRate))
	add(36, "SslFrontendMaxKeyRate", "MMP", "u32", num(in.SslFrontendMaxKeyRate))
	add(37, "SslFrontendSessionReuse_pct", "MGP", "u32", num(in.SslFrontendSessionReuse))
	add(38, "SslBackendKeyRate", "MRP", "u32", num(in.SslBackendKeyRate))
	add(39, "SslBackendMaxKeyRate", "MMP", "u32", num(in.SslBackendMaxKeyRate))
	add(40, "SslCacheLookups", "MCP", "u32", num(in.SslCacheLookups))
	add(41, "SslCacheMisses", "MCP", "u32", num(in.SslCacheMisses))
	add(42, "CompressBpsIn", "MRP", "u32", num(0))
	add(43, "CompressBpsOut", "MRP", "u32", num(0))
	add(44, "CompressBpsRateLim", "CLP", "u32", num(0))
	add(47, "Tasks", "MGP", "u32", num(in.Tasks))
	add(48, "Run_queue", "MGP", "u32", num(in.RunQueue))
	add(49, "Idle_pct", "MaP", "u32", num(in.IdlePct))
	add(50, "node", "COS", "str", str(in.Node))
	if in.Description != "" {
		add(51, "description", "COS", "str", str(in.Description))
	}
	add(52, "Stopping", "MGP", "u32", num(b2i(in.Stopping)))
	add(53, "Jobs", "MGP", "u32", num(in.Jobs))
	add(54, "Unstoppable Jobs", "MGP", "u32", num(0))
	add(55, "Listeners", "MGP", "u32", num(in.Listeners))
	add(56, "ActivePeers", "MGP", "u32", num(0))
	add(57, "ConnectedPeers", "MGP", "u32", num(0))
	add(58, "DroppedLogs", "MGP", "u32", num(in.DroppedLogs))
	add(59, "BusyPolling", "MGP", "u32", num(0))
	add(60, "FailedResolutions", "MGP", "u32", num(0))
	add(61, "TotalBytesOut", "MGP", "u64", num(in.TotalBytesOut))
	add(62, "TotalSplicdedBytesOut", "MGP", "u64", num(0))
	add(63, "BytesOutRate", "MRP", "u64", num(in.BytesOutRate))
	add(64, "DebugCommandsIssued", "MGP", "u32", num(0))
	add(65, "CumRecvLogs", "MCP", "u32", num(0))
	add(66, "Build info", "POS", "str", str(in.Version))
	add(67, "Memmax_bytes", "CLP", "u32", num(0))
	add(68, "PoolAlloc_bytes", "MGP", "u64", num(in.PoolAlloc))
	add(69, "PoolUsed_bytes", "MGP", "u64", num(in.PoolUsed))
	add(70, "Start_time_sec", "MDP", "u32", num(in.Start.Unix()))
	add(71, "Tainted", "SGP", "str", str("0"))
	return out
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// WriteInfo writes "show info" in its plain, typed or json form.
func WriteInfo(w io.Writer, in *Info, format string) error {
	var b strings.Builder
	items := in.Items()
	switch format {
	case "typed":
		for _, it := range items {
			fmt.Fprintf(&b, "%d.%s.1:%s:%s:%s\n", it.Pos, it.Field.Name, it.Field.Tags, it.Field.Type, oneLine(it.Value.String()))
		}
	case "json":
		type item struct {
			Field      jsonField `json:"field"`
			ProcessNum int       `json:"processNum"`
			Tags       jsonTags  `json:"tags"`
			Value      jsonValue `json:"value"`
		}
		out := make([]item, len(items))
		for i, it := range items {
			out[i] = item{jsonField{it.Pos, it.Field.Name}, 1, tagsOf(it.Field), valueOf(it.Field, it.Value)}
		}
		j, err := json.Marshal(out)
		if err != nil {
			return err
		}
		b.Write(j)
		b.WriteByte('\n')
	default:
		for _, it := range items {
			fmt.Fprintf(&b, "%s: %s\n", it.Field.Name, oneLine(it.Value.String()))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// SchemaJSON is "show schema json": the JSON schema of the json forms of
// "show info" and "show stat" (MG 9.3), written from the structure those
// writers produce.
const SchemaJSON = `{"$schema":"http://json-schema.org/draft-04/schema#","oneOf":[` +
	`{"title":"Info","type":"array","items":{"title":"InfoItem","type":"object","properties":{"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},"required":["field","processNum","tags","value"]}},` +
	`{"title":"Stat","type":"array","items":{"title":"StatLine","type":"array","items":{"title":"StatItem","type":"object","properties":{"objType":{"enum":["Frontend","Backend","Listener","Server","Unknown"]},"proxyId":{"type":"integer","minimum":0},"id":{"type":"integer","minimum":0},"field":{"$ref":"#/definitions/field"},"processNum":{"$ref":"#/definitions/processNum"},"tags":{"$ref":"#/definitions/tags"},"value":{"$ref":"#/definitions/typedValue"}},"required":["objType","proxyId","id","field","processNum","tags","value"]}}},` +
	`{"title":"Error","type":"object","properties":{"errorStr":{"type":"string"}},"required":["errorStr"]}],` +
	`"definitions":{"field":{"type":"object","properties":{"pos":{"type":"integer","minimum":0},"name":{"type":"string"}},"required":["pos","name"]},` +
	`"processNum":{"type":"integer","minimum":1},` +
	`"tags":{"type":"object","properties":{"origin":{"type":"string","enum":["Metric","Status","Key","Config","Product","Unknown"]},"nature":{"type":"string","enum":["Gauge","Limit","Min","Max","Rate","Counter","Duration","Age","Time","Name","Output","Avg","Unknown"]},"scope":{"type":"string","enum":["Cluster","Process","Service","System","Unknown"]}},"required":["origin","nature","scope"]},` +
	`"typedValue":{"type":"object","oneOf":[{"properties":{"type":{"type":"string","enum":["s32","s64","u32","u64"]},"value":{"type":"integer"}},"required":["type","value"]},{"properties":{"type":{"type":"string","enum":["str"]},"value":{"type":"string"}},"required":["type","value"]}]}}}
`
