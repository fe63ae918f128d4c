package rules_test

import (
	"fmt"
	"strings"
	"testing"

	"bulwark/internal/acl"
	"bulwark/internal/rules"
)

// The new actions' arguments are checked with HAProxy 2.6's words.
func TestStreamActionErrors(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"http-request set-map(x.map) %[path]", "expects exactly 2 arguments"},
		{"http-request add-acl(x.acl)", "expects exactly 1 arguments"},
		{"http-response del-map(x.map)", "expects exactly 1 arguments"},
		{"http-request set-priority-class", "missing fetch method"},
		{"http-request set-priority-offset nosuchfetch", "nosuchfetch"},
		{"http-request early-hint Link", "expects exactly 2 arguments"},
		{"http-request wait-for-handshake x", "unexpected argument 'x'"},
		{"http-request disable-l7-retry x", "unexpected argument 'x'"},
		{"http-response capture res.hdr(x)", "expects <expression> id <idx>"},
		{"http-response capture res.hdr(x) len 2", "expects 'id', found 'len'"},
		{"http-response capture res.hdr(x) id a", "cannot parse id 'a'"},
		{"http-response capture res.hdr(x) id 1", "unable to find capture id '1' referenced by http-response capture rule"},
		{"http-request set-map(x.map) %[path] %[src]", ""},
		{"http-request early-hint Link </a.css>", ""},
		{"http-response capture res.hdr(x) id 0", ""},
	} {
		_, ds := setup(t, head+" declare capture response len 4\n "+tc.line+"\n")
		got := fmt.Sprint(ds)
		if tc.want == "" && ds.HasAlerts() || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

// prioTxn records the priority set-priority-* set.
type prioTxn struct {
	*txn
	class, offset int64
}

func (p *prioTxn) SetPriority(offset bool, v int64) {
	if offset {
		p.offset = v
	} else {
		p.class = v
	}
}

// CM 4.2: results outside -2047..2047 and -524287..524287 are truncated;
// a sample that cannot be had leaves the priority as it was.
func TestSetPriorityTruncates(t *testing.T) {
	ev := mustSetup(t, head+
		" http-request set-priority-class int(3000)\n"+
		" http-request set-priority-offset int(-600000)\n"+
		" http-request set-priority-class req.hdr(x-none)\n"+
		" http-request set-priority-offset str(12)\n")
	tx := &prioTxn{txn: newTxn()}
	ev.req.Run(&rules.Exec{E: acl.NewEval(tx), T: tx})
	if tx.class != 2047 || tx.offset != 12 {
		t.Fatalf("class %d offset %d, want 2047 and 12", tx.class, tx.offset)
	}
	tx = &prioTxn{txn: newTxn()}
	ev2 := mustSetup(t, head+" http-request set-priority-offset int(-600000)\n")
	ev2.req.Run(&rules.Exec{E: acl.NewEval(tx), T: tx})
	if tx.offset != -524287 {
		t.Fatalf("offset %d, want -524287", tx.offset)
	}
}
