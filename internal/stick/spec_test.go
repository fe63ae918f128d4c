package stick

import (
	"strings"
	"testing"
)

func TestParseTableSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
		warn string
	}{
		{"type ip size 1m expire 10s store http_req_rate(10s)", Spec{
			Type: KeyIP, Size: 1 << 20, Expire: 10000, SrvKey: "name",
			Store: []StoredData{{DTHTTPReqRate, 10000, 0}},
		}, ""},
		{"type string size 100 store gpc0,conn_rate(30s) store conn_cur", Spec{
			Type: KeyString, KeyLen: 32, Size: 100, SrvKey: "name",
			Store: []StoredData{{DTGPC0, 0, 0}, {DTConnRate, 30000, 0}, {DTConnCur, 0, 0}},
		}, ""},
		{"type binary len 6 size 2k nopurge expire 1d peers mypeers srvkey addr", Spec{
			Type: KeyBinary, KeyLen: 6, Size: 2048, Expire: 86400000, NoPurge: true,
			Peers: "mypeers", SrvKey: "addr",
		}, ""},
		{"type ipv6 size 1g expire 1500us", Spec{Type: KeyIPv6, Size: 1 << 30, Expire: 1, SrvKey: "name"}, ""},
		{"type integer size 10 expire 2147483647", Spec{Type: KeyInteger, Size: 10, Expire: 2147483647, SrvKey: "name"}, ""},
		{"type ip size 10 expire 0", Spec{Type: KeyIP, Size: 10, SrvKey: "name"}, ""},
		{"type ip size 10 store gpc0 store gpc0", Spec{Type: KeyIP, Size: 10, SrvKey: "name",
			Store: []StoredData{{DTGPC0, 0, 0}}}, "already defined data type 'gpc0'"},
		{"type ip size 10 nopurge", Spec{Type: KeyIP, Size: 10, NoPurge: true, SrvKey: "name"}, "without 'expire'"},
		{"type ip size 10 store gpc(3),gpc_rate(100,10s),gpt(1),server_name", Spec{
			Type: KeyIP, Size: 10, SrvKey: "name",
			Store: []StoredData{{DTGPC, 0, 3}, {DTGPCRate, 10000, 100}, {DTGPT, 0, 1}, {DTServerKey, 0, 0}},
		}, ""},
		// The arrays exclude only the legacy types they stand for.
		{"type ip size 10 store gpc(2),gpc0_rate(1s),gpt0", Spec{
			Type: KeyIP, Size: 10, SrvKey: "name",
			Store: []StoredData{{DTGPC, 0, 2}, {DTGPC0Rate, 1000, 0}, {DTGPT0, 0, 0}},
		}, ""},
		{"size 5 type string len 4 store http_fail_rate(1m),bytes_out_cnt", Spec{
			Type: KeyString, KeyLen: 4, Size: 5, SrvKey: "name",
			Store: []StoredData{{DTHTTPFailRate, 60000, 0}, {DTBytesOutCnt, 0, 0}},
		}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTableSpec(strings.Fields(tc.in))
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			warns := strings.Join(got.Warnings, "; ")
			got.Warnings = nil
			if tc.warn == "" && warns != "" || !strings.Contains(warns, tc.warn) {
				t.Errorf("warnings %q, want %q", warns, tc.warn)
			}
			if !specEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func specEqual(a, b Spec) bool {
	if len(a.Store) != len(b.Store) {
		return false
	}
	for i := range a.Store {
		if a.Store[i] != b.Store[i] {
			return false
		}
	}
	a.Store, b.Store = nil, nil
	a.Warnings, b.Warnings = nil, nil
	return a.Type == b.Type && a.KeyLen == b.KeyLen && a.Size == b.Size && a.Expire == b.Expire &&
		a.NoPurge == b.NoPurge && a.Peers == b.Peers && a.SrvKey == b.SrvKey
}

func TestParseTableSpecErrors(t *testing.T) {
	tests := []struct{ in, err string }{
		{"", "missing 'type'"},
		{"type ip", "missing 'size'"},
		{"size 10", "missing 'type'"},
		{"type", "missing argument after 'type'"},
		{"type ipv4 size 1", "unknown type 'ipv4'"},
		{"type ip size", "missing argument after 'size'"},
		{"type ip size 0", "must be at least 1"},
		{"type ip size 1kb", "unexpected character 'b'"},
		{"type ip size -1", "expected a number"},
		{"type ip size 4g", "too large"},
		{"type ip size 99999999999999999999", "too large"},
		{"type string len 0 size 1", "invalid length '0'"},
		{"type string len x size 1", "invalid length 'x'"},
		{"type string len", "missing argument after 'len'"},
		{"type ip len 4 size 1", "unknown argument 'len'"},
		{"type ip size 1 expire", "missing argument after 'expire'"},
		{"type ip size 1 expire 10x", "unexpected character 'x'"},
		{"type ip size 1 expire 1.5s", "unexpected character '.'"},
		{"type ip size 1 expire 25d", "timer overflow"},
		{"type ip size 1 expire 2147483648", "timer overflow"},
		{"type ip size 1 expire 500us", "timer underflow"},
		{"type ip size 1 store", "missing argument after 'store'"},
		{"type ip size 1 store foo", "unknown data type 'foo'"},
		{"type ip size 1 store http_req_rate", "missing argument to data type 'http_req_rate'"},
		{"type ip size 1 store http_req_rate()", "missing argument to data type 'http_req_rate'"},
		{"type ip size 1 store http_req_rate(0)", "must be at least 1 ms"},
		{"type ip size 1 store http_req_rate(10s", "missing closing parenthesis after store option 'http_req_rate'"},
		{"type ip size 1 store gpc0(1)", "unexpected argument to data type 'gpc0'"},
		{"type ip size 1 store gpc0,", "trailing comma"},
		{"type ip size 1 store gpc0)", "unexpected ')'"},
		{"type ip size 1 store conn_rate(1s)x", "unexpected characters after the argument"},
		{"type ip size 1 store gpc", "missing argument to data type 'gpc'"},
		{"type ip size 1 store gpc(0)", "out of allowed range (1-100) for data type 'gpc'"},
		{"type ip size 1 store gpt(101)", "out of allowed range (1-100) for data type 'gpt'"},
		{"type ip size 1 store gpc(x)", "out of allowed range"},
		{"type ip size 1 store gpc(2,10s)", "unexpected argument to data type 'gpc'"},
		{"type ip size 1 store gpc_rate(2)", "missing argument to data type 'gpc_rate'"},
		{"type ip size 1 store gpc_rate(2,0)", "must be at least 1 ms"},
		{"type ip size 1 store server_key(1)", "unexpected argument to data type 'server_key'"},
		{"type ip size 1 store gpc(2),gpc0", "simultaneous usage of 'gpc' and 'gpc[0/1]'"},
		{"type ip size 1 store gpc1 store gpc(1)", "simultaneous usage of 'gpc' and 'gpc[0/1]'"},
		{"type ip size 1 store gpt0,gpt(1)", "simultaneous usage of 'gpt' and 'gpt0'"},
		{"type ip size 1 store gpc_rate(3,1s),gpc1_rate(1s)", "simultaneous usage of 'gpc_rate' and 'gpc[0/1]_rate'"},
		{"type ip size 1 srvkey id", "unexpected value 'id' for 'srvkey'"},
		{"type ip size 1 write-to other", "unknown argument 'write-to'"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			_, err := ParseTableSpec(strings.Fields(tc.in))
			if err == nil {
				t.Fatalf("no error, want %q", tc.err)
			}
			if !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %q, want it to contain %q", err, tc.err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want uint32
	}{
		{"0", 0}, {"10", 10}, {"10ms", 10}, {"2000us", 2}, {"3s", 3000},
		{"2m", 120000}, {"1h", 3600000}, {"24d", 24 * 86400000},
	}
	for _, tc := range tests {
		got, err := parseTimeMs(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("parseTimeMs(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

func FuzzParseTableSpec(f *testing.F) {
	for _, s := range []string{
		"type ip size 1m expire 10s store http_req_rate(10s)",
		"type string len 8 size 2k nopurge store gpc0,gpc0_rate(1m),conn_cur",
		"type binary size 10 store bytes_in_rate(1s) store server_id",
		"type ip size 1 store gpc_rate(1,2s)",
		"type ip size 1 store gpc(3),gpt(100),server_key",
		"type ipv6 size 9g expire 99999999d",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		spec, err := ParseTableSpec(strings.Fields(in))
		if err != nil {
			return
		}
		if spec.Size == 0 || spec.Expire > MaxTimeMs {
			t.Fatalf("accepted invalid spec %+v", spec)
		}
		for _, sd := range spec.Store {
			if sd.Type.IsRate() != (sd.Period > 0) || sd.Period > MaxTimeMs ||
				sd.Type.IsArray() != (sd.Elems > 0) || sd.Elems > MaxArrayElems {
				t.Fatalf("bad store item %+v", sd)
			}
		}
		// A parsed spec must give a working table.
		spec.Size = min(spec.Size, 4)
		tab := New("fuzz", spec)
		r, err := tab.Track(StringKey("10"), 1)
		if err == nil {
			r.IncHTTPReq(2)
			r.Release(3)
		}
	})
}
