package audit

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"bulwark/internal/testtool"
)

// chromiumPath is Debian's chromium (scripts/install-deps.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// TestHTMLReportStructure checks what a reader relies on: the headline
// grade, the fix-first list holding exactly the failed Critical and High
// controls (Critical first), and PASS/SKIP folded in <details>.
func TestHTMLReportStructure(t *testing.T) {
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	sc := ScoreOf(rep.Findings)
	if !strings.Contains(page, `<div class="grade `+sc.class()+`">`+sc.Grade+`</div>`) || !strings.Contains(page, "Score "+sc.label()) {
		t.Errorf("no headline grade %s / score %s", sc.Grade, sc.label())
	}
	first := page[strings.Index(page, `<div class="first">`):]
	first = first[:strings.Index(first, "</ol></div>")]
	var want []string
	for _, f := range rep.Findings {
		in := strings.Contains(first, "<b>"+f.Control.ID+"</b>")
		should := f.Verdict == Fail && f.Control.Severity >= High
		if in != should {
			t.Errorf("%s (%s %s): in fix-first list = %v", f.Control.ID, f.Control.Severity, f.Verdict, in)
		}
		if should {
			want = append(want, f.Control.ID)
		}
	}
	lastCrit, firstHigh := -1, len(first)
	for _, f := range rep.Findings {
		i := strings.Index(first, "<b>"+f.Control.ID+"</b>")
		if i < 0 {
			continue
		}
		if f.Control.Severity == Critical && i > lastCrit {
			lastCrit = i
		}
		if f.Control.Severity == High && i < firstHigh {
			firstHigh = i
		}
	}
	if lastCrit > firstHigh {
		t.Error("fix-first list: a High control comes before a Critical one")
	}
	if !strings.Contains(first, "<b>Fix:</b>") {
		t.Error("fix-first entries carry no fix")
	}
	// Every PASS or SKIP finding sits inside a <details> block.
	for _, f := range rep.Findings {
		if f.Verdict != Pass && f.Verdict != Skip {
			continue
		}
		i := strings.Index(page, `<td class="v `+string(f.Verdict)+`">`+string(f.Verdict)+`</td><td><b>`+f.Control.ID+`</b>`)
		if i < 0 {
			t.Errorf("%s not listed", f.Control.ID)
			continue
		}
		if strings.LastIndex(page[:i], "<details>") < strings.LastIndex(page[:i], "</details>") || !strings.Contains(page[:i], "<details>") {
			t.Errorf("%s %s is not folded", f.Control.ID, f.Verdict)
		}
	}
	if !strings.Contains(page, "@media print") {
		t.Error("no print stylesheet")
	}
	t.Logf("score %s grade %s; fix first: %v", sc.label(), sc.Grade, want)
}

func TestScoreGrade(t *testing.T) {
	crit := &Control{Severity: Critical}
	low := &Control{Severity: Low}
	fs := []Finding{{Control: crit, Verdict: Pass}, {Control: low, Verdict: Fail}, {Control: low, Verdict: Skip}}
	if s := ScoreOf(fs); s.Percent != 80 || s.Grade != "B" {
		t.Errorf("got %+v, want 80%% B (weights 4 and 1)", s)
	}
	fs = []Finding{{Control: crit, Verdict: Fail}}
	for i := 0; i < 40; i++ {
		fs = append(fs, Finding{Control: low, Verdict: Pass})
	}
	if s := ScoreOf(fs); s.Percent < 90 || s.Grade != "D" {
		t.Errorf("got %+v: a failed Critical must cap the grade at D", s)
	}
	if s := ScoreOf([]Finding{{Control: low, Verdict: Manual}}); s.Percent != -1 || s.Grade != "n/a" {
		t.Errorf("nothing decided: %+v", s)
	}
}

// TestHTMLRendersInChromium renders the report in headless Chromium and
// checks that the screenshot is a page with content: the HTML is valid
// enough for a browser and needs nothing from outside the file (the
// browser runs with networking features off). With -update the screenshot
// is kept as docs/audit-report.png.
func TestHTMLRendersInChromium(t *testing.T) {
	testtool.Path(t, chromiumPath)
	dir := t.TempDir()
	rep := goldenReport(t)
	var b bytes.Buffer
	if err := WriteHTML(&b, rep); err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(dir, "report.html")
	if err := os.WriteFile(page, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "report.png")
	cmd := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-dev-shm-usage", "--hide-scrollbars", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--window-size=1100,2600", "--screenshot="+shot, "file://"+page)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, out)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if bd := img.Bounds(); bd.Dx() < 1000 || bd.Dy() < 2500 {
		t.Errorf("screenshot %v, want the window size", bd)
	}
	// The grade box is drawn in its colour near the top left: a page that
	// failed to render (or rendered unstyled) has no such pixels.
	if n := coloured(img, image.Rect(0, 0, 400, 300)); n < 500 {
		t.Errorf("only %d coloured pixels in the headline area: the page did not render as designed", n)
	}
	if *update {
		raw, err := os.ReadFile(shot)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join("..", "..", "docs", "audit-report.png"), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// coloured counts pixels in r that are clearly not grey.
func coloured(img image.Image, r image.Rectangle) int {
	n := 0
	for y := r.Min.Y; y < r.Max.Y && y < img.Bounds().Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X && x < img.Bounds().Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			max, min := cr, cr
			for _, c := range []uint32{cg, cb} {
				if c > max {
					max = c
				}
				if c < min {
					min = c
				}
			}
			if max-min > 0x2000 {
				n++
			}
		}
	}
	return n
}
