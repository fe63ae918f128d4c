package audit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"bulwark/internal/config"
	"bulwark/internal/model"
	"bulwark/internal/plan"
)

// Products the audit knows the defaults of.
const (
	ProductBulwark = "bulwark"
	ProductHAProxy = "haproxy"
)

// NewTarget compiles a parsed configuration for auditing. parseDiags are the
// diagnostics of parsing. For HAProxy, directives that only Bulwark does not
// run are not errors; for Bulwark they are, and the configuration is
// compiled up to the plan exactly as "bulwark -c" and start-up do (opt is
// the plan options of that run), so that HAP-9.1 and -c agree.
func NewTarget(cfg *config.Config, parseDiags config.Diagnostics, product string, opt plan.Options) *Target {
	m, cds := model.Compile(cfg, model.Options{Audit: true})
	diags := append(config.Diagnostics(nil), parseDiags...)
	if product == ProductBulwark {
		var rm *model.Model
		rm, cds = model.Compile(cfg, model.Options{})
		_, pds := plan.Compile(rm, opt)
		cds = append(cds, pds...)
	}
	for _, d := range cds {
		if product == ProductHAProxy && d.Code == model.CodeUnsupported {
			continue
		}
		diags = append(diags, d)
	}
	return &Target{Files: cfg.Files, Config: cfg, Model: m, Diags: diags.Sorted(cfg.Files),
		Product: product, Now: time.Now()}
}

// Load reads the -f arguments (files or directories). It fails only when an
// input cannot be read at all; syntax errors are findings of HAP-9.1, and
// the other checks run on whatever parsed.
func Load(args []string, product string, opt plan.Options) (*Target, error) {
	if product != ProductBulwark && product != ProductHAProxy {
		return nil, fmt.Errorf("unknown target %q (expects bulwark or haproxy)", product)
	}
	files, ds := config.ExpandPaths(args)
	if len(ds) > 0 {
		return nil, fmt.Errorf("%s", ds[0].Msg)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no configuration file in %s", strings.Join(args, ", "))
	}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			return nil, err
		}
		fh.Close()
	}
	var po config.ParseOptions
	if product == ProductHAProxy {
		// HAProxy takes feature(BULWARK) as false: the Bulwark-only
		// blocks are not part of what it runs.
		po.Lex.Features = slices.DeleteFunc(slices.Clone(config.DefaultFeatures), func(f string) bool { return f == "BULWARK" })
	}
	cfg, pds := config.ParseFiles(files, po)
	for _, d := range pds {
		if !d.Pos.IsValid() && d.Severity == config.SevAlert && strings.HasPrefix(d.Msg, "Cannot ") {
			return nil, fmt.Errorf("%s", d.Msg)
		}
	}
	return NewTarget(cfg, pds, product, opt), nil
}

// GitStatus is the Target.Git of a host with git: a file is tracked when
// git knows it, clean when it has no staged or unstaged change.
func GitStatus(file string) (tracked, clean bool, err error) {
	dir, base := filepath.Split(file)
	if dir == "" {
		dir = "."
	}
	if out, err := exec.Command("git", "-C", dir, "rev-parse", "--is-inside-work-tree").CombinedOutput(); err != nil {
		return false, false, fmt.Errorf("%s", strings.TrimSpace(string(out)))
	}
	if err := exec.Command("git", "-C", dir, "ls-files", "--error-unmatch", "--", base).Run(); err != nil {
		return false, false, nil
	}
	out, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--", base).Output()
	if err != nil {
		return true, false, err
	}
	return true, len(strings.TrimSpace(string(out))) == 0, nil
}

// GitAvailable reports whether a git binary is on PATH.
// HAProxyVerdict is what "haproxy -c" said of a configuration.
type HAProxyVerdict struct {
	Bin    string
	Exit   int    // haproxy's exit code: 0 valid, 2 valid without listener, else invalid
	Output string // its alerts and warnings
	Err    error  // it could not be run (or timed out)
}

// HAProxyChecker returns a HAProxyCheck that runs bin -c, bounded in time,
// or nil when bin is not there.
func HAProxyChecker(bin string) func([]string) HAProxyVerdict {
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil
	}
	return func(files []string) HAProxyVerdict {
		args := []string{"-c"}
		for _, f := range files {
			args = append(args, "-f", f)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, path, args...).CombinedOutput()
		v := HAProxyVerdict{Bin: path, Output: strings.TrimSpace(string(out))}
		var ee *exec.ExitError
		switch {
		case ctx.Err() != nil:
			v.Err = fmt.Errorf("no answer within 20s")
		case errors.As(err, &ee):
			v.Exit = ee.ExitCode()
		case err != nil:
			v.Err = err
		}
		return v
	}
}

func GitAvailable() bool {
	_, err := exec.LookPath("git")
	return err == nil
}
