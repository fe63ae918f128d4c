package backup

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"bulwark/internal/config"
)

// ManifestName is the manifest entry inside every archive, in sha256sum's
// format ("HEX  path").
const ManifestName = "MANIFEST.sha256"

// NameFormat is the archive file name; it matches the audit's
// BackupPattern (bulwark-backup-*.tar.gz).
const NameFormat = "bulwark-backup-%s.tar.gz"

// Options drive Create.
type Options struct {
	Config *config.Config
	OutDir string
	Now    time.Time
	// Progress receives one line per file; nil for silence.
	Progress io.Writer
}

// Result is what Create wrote.
type Result struct {
	Archive string
	Files   []Ref
	Missing []Ref // referenced files that could not be read
}

// entryName maps an absolute path to its archive entry: the path without
// its leading slash, so a restore lays it out again below the target.
func entryName(abs string) string {
	return strings.TrimPrefix(filepath.ToSlash(filepath.Clean(abs)), "/")
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// Create writes a timestamped archive of the configuration and every file
// it references, with a SHA-256 manifest. The archive is created with mode
// 0600: it holds private keys. Missing files are listed in the result and
// left out; the archive is still written.
func Create(o Options) (*Result, error) {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	name := filepath.Join(o.OutDir, fmt.Sprintf(NameFormat, o.Now.UTC().Format("20060102T150405Z")))
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	res := &Result{Archive: name}
	err = writeArchive(f, o, res)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return nil, err
	}
	return res, nil
}

func writeArchive(f *os.File, o Options, res *Result) error {
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	var manifest bytes.Buffer
	refs := References(o.Config)
	for i, r := range refs {
		data, st, err := readRegular(r.Path)
		if err != nil {
			res.Missing = append(res.Missing, r)
			progress(o.Progress, "[%d/%d] MISSING %s (%s): %v", i+1, len(refs), r.Path, r.Why, err)
			continue
		}
		hdr := &tar.Header{Name: entryName(r.Path), Mode: int64(st.Mode().Perm()), Size: int64(len(data)),
			ModTime: st.ModTime(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(data); err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&manifest, "%s  %s\n", hex.EncodeToString(sum[:]), hdr.Name)
		res.Files = append(res.Files, r)
		progress(o.Progress, "[%d/%d] %s (%s, %d bytes)", i+1, len(refs), r.Path, r.Why, len(data))
	}
	if err := tw.WriteHeader(&tar.Header{Name: ManifestName, Mode: 0o600, Size: int64(manifest.Len()),
		ModTime: o.Now, Typeflag: tar.TypeReg}); err != nil {
		return err
	}
	if _, err := tw.Write(manifest.Bytes()); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

func readRegular(p string) ([]byte, os.FileInfo, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("not a regular file")
	}
	data, err := os.ReadFile(p)
	return data, st, err
}

// entry is one file read from an archive.
type entry struct {
	hdr  *tar.Header
	data []byte
}

// maxEntrySize bounds what one entry may expand to, so that a hostile
// archive cannot exhaust memory.
const maxEntrySize = 256 << 20

// readArchive loads every entry. Configuration backups are small, so
// holding them in memory keeps verification and restore simple.
func readArchive(name string) ([]entry, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip archive: %v", name, err)
	}
	tr := tar.NewReader(gz)
	var out []entry
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", name, err)
		}
		if hdr.Size > maxEntrySize {
			return nil, fmt.Errorf("%s: entry %s is too large (%d bytes)", name, hdr.Name, hdr.Size)
		}
		data, err := io.ReadAll(io.LimitReader(tr, maxEntrySize))
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %v", name, hdr.Name, err)
		}
		out = append(out, entry{hdr, data})
	}
}

// Problem is one way an archive fails verification.
type Problem struct {
	Entry string
	What  string
}

func (p Problem) String() string { return p.Entry + ": " + p.What }

// Verify checks every entry against the manifest: each listed file present
// with its checksum, nothing unlisted, no unsafe entry name. An error
// means the archive could not be read at all.
func Verify(name string, progressW io.Writer) ([]Problem, error) {
	ents, err := readArchive(name)
	if err != nil {
		return nil, err
	}
	return verifyEntries(ents, progressW), nil
}

