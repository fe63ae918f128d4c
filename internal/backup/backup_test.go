package backup

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"bulwark/internal/audit"
	"bulwark/internal/config"
)

// fixture writes a configuration that references one file of every kind
// References knows, and returns the configuration path and the files.
func fixture(t *testing.T) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"certs/a.pem": "A", "certs/a.pem.ocsp": "OCSP", "certdir/b.pem": "B", "certdir/c.pem": "C",
		"list.txt": "", "d.pem": "D", "ca.pem": "CA", "crl.pem": "CRL", "errors/503.http": "E",
		"hosts.map": "M", "bad.lst": "L", "x.lua": "X", "state": "S", "ips.acl": "I",
	}
	files["list.txt"] = filepath.Join(dir, "d.pem") + " [alpn h2]\n# comment\n"
	for name, body := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(`global
    crt-base %[1]s
    ca-base %[1]s
    lua-load %[1]s/x.lua
    server-state-file %[1]s/state
frontend f
    mode http
    bind 127.0.0.1:443 ssl crt certs/a.pem crt %[1]s/certdir crt-list %[1]s/list.txt ca-file ca.pem crl-file crl.pem
    errorfile 503 %[1]s/errors/503.http
    acl bad src -f %[1]s/bad.lst
    http-request deny if { src -f %[1]s/ips.acl }
    http-request set-header X-Host %%[req.hdr(host),map(%[1]s/hosts.map,none)]
`, dir)
	cf := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cf, []byte(cfg), 0o644)
	var want []string
	for name := range files {
		want = append(want, filepath.Join(dir, name))
	}
	want = append(want, cf)
	sort.Strings(want)
	return cf, want
}

func parse(t *testing.T, f string) *config.Config {
	cfg, ds := config.ParseFiles([]string{f}, config.ParseOptions{})
	if ds.HasAlerts() {
		t.Fatalf("fixture does not parse: %v", ds)
	}
	return cfg
}

func TestReferences(t *testing.T) {
	cf, want := fixture(t)
	var got []string
	for _, r := range References(parse(t, cf)) {
		got = append(got, r.Path)
	}
	sort.Strings(got)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("references:\n got %v\nwant %v", got, want)
	}
}

func TestCreateVerifyRestore(t *testing.T) {
	cf, want := fixture(t)
	out := t.TempDir()
	var prog bytes.Buffer
	res, err := Create(Options{Config: parse(t, cf), OutDir: out, Now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Progress: &prog})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 0 || len(res.Files) != len(want) {
		t.Fatalf("files %d missing %v, want %d", len(res.Files), res.Missing, len(want))
	}
	if ok, _ := filepath.Match(audit.BackupPattern, filepath.Base(res.Archive)); !ok {
		t.Errorf("%s does not match %s", res.Archive, audit.BackupPattern)
	}
	st, _ := os.Stat(res.Archive)
	if st.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %o, want 0600", st.Mode().Perm())
	}
	if !strings.Contains(prog.String(), "[1/") {
		t.Errorf("no progress lines: %q", prog.String())
	}
	probs, err := Verify(res.Archive, nil)
	if err != nil || len(probs) != 0 {
		t.Fatalf("verify: %v %v", probs, err)
	}
	dest := t.TempDir()
	written, err := Restore(res.Archive, dest, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != len(want) {
		t.Errorf("restored %d files, want %d", len(written), len(want))
	}
	for _, w := range want {
		orig, _ := os.ReadFile(w)
		got, err := os.ReadFile(filepath.Join(dest, w))
		if err != nil || !bytes.Equal(orig, got) {
			t.Errorf("%s not restored under %s: %v", w, dest, err)
		}
	}
	if _, err := Restore(res.Archive, dest, false, nil); err == nil || !strings.Contains(err.Error(), "exists") {
		t.Errorf("second restore without force: %v", err)
	}
	if _, err := Restore(res.Archive, dest, true, nil); err != nil {
		t.Errorf("restore with force: %v", err)
	}
}

func TestMissingReference(t *testing.T) {
	dir := t.TempDir()
	cf := filepath.Join(dir, "h.cfg")
	os.WriteFile(cf, []byte("frontend f\n    bind :443 ssl crt "+dir+"/nope.pem\n"), 0o644)
	res, err := Create(Options{Config: parse(t, cf), OutDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Missing) != 1 || res.Missing[0].Path != filepath.Join(dir, "nope.pem") {
		t.Errorf("missing = %v", res.Missing)
	}
}

type tarEntry struct {
	name, body string
	typ        byte
}

// writeTar builds an archive by hand, so tests can plant what Create
// never writes.
func writeTar(t *testing.T, ents []tarEntry, manifest string) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range ents {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: typ}
		if typ == tar.TypeSymlink {
			h.Size, h.Linkname = 0, "/etc/passwd"
		}
		tw.WriteHeader(h)
		if typ == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(len(manifest)), Typeflag: tar.TypeReg})
	tw.Write([]byte(manifest))
	tw.Close()
	gz.Close()
	p := filepath.Join(t.TempDir(), "bulwark-backup-x.tar.gz")
	os.WriteFile(p, buf.Bytes(), 0o600)
	return p
}

func sum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestVerifyAndRestoreRefuseBadArchives(t *testing.T) {
	tests := []struct {
		name     string
		ents     []tarEntry
		manifest string
		want     string
	}{
		{"tampered", []tarEntry{{name: "etc/h.cfg", body: "changed"}}, sum("original") + "  etc/h.cfg\n", "SHA-256 does not match"},
		{"traversal", []tarEntry{{name: "../../evil", body: "x"}}, sum("x") + "  ../../evil\n", "path traversal"},
		{"inner traversal", []tarEntry{{name: "etc/../../evil", body: "x"}}, sum("x") + "  etc/../../evil\n", "path traversal"},
		{"absolute", []tarEntry{{name: "/etc/evil", body: "x"}}, sum("x") + "  /etc/evil\n", "absolute path"},
		{"symlink", []tarEntry{{name: "etc/link", typ: tar.TypeSymlink}}, "", "only regular files"},
		{"unlisted", []tarEntry{{name: "etc/a", body: "a"}, {name: "etc/b", body: "b"}}, sum("a") + "  etc/a\n", "not listed in the manifest"},
		{"lost", nil, sum("a") + "  etc/a\n", "not in the archive"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			arch := writeTar(t, tc.ents, tc.manifest)
			probs, err := Verify(arch, nil)
			if err != nil {
				t.Fatal(err)
			}
			var msgs []string
			for _, p := range probs {
				msgs = append(msgs, p.String())
			}
			if !strings.Contains(strings.Join(msgs, "\n"), tc.want) {
				t.Errorf("problems %v, want %q", msgs, tc.want)
			}
			dest := t.TempDir()
			if _, err := Restore(arch, dest, false, nil); err == nil {
				t.Errorf("restore accepted a bad archive")
			}
			left, _ := os.ReadDir(dest)
			if len(left) != 0 {
				t.Errorf("restore wrote %v", left)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(dest), "evil")); err == nil {
				t.Errorf("traversal escaped")
			}
		})
	}
}

func TestVerifyUnreadable(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.tar.gz")
	os.WriteFile(p, []byte("not gzip"), 0o600)
	if _, err := Verify(p, nil); err == nil {
		t.Error("garbage verified")
	}
}
