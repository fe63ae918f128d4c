package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const validCfg = `defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s

frontend fe
    bind 127.0.0.1:8080
    default_backend be

backend be
    server s1 127.0.0.1:9000
`

// noTimeoutsCfg is valid but draws HAProxy's missing-timeouts warnings.
const noTimeoutsCfg = `frontend fe
    mode http
    bind 127.0.0.1:8080
    default_backend be

backend be
    mode http
    server s1 127.0.0.1:9000
`

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runMain(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = Main(args, &o, &e)
	return code, o.String(), e.String()
}

var alertLine = regexp.MustCompile(`^\[ALERT\] +\(bulwark\) : config : parsing \[([^\]]+):([0-9]+)\] : `)

// alertLines returns "file:line" for every positioned alert in out.
func alertLines(out string) []string {
	var got []string
	for _, ln := range strings.Split(out, "\n") {
		if m := alertLine.FindStringSubmatch(ln); m != nil {
			got = append(got, filepath.Base(m[1])+":"+m[2])
		}
	}
	return got
}

func TestCheckExitCodes(t *testing.T) {
	dir := t.TempDir()
	valid := writeFile(t, dir, "valid.cfg", validCfg)
	warn := writeFile(t, dir, "warn.cfg", noTimeoutsCfg)
	zero := writeFile(t, dir, "zero.cfg", "global\n    zero-warning\n\n"+noTimeoutsCfg)
	nolisten := writeFile(t, dir, "nolisten.cfg", "backend be\n    server s1 127.0.0.1:9000\n")
	// HAProxy 2.6 -c: a stats socket is a listener (exit 0, not 2).
	sockonly := writeFile(t, dir, "sockonly.cfg", "global\n    stats socket "+filepath.Join(dir, "s.sock")+" level admin mode 600\nbackend be\n    server s1 127.0.0.1:9000\n")
	bad := writeFile(t, dir, "bad.cfg", strings.Replace(validCfg, "    default_backend be\n",
		"    default_backend be\n    bogus-keyword 1\n    timeout client 5x\n", 1))
	tests := []struct {
		name       string
		args       []string
		code       int
		stdout     string // substring; "" means stdout must be empty
		stderrHas  []string
		alertsWant []string
	}{
		{"valid", []string{"-c", "-f", valid}, 0, "Configuration file is valid", nil, nil},
		{"valid quiet", []string{"-c", "-q", "-f", valid}, 0, "", nil, nil},
		{"warnings only", []string{"-c", "-f", warn}, 0, "Configuration file is valid", []string{"[WARNING]", "missing timeouts"}, nil},
		{"warnings quiet", []string{"-c", "-q", "-f", warn}, 0, "", nil, nil},
		{"strict makes warnings fatal", []string{"-c", "--strict", "-f", warn}, 1, "", []string{"zero-warning"}, nil},
		{"zero-warning makes warnings fatal", []string{"-c", "-f", zero}, 1, "", []string{"zero-warning"}, nil},
		{"no listener", []string{"-c", "-f", nolisten}, 2, "no listener", nil, nil},
		{"stats socket listens", []string{"-c", "-f", sockonly}, 0, "Configuration file is valid", nil, nil},
		{"every error", []string{"-c", "-f", bad}, 1, "", []string{"Fatal errors found in configuration.", "Error(s) found in configuration file : " + bad},
			[]string{"bad.cfg:10", "bad.cfg:11"}},
		{"no file", []string{"-c"}, 1, "", []string{"No configuration file"}, nil},
		{"missing file", []string{"-c", "-f", filepath.Join(dir, "nope.cfg")}, 1, "", []string{"nope.cfg"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.stdout == "" && out != "" {
				t.Errorf("stdout should be empty, got %q", out)
			}
			if tc.stdout != "" && !strings.Contains(out, tc.stdout) {
				t.Errorf("stdout %q does not contain %q", out, tc.stdout)
			}
			for _, s := range tc.stderrHas {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr does not contain %q:\n%s", s, errOut)
				}
			}
			if tc.alertsWant != nil {
				if got := alertLines(errOut); strings.Join(got, " ") != strings.Join(tc.alertsWant, " ") {
					t.Errorf("positioned alerts %q, want %q\n%s", got, tc.alertsWant, errOut)
				}
			}
		})
	}
}

func TestQuietStillPrintsAlerts(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.cfg", validCfg+"    weight-typo 1\n")
	code, out, errOut := runMain("-c", "-q", "-f", bad)
	if code != 1 || out != "" || len(alertLines(errOut)) != 1 {
		t.Errorf("exit %d stdout %q stderr %q; want exit 1, no stdout, one positioned alert", code, out, errOut)
	}
}

