package plan

import (
	"strings"

	"bulwark/internal/acl"
	"bulwark/internal/config"
	"bulwark/internal/logfmt"
	"bulwark/internal/model"
)

// LogFormats are the compiled log-format strings of a proxy: compiled
// here once, so that -c, start-up, reload and audit refuse the same
// unknown variables and fetches, and the logger only renders.
type LogFormats struct {
	// HTTP renders HTTP transactions, TCP the other sessions; both are
	// the custom log-format when there is one.
	HTTP, TCP *logfmt.Format
	// SD is log-format-sd (RFC 5424 structured data), nil when unset.
	SD *logfmt.Format
	// Error is error-log-format, nil when unset.
	Error *logfmt.Format
	// UniqueID is unique-id-format, nil when unset; UniqueIDHeader is
	// the request header it is added as, empty for none.
	UniqueID       *logfmt.Format
	UniqueIDHeader string
}

// compileLogFormats compiles the formats of p. set compiles %[...]
// samples with p's ACLs; it is nil when they did not compile, and the
// formats are then compiled without samples being accepted.
func compileLogFormats(p *model.Proxy, set *acl.Set, ds *config.Diagnostics) *LogFormats {
	http := p.Mode == model.ModeHTTP
	opt := logfmt.Options{HTTP: http, MergeSpaces: true}
	if set != nil {
		opt.Expr = set.Expr
	}
	one := func(directive, text string, pos config.Pos) *logfmt.Format {
		if text == "" {
			return nil
		}
		f, warns, err := logfmt.Parse(text, opt)
		for _, w := range warns {
			ds.Warnf(pos, "'%s' : %s", directive, w)
		}
		if err != nil {
			ds.Alertf(offsetPos(pos, text, err.Off), "'%s' : %s", directive, err.Msg)
			return nil
		}
		return f
	}
	lf := &LogFormats{UniqueIDHeader: p.UniqueIDHeader}
	builtin := func(text string) *logfmt.Format {
		// The built-in strings use samples (httpslog) that exist in
		// every proxy; they are parsed with the proxy's own set.
		return logfmt.MustParse(text, opt)
	}
	tcp := builtin(logfmt.TCPLog)
	switch {
	case p.LogFormat != "":
		lf.HTTP = one("log-format", p.LogFormat, p.LogFormatPos)
		lf.TCP = lf.HTTP
		if lf.HTTP == nil {
			lf.HTTP, lf.TCP = tcp, tcp
		}
	case http && p.Option("httpslog") && set != nil:
		lf.HTTP, lf.TCP = builtin(logfmt.HTTPSLog), tcp
	case http && p.Option("httplog") && p.HTTPLogCLF:
		lf.HTTP, lf.TCP = builtin(logfmt.CLFLog), tcp
	case http && !p.Option("tcplog"):
		lf.HTTP, lf.TCP = builtin(logfmt.HTTPLog), tcp
	default:
		lf.HTTP, lf.TCP = tcp, tcp
	}
	lf.SD = one("log-format-sd", p.LogFormatSD, p.LogFormatSDPos)
	lf.Error = one("error-log-format", p.ErrorLogFormat, p.ErrorLogFormatPos)
	lf.UniqueID = one("unique-id-format", p.UniqueIDFormat, p.UniqueIDFmtPos)
	return lf
}

// offsetPos is the position of byte off of a format string that starts
// at pos (the model's position of its first character): the column
// moves along the line.
func offsetPos(pos config.Pos, text string, off int) config.Pos {
	if pos.Col == 0 || off < 0 || off > len(text) || strings.ContainsRune(text[:off], '\n') {
		return pos
	}
	pos.Col += off
	return pos
}
