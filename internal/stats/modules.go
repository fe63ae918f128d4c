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