func verifyEntries(ents []entry, progressW io.Writer) []Problem {
	var probs []Problem
	var manifest []byte
	got := map[string][]byte{}
	for _, e := range ents {
		if e.hdr.Name == ManifestName {
			manifest = e.data
			continue
		}
		if why := unsafeEntry(e.hdr); why != "" {
			probs = append(probs, Problem{e.hdr.Name, why})
			continue
		}
		if e.hdr.Typeflag == tar.TypeDir {
			continue
		}
		got[path.Clean(e.hdr.Name)] = e.data
	}
	if manifest == nil {
		return append(probs, Problem{ManifestName, "missing"})
	}
	want := map[string]string{}
	for i, line := range strings.Split(strings.TrimRight(string(manifest), "\n"), "\n") {
		sum, file, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 {
			probs = append(probs, Problem{ManifestName, fmt.Sprintf("line %d is not 'SHA256  path'", i+1)})
			continue
		}
		want[path.Clean(file)] = sum
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		data, ok := got[n]
		if !ok {
			probs = append(probs, Problem{n, "listed in the manifest but not in the archive"})
			continue
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != want[n] {
			probs = append(probs, Problem{n, "SHA-256 does not match the manifest"})
		} else {
			progress(progressW, "[%d/%d] OK %s", i+1, len(names), n)
		}
	}
	extra := []string{}
	for n := range got {
		if _, ok := want[n]; !ok {
			extra = append(extra, n)
		}
	}
	sort.Strings(extra)
	for _, n := range extra {
		probs = append(probs, Problem{n, "not listed in the manifest"})
	}
	return probs
}

// unsafeEntry refuses what could write outside the restore directory or
// somewhere unexpected: absolute names, ".." components, links and devices.
func unsafeEntry(h *tar.Header) string {
	n := h.Name
	switch {
	case n == "" || strings.HasPrefix(n, "/") || strings.HasPrefix(n, `\`) || filepath.IsAbs(n) || (len(n) > 1 && n[1] == ':'):
		return "absolute path refused"
	}
	for _, part := range strings.FieldsFunc(n, func(r rune) bool { return r == '/' || r == '\\' }) {
		if part == ".." {
			return "path traversal ('..') refused"
		}
	}
	if h.Typeflag != tar.TypeReg && h.Typeflag != tar.TypeDir {
		return "only regular files and directories are restored"
	}
	return ""
}

// Restore verifies the archive, then writes its files below dir, keeping
// each file's original absolute layout (etc/haproxy/haproxy.cfg lands in
// DIR/etc/haproxy/haproxy.cfg). Nothing is written when verification
// fails; existing files are not overwritten unless force is set.
func Restore(name, dir string, force bool, progressW io.Writer) ([]string, error) {
	ents, err := readArchive(name)
	if err != nil {
		return nil, err
	}
	if probs := verifyEntries(ents, nil); len(probs) > 0 {
		msgs := make([]string, len(probs))
		for i, p := range probs {
			msgs[i] = p.String()
		}
		return nil, fmt.Errorf("%s failed verification, nothing restored:\n  %s", name, strings.Join(msgs, "\n  "))
	}
	root, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	var files []entry
	for _, e := range ents {
		if e.hdr.Name != ManifestName && e.hdr.Typeflag == tar.TypeReg {
			files = append(files, e)
		}
	}
	if !force {
		for _, e := range files {
			if dst := filepath.Join(root, filepath.FromSlash(e.hdr.Name)); fileExists(dst) {
				return nil, fmt.Errorf("%s exists (use --force to overwrite)", dst)
			}
		}
	}
	var written []string
	for i, e := range files {
		dst := filepath.Join(root, filepath.FromSlash(e.hdr.Name))
		if rel, err := filepath.Rel(root, dst); err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			return written, fmt.Errorf("%s: escapes %s", e.hdr.Name, root)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return written, err
		}
		mode := os.FileMode(e.hdr.Mode).Perm() &^ 0o022
		if err := writeFileAtomic(dst, e.data, mode); err != nil {
			return written, err
		}
		written = append(written, dst)
		progress(progressW, "[%d/%d] %s", i+1, len(files), dst)
	}
	return written, nil
}

// writeFileAtomic writes through a temporary file so that an interrupted
// restore never leaves a half-written certificate in place, and never
// follows a symlink planted at the destination.
func writeFileAtomic(dst string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".bulwark-restore-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
