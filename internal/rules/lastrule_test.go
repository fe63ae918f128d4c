package rules_test

import (
	"testing"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/rules"
)

// lrTxn records the rule the lists report as last (last_rule_file/line).
type lrTxn struct {
	*txn
	pos config.Pos
}

func (t *lrTxn) SetLastRule(pos config.Pos)   { t.pos = pos }
func (t *lrTxn) LastRule() (config.Pos, bool) { return t.pos, t.pos.Line > 0 }

// CM 7.3.2 last_rule_file/last_rule_line: the rule that ended a content or
// HTTP rule list; non-final rules, tcp-request connection rules and
// legacy redirects leave it alone.
func TestLastRule(t *testing.T) {
	ev := mustSetup(t, head+ // lines 1-3
		" http-request set-var(txn.x) str(a)\n"+ // 4
		" http-request deny if { path /deny }\n"+ // 5
		" http-request allow if { path /allow }\n"+ // 6
		" http-request return status 200 if { path /ret }\n"+ // 7
		" http-response set-header x-lr \"%[last_rule_file]:%[last_rule_line]\"\n"+ // 8
		" http-response deny if { path /rdeny }\n"+ // 9
		" tcp-request connection accept\n") // 10
	for _, tc := range []struct {
		path     string
		reqLine  int // after the http-request rules
		respLine int // after the http-response rules
		hdr      string
	}{
		{"/", 0, 0, ""},
		{"/deny", 5, 5, "test.cfg:5"},
		{"/allow", 6, 6, "test.cfg:6"},
		{"/ret", 7, 7, "test.cfg:7"},
		{"/rdeny", 0, 9, ""},
	} {
		tx := &lrTxn{txn: newTxn()}
		tx.Tgt = tc.path
		ev.req.Run(&rules.Exec{E: acl.NewEval(tx), T: tx})
		if tx.pos.Line != tc.reqLine {
			t.Errorf("%s: after http-request, line %d, want %d", tc.path, tx.pos.Line, tc.reqLine)
		}
		if tc.reqLine > 0 && tx.pos.File != "test.cfg" {
			t.Errorf("%s: file %q", tc.path, tx.pos.File)
		}
		tx.Code = 200
		ev.resp.Run(&rules.Exec{E: acl.NewEval(tx), T: tx})
		if tx.pos.Line != tc.respLine {
			t.Errorf("%s: after http-response, line %d, want %d", tc.path, tx.pos.Line, tc.respLine)
		}
		if tc.hdr != "" {
			if got := hdr(tx.Resp, "x-lr"); len(got) != 1 || got[0] != tc.hdr {
				t.Errorf("%s: x-lr = %q, want %q", tc.path, got, tc.hdr)
			}
		}
	}
	// tcp-request connection runs before the stream exists: not recorded.
	tx := &lrTxn{txn: newTxn()}
	if r := ev.tcp.Run(&rules.Exec{E: acl.NewEval(tx), T: tx}); r.Verdict != rules.Accept || tx.pos.Line != 0 {
		t.Errorf("tcp-request connection: %v, line %d", r.Verdict, tx.pos.Line)
	}
}