// TestEachFileStartsSection checks that a second -f file cannot continue the
// section the first one ended in.
func TestEachFileStartsSection(t *testing.T) {
	dir := t.TempDir()
	a := writeFile(t, dir, "a.cfg", validCfg)
	b := writeFile(t, dir, "b.cfg", "    server s2 127.0.0.1:9001\n")
	code, _, errOut := runMain("-c", "-f", a, "-f", b)
	if code != 1 || !strings.Contains(errOut, "out of section") {
		t.Errorf("exit %d, want 1 with 'out of section':\n%s", code, errOut)
	}
	if got := alertLines(errOut); len(got) != 1 || got[0] != "b.cfg:1" {
		t.Errorf("alerts at %q, want [b.cfg:1]", got)
	}
	// Split across two files with proper sections, the same content is valid.
	b2 := writeFile(t, dir, "b2.cfg", "backend be2\n    server s2 127.0.0.1:9001\n")
	if code, out, errOut := runMain("-c", "-f", a, "-f", b2); code != 0 {
		t.Errorf("two valid files: exit %d\n%s%s", code, out, errOut)
	}
}

func TestDirectoryArgument(t *testing.T) {
	dir := t.TempDir()
	cfgs := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(cfgs, 0o755); err != nil {
		t.Fatal(err)
	}
	// Files are read in lexical order: each of these has one error, so the
	// alerts come out in that order.
	writeFile(t, cfgs, "20-frontend.cfg", "frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\n    typo-b 1\n")
	writeFile(t, cfgs, "10-defaults.cfg", "defaults\n    mode http\n    timeout connect 5s\n    timeout client 5s\n    timeout server 5s\n    typo-a 1\n")
	writeFile(t, cfgs, "30-backend.cfg", "backend be\n    server s1 127.0.0.1:9000\n    typo-c 1\n")
	// Neither a dotfile nor a non-.cfg file is read: both would fail.
	writeFile(t, cfgs, ".hidden.cfg", "this is not a configuration\n")
	writeFile(t, cfgs, "notes.txt", "neither is this\n")
	if err := os.Mkdir(filepath.Join(cfgs, "sub.cfg"), 0o755); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runMain("-c", "-f", cfgs)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, errOut)
	}
	want := []string{"10-defaults.cfg:6", "20-frontend.cfg:4", "30-backend.cfg:3"}
	if got := alertLines(errOut); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("alerts %q, want %q\n%s", got, want, errOut)
	}
	// Without the typos the directory is one valid configuration.
	for _, n := range []string{"10-defaults.cfg", "20-frontend.cfg", "30-backend.cfg"} {
		p := filepath.Join(cfgs, n)
		b, _ := os.ReadFile(p)
		fixed := regexp.MustCompile(`(?m)^    typo-.*\n`).ReplaceAll(b, nil)
		if err := os.WriteFile(p, fixed, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, out, errOut := runMain("-c", "-f", cfgs); code != 0 || !strings.Contains(out, "Configuration file is valid") {
		t.Errorf("fixed directory: exit %d\n%s%s", code, out, errOut)
	}
}

func TestFlags(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{"unknown flag", []string{"-c", "--frobnicate"}, 1, nil, []string{"unknown option '--frobnicate'"}},
		{"stray argument", []string{"-c", "haproxy.cfg"}, 1, nil, []string{"unexpected argument 'haproxy.cfg'"}},
		{"-f without value", []string{"-c", "-f"}, 1, nil, []string{"'-f' expects an argument"}},
		{"-v", []string{"-v"}, 0, []string{"Bulwark version " + Version, "HAProxy " + HAProxyCompat}, nil},
		{"-vv", []string{"-vv"}, 0, []string{"Bulwark version", "Running on:", "Feature list :", "+BULWARK", "RSA certificate signatures : "}, nil},
		{"help", []string{"-h"}, 0, []string{"Usage: bulwark"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runMain(tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errOut)
				}
			}
		})
	}
	// -v prints one line; -vv more.
	_, v1, _ := runMain("-v")
	_, v2, _ := runMain("-vv")
	if strings.Count(v1, "\n") != 1 || strings.Count(v2, "\n") <= 1 {
		t.Errorf("-v should print one line and -vv several:\n%s\n--\n%s", v1, v2)
	}
}

// -V is HAProxy's verbose mode (it undoes -q), not a version flag.
func TestVerboseUndoesQuiet(t *testing.T) {
	dir := t.TempDir()
	good := writeFile(t, dir, "good.cfg", validCfg)
	if code, out, _ := runMain("-c", "-q", "-f", good); code != 0 || strings.Contains(out, "valid") {
		t.Fatalf("-q: exit %d, stdout %q; want exit 0 and silence", code, out)
	}
	for _, args := range [][]string{{"-c", "-q", "-V", "-f", good}, {"-V", "-c", "-q", "-f", good}} {
		code, out, errOut := runMain(args...)
		if code != 0 || !strings.Contains(out+errOut, "Configuration file is valid") || strings.Contains(out, "Bulwark version") {
			t.Errorf("%v: exit %d, output %q %q; want the verdict, not the version", args, code, out, errOut)
		}
	}
}
