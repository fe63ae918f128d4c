package stats

// HAProxy 2.6's stats modules: the columns after the "-" of "show stat"
// (CSV, typed and JSON, always shown on the CLI), in its order: ssl,
// h2, h1. Their positions in typed and JSON output follow the standard
// fields.

// moduleBase is the position of the first module field.
var moduleBase = len(Fields)

// ModuleFields are the module columns, in HAProxy's order.
var ModuleFields = parseFields(`ssl_sess MCP u64|ssl_reused_sess MCP u64|ssl_failed_handshake MCP u64|
h2_headers_rcvd MCP u64|h2_data_rcvd MCP u64|h2_settings_rcvd MCP u64|h2_rst_stream_rcvd MCP u64|h2_goaway_rcvd MCP u64|
h2_detected_conn_protocol_errors MCP u64|h2_detected_strm_protocol_errors MCP u64|h2_rst_stream_resp MCP u64|
h2_goaway_resp MCP u64|h2_open_connections MGP u64|h2_backend_open_streams MGP u64|h2_total_connections MCP u64|
h2_backend_total_streams MCP u64|
h1_open_connections MGP u64|h1_open_streams MGP u64|h1_total_connections MCP u64|h1_total_streams MCP u64|
h1_bytes_in MCP u64|h1_bytes_out MCP u64|h1_spliced_bytes_in MCP u64|h1_spliced_bytes_out MCP u64`)

// h1First is the position of h1_open_connections in ModuleFields.
const h1First = 16

// A Module is one stats module: its name, its columns in ModuleFields
// (from First, N of them) with what each one counts, as HAProxy's page
// describes them, and whether servers have it.
type Module struct {
	Name     string
	First, N int
	Desc     []string
	Servers  bool
}

// Modules are HAProxy 2.6's stats modules, in its order.
var Modules = []Module{
	{Name: "ssl", First: 0, N: 3, Servers: true, Desc: []string{"Total number of ssl sessions established",
		"Total number of ssl sessions reused", "Total number of failed handshake"}},
	{Name: "h2", First: 3, N: 13, Desc: []string{"Total number of received HEADERS frames", "Total number of received DATA frames",
		"Total number of received SETTINGS frames", "Total number of received RST_STREAM frames",
		"Total number of received GOAWAY frames", "Total number of connection protocol errors",
		"Total number of stream protocol errors", "Total number of RST_STREAM sent on detected error",
		"Total number of GOAWAY sent on detected error", "Count of currently open connections",
		"Count of currently open streams", "Total number of connections", "Total number of streams"}},
	{Name: "h1", First: h1First, N: 8, Desc: []string{"Count of currently open connections", "Count of currently open streams",
		"Total number of connections", "Total number of streams", "Total number of bytes received",
		"Total number of bytes sent", "Total number of bytes received using kernel splicing",
		"Total number of bytes sent using kernel splicing"}},
}

// ModuleValues are the module cells of a row. Servers have the ssl
// module's alone, as in HAProxy.
func (r *Row) ModuleValues() []Value {
	v := make([]Value, len(ModuleFields))
	n := func(i int, x int64) { v[i] = Value{Set: true, N: x} }
	last := h1First
	if r.Type != TypeServer {
		last = len(ModuleFields)
	}
	for i := 0; i < last; i++ {
		n(i, 0)
	}
	n(0, r.SSL.Sess)
	n(1, r.SSL.Reused)
	n(2, r.SSL.Failed)
	if r.Type == TypeServer {
		return v
	}
	for i, x := range r.H2 {
		n(3+i, x)
	}
	h := r.H1
	for i, x := range []int64{h.OpenConns, h.OpenStreams, h.TotalConns, h.TotalStreams, h.BytesIn, h.BytesOut, h.SplicedIn, h.SplicedOut} {
		n(h1First+i, x)
	}
	return v
}
