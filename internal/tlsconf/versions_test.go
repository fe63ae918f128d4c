package tlsconf

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestVersionRange(t *testing.T) {
	const v10, v11, v12, v13 = tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13
	tests := []struct {
		name     string
		line     map[string]string
		global   []string
		min, max uint16
		warn     string
		err      string
	}{
		{name: "default", min: v12, max: v13},
		{name: "min 1.3", line: map[string]string{"ssl-min-ver": "TLSv1.3"}, min: v13, max: v13},
		{name: "max 1.2", line: map[string]string{"ssl-max-ver": "TLSv1.2"}, min: v12, max: v12},
		{name: "no-tlsv12", line: map[string]string{"no-tlsv12": ""}, min: v13, max: v13},
		{name: "global no-tlsv13", global: []string{"no-tlsv13"}, min: v12, max: v12},
		{name: "global min line max", global: []string{"ssl-min-ver TLSv1.1"}, line: map[string]string{"ssl-max-ver": "TLSv1.2"},
			min: v11, max: v12, warn: "deprecated"},
		{name: "line min overrides global", global: []string{"ssl-min-ver TLSv1.3"}, line: map[string]string{"ssl-min-ver": "TLSv1.2"}, min: v12, max: v13},
		// Appendix: ssl-min-ver on the bind ignores global no-tlsv1x.
		{name: "min ignores global no", global: []string{"no-tlsv13"}, line: map[string]string{"ssl-min-ver": "TLSv1.2"},
			min: v12, max: v13, warn: "ignored"},
		{name: "hole", global: []string{"ssl-min-ver TLSv1.0"}, line: map[string]string{"no-tlsv11": ""}, min: 0x0301, max: 0x0304, warn: "ignored"},
		{name: "hole without min", line: map[string]string{"no-tlsv12": ""}, global: []string{}, min: 0x0304, max: 0x0304},
		{name: "force", line: map[string]string{"force-tlsv13": ""}, min: v13, max: v13},
		{name: "min 1.0", line: map[string]string{"ssl-min-ver": "TLSv1.0"}, min: v10, max: v13, warn: "RFC 8996"},
		{name: "sslv3 min", line: map[string]string{"ssl-min-ver": "SSLv3"}, min: v10, max: v13, warn: "SSLv3"},
		{name: "no-sslv3 harmless", global: []string{"no-sslv3", "no-tlsv10", "no-tlsv11"}, min: v12, max: v13},
		{name: "all off", line: map[string]string{"no-tlsv12": "", "no-tlsv13": ""}, err: "every TLS version"},
		{name: "min above max", line: map[string]string{"ssl-min-ver": "TLSv1.3", "ssl-max-ver": "TLSv1.2"}, err: "every TLS version"},
		{name: "bad", line: map[string]string{"ssl-min-ver": "TLSv9"}, err: "unknown"},
	}
	for _, tt := range tests {
		gv, _ := parseGlobalOptions(tt.global)
		minV, maxV, warns, err := versionRange(parseLineOptions(tt.line), gv, "bind")
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || minV != tt.min || maxV != tt.max {
			t.Errorf("%s: %s-%s err %v, want %s-%s", tt.name, versionName(minV), versionName(maxV), err, versionName(tt.min), versionName(tt.max))
		}
		if tt.warn != "" != anyContains(warns, tt.warn) || (tt.warn == "" && len(warns) > 0) {
			t.Errorf("%s: warnings %q, want %q", tt.name, warns, tt.warn)
		}
	}
}
