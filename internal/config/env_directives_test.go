package config

import (
	"strings"
	"testing"
)

// setenv, presetenv, unsetenv and resetenv in global change what "${NAME}"
// gives on the lines after them, as HAProxy applies them while reading.
func TestEnvDirectivesSeenByLaterLines(t *testing.T) {
	env := map[string]string{"KEEP": "k", "PRE": "from-env", "GONE": "g"}
	opt := LexOptions{Env: func(n string) (string, bool) { v, ok := env[n]; return v, ok }}
	src := `global
    x "${A}"
    setenv A one
    x "${A}"
    presetenv PRE other
    presetenv NEW fresh
    x "${PRE}" "${NEW}"
    unsetenv GONE
    x "${GONE-unset}"
    resetenv KEEP A
    x "${KEEP}" "${A}" "${PRE-unset}"
frontend f
    setenv A two
    x "${A}"
`
	lines, ds := Lex("t.cfg", []byte(src), opt)
	if ds.HasAlerts() {
		t.Fatal(ds)
	}
	var got []string
	for _, l := range lines {
		if l.Words[0].Text == "x" {
			var ws []string
			for _, w := range l.Words[1:] {
				ws = append(ws, w.Text)
			}
			got = append(got, strings.Join(ws, ","))
		}
	}
	want := []string{"", "one", "from-env,fresh", "unset", "k,one,unset", "one"}
	if strings.Join(got, " | ") != strings.Join(want, " | ") {
		t.Fatalf("expansions %q, want %q", got, want)
	}
}
