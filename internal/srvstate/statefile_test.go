package srvstate

import (
	"strings"
	"testing"
	"time"
)

const haproxyState = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 s1 127.0.0.1 0 1 10 10 12 1 0 0 0 0 0 0 - 9001 - 0 0 - - 0
3 app 2 s2 127.0.0.1 2 8 10 10 5 1 0 2 0 0 0 0 - 9002 - 0 0 - - 0
3 app 3 s3 127.0.0.1 2 0 7 20 5 1 0 2 0 0 0 0 - 9003 - 0 0 - - 0
4 other 1 s4 127.0.0.1 0 0 1 1 3 8 2 0 6 0 0 0 - 1 - 0 0 - - 0
4 other 2 bad 127.0.0.1 9 0 1 1 3 8 2 0 6 0 0 0 - 1 - 0 0 - - 0
4 other 3 short 127.0.0.1 0
`

// A file as HAProxy 2.6 writes it parses field by field; a line with a
// bad field or too few fields is reported with its number and skipped.
func TestParseStateFile(t *testing.T) {
	f, errs := ParseStateFile(strings.NewReader(haproxyState))
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "line 7") || !strings.Contains(errs[0].Error(), "invalid srv_op_state value '9'") ||
		!strings.Contains(errs[1].Error(), "line 8") {
		t.Fatalf("errors %v", errs)
	}
	l, ok := f.Lookup("app", "s3")
	if !ok || l.UWeight != 7 || l.IWeight != 20 || l.Port != 9003 || l.BackendID != 3 || l.ServerID != 3 {
		t.Fatalf("app/s3 = %+v", l)
	}
	if _, ok := f.Lookup("other", "bad"); ok {
		t.Fatal("a bad line was kept")
	}
	// What is read is written back the same.
	want := strings.Split(haproxyState, "\n")[2]
	l, _ = f.Lookup("app", "s1")
	if l.String() != want {
		t.Fatalf("written back as\n%s\nwant\n%s", l.String(), want)
	}
	for _, bad := range []string{"", "2\n# cols\n", "one\n"} {
		if _, errs := ParseStateFile(strings.NewReader(bad)); len(errs) != 1 {
			t.Errorf("%q: %v, want one error", bad, errs)
		}
	}
}

// Restore follows HAProxy: maintenance and drain come back unless the
// configuration's own "disabled" changed, the user weight only when the
// configured weight is the saved one, and a checked server's operational
// state with its health counter.
func TestRestore(t *testing.T) {
	f, _ := ParseStateFile(strings.NewReader(haproxyState))
	now := time.Now()
	for _, tc := range []struct {
		srv    string
		cfg    Config
		status string
		weight int
	}{
		{"s1", Config{Weight: 10}, "MAINT", 10},
		{"s1", Config{Weight: 10, Disabled: true}, "MAINT", 10},
		{"s2", Config{Weight: 10}, "DRAIN", 10},
		{"s3", Config{Weight: 20}, "no check", 7},
		{"s3", Config{Weight: 30}, "no check", 30}, // the configuration changed the weight: it wins
	} {
		s := New(tc.cfg)
		l, _ := f.Lookup("app", tc.srv)
		_, after := s.Restore(l, now)
		if after.Status() != tc.status || after.Weight != tc.weight {
			t.Errorf("%s with %+v: %s weight %d, want %s weight %d", tc.srv, tc.cfg, after.Status(), after.Weight, tc.status, tc.weight)
		}
	}
	s := New(Config{Weight: 1, Checked: true, Rise: 2, Fall: 3})
	l, _ := f.Lookup("other", "s4")
	_, after := s.Restore(l, now)
	if after.Op != Stopped || after.Health != 0 || after.Check.Status != CheckL4CON {
		t.Errorf("checked DOWN server restored as %+v", after)
	}
	if d := now.Sub(after.LastChange); d < 2*time.Second || d > 4*time.Second {
		t.Errorf("last change %v ago, want 3s", d)
	}
}

func FuzzParseStateFile(f *testing.F) {
	f.Add(haproxyState)
	f.Add("1\n")
	f.Add("1\n3 app 1 s1 - 0 1 10 10 12 1 0 0 0 0 0 0 - 9001 - 0 0 - - 0 extra\n")
	f.Fuzz(func(t *testing.T, s string) {
		sf, _ := ParseStateFile(strings.NewReader(s))
		for _, l := range sf {
			if _, errs := ParseStateFile(strings.NewReader("1\n" + l.String() + "\n")); len(errs) != 0 {
				t.Fatalf("line %q written back does not parse: %v", l.String(), errs)
			}
		}
	})
}
