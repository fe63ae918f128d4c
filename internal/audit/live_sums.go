package audit

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"bulwark/internal/config"
)

// SHA256Sums maps the paths of a sha256sum-format file to their hex digests.
type SHA256Sums map[string]string

// ReadSHA256Sums reads a file in the format 'sha256sum' writes: "<hex>  <path>"
// or "<hex> *<path>" (binary mode) per line; blank lines and '#' comments are
// ignored. A malformed line is an error so that a wrong file is not mistaken
// for a file that lists nothing.
func ReadSHA256Sums(path string) (SHA256Sums, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseSHA256Sums(f, path)
}

func parseSHA256Sums(r io.Reader, name string) (SHA256Sums, error) {
	sums := SHA256Sums{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		sum, rest, ok := strings.Cut(line, " ")
		if ok && (strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "*")) {
			rest = rest[1:]
		}
		if _, err := hex.DecodeString(sum); !ok || err != nil || len(sum) != 2*sha256.Size || rest == "" {
			return nil, fmt.Errorf("%s:%d: not a sha256sum line (\"<64 hex digits>  <path>\")", name, n)
		}
		sums[rest] = strings.ToLower(sum)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(sums) == 0 {
		return nil, fmt.Errorf("%s lists no file", name)
	}
	return sums, nil
}

// lookup finds the digest listed for path: by the full path first, then by
// base name, since release checksum files usually name the bare file.
func (s SHA256Sums) lookup(path string) (sum, listedAs string, ok bool) {
	if v, ok := s[path]; ok {
		return v, path, true
	}
	base := filepath.Base(path)
	for p, v := range s {
		if filepath.Base(p) == base {
			return v, p, true
		}
	}
	return "", "", false
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// sumsEvidence compares the running binary with a checksum file. The bytes
// are read through /proc/PID/exe (exeLink), not the path on disk, so that
// a binary replaced or deleted since start is still the one judged.
func sumsEvidence(sumsFile, exeLink, exe string) (Evidence, bool) {
	path := strings.TrimSuffix(exe, " (deleted)")
	sums, err := ReadSHA256Sums(sumsFile)
	if err != nil {
		return ev(config.Pos{}, Fail, "--sha256sums: %v", err), false
	}
	want, listed, ok := sums.lookup(path)
	if !ok {
		return ev(config.Pos{}, Warn, "%s is not listed in %s", path, sumsFile), false
	}
	got, err := fileSHA256(exeLink)
	if err != nil {
		return ev(config.Pos{}, Manual, "cannot read the running binary %s to hash it: %s (run as root)", exeLink, shortErr(err)), false
	}
	if got != want {
		return ev(config.Pos{}, Fail, "running binary %s has SHA-256 %s, but %s lists %s for %s", path, got, sumsFile, want, listed), false
	}
	return ev(config.Pos{}, Pass, "running binary %s matches %s (%s, SHA-256 %s)", path, sumsFile, listed, got), true
}

func sha256Hex(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}
