package config

import "testing"

// .if feature(BULWARK) is true in Bulwark (HAProxy takes an unknown
// feature as false), and the Bulwark-only keywords are registered.
func TestBulwarkFeatureAndKeywords(t *testing.T) {
	if ok, err := EvalCond([]string{"feature(BULWARK)"}, LexOptions{}); !ok || err != nil {
		t.Fatalf("feature(BULWARK) = %v, %v", ok, err)
	}
	ws, _ := lexOne(t, ".if feature(BULWARK)\nbulwark-acme-email a@b\n.else\nhaproxy-only\n.endif", LexOptions{})
	if len(ws) == 0 || ws[0].Text != "bulwark-acme-email" {
		t.Fatalf("the lexer kept %v", ws)
	}
	for _, k := range []string{"bulwark-acme-email", "bulwark-acme-storage", "bulwark-acme-directory", "bulwark-acme-challenge",
		"bulwark-abuse-http-errors", "bulwark-abuse-tls-failures", "bulwark-abuse-flaps", "bulwark-abuse-webhook"} {
		if !ValidInSection(KindGlobal, k) {
			t.Errorf("%s is not a global keyword", k)
		}
	}
	if n, ok := BindOptions["bulwark-acme"]; !ok || n != 1 {
		t.Errorf("bind option bulwark-acme: %d %v", n, ok)
	}
}
