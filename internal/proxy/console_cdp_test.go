package proxy

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/websocket"

	"bulwark/internal/testtool"
)

// cdpPage drives one Chromium tab over the DevTools protocol. Replies
// and events come from one reader goroutine; events are kept so that a
// test can wait for one and read the console afterwards.
type cdpPage struct {
	t      *testing.T
	ws     *websocket.Conn
	msgs   chan cdpMsg
	nextID int
	events []cdpMsg
	seen   int // events[:seen] were already matched by waitEvent
}

type cdpMsg struct {
	ID     int             `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Message string `json:"message"`
	} `json:"error"`
}

const cdpTimeout = 15 * time.Second

// startChromium runs headless Chromium on a blank tab and connects to
// that tab's DevTools socket.
func startChromium(t *testing.T) *cdpPage {
	t.Helper()
	bin := testtool.Path(t, "chromium")
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--remote-debugging-address=127.0.0.1",
		"--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "about:blank")
	// Its own process group, so that cleanup ends the renderers too: they
	// would write the profile while TempDir removes it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("chromium: %v", err)
	}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	})
	// Chromium prints the browser's socket once listening; the reader
	// keeps draining stderr so that Chromium never blocks on it.
	hostc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`DevTools listening on ws://([^/]+)/`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case hostc <- m[1]:
				default:
				}
			}
		}
	}()
	var host string
	select {
	case host = <-hostc:
	case <-time.After(cdpTimeout):
		t.Fatal("chromium did not print its DevTools address")
	}
	var targets []struct {
		Type, URL, WebSocketDebuggerURL string
	}
	c := &http.Client{Timeout: cdpTimeout}
	resp, err := c.Get("http://" + host + "/json/list")
	if err != nil {
		t.Fatal(err)
	}
	err = json.NewDecoder(resp.Body).Decode(&targets)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	wsURL := ""
	for _, tg := range targets {
		if tg.Type == "page" {
			wsURL = tg.WebSocketDebuggerURL
		}
	}
	if wsURL == "" {
		t.Fatalf("no page target in %+v", targets)
	}
	ws, err := websocket.Dial(wsURL, "", "http://"+host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	p := &cdpPage{t: t, ws: ws, msgs: make(chan cdpMsg, 256)}
	go func() {
		defer close(p.msgs)
		for {
			var m cdpMsg
			if err := websocket.JSON.Receive(ws, &m); err != nil {
				return
			}
			p.msgs <- m
		}
	}()
	return p
}

// next returns the next message, or fails the test after cdpTimeout.
func (p *cdpPage) next(what string) cdpMsg {
	p.t.Helper()
	select {
	case m, ok := <-p.msgs:
		if !ok {
			p.t.Fatalf("DevTools socket closed waiting for %s", what)
		}
		return m
	case <-time.After(cdpTimeout):
		p.t.Fatalf("timeout waiting for %s", what)
	}
	return cdpMsg{}
}

// call sends a command and waits for its reply, keeping the events read
// meanwhile.
func (p *cdpPage) call(method string, params any) json.RawMessage {
	p.t.Helper()
	p.nextID++
	id := p.nextID
	if params == nil {
		params = struct{}{}
	}
	if err := websocket.JSON.Send(p.ws, map[string]any{"id": id, "method": method, "params": params}); err != nil {
		p.t.Fatal(err)
	}
	for {
		m := p.next(method)
		if m.ID == 0 {
			p.events = append(p.events, m)
			continue
		}
		if m.ID != id {
			continue
		}
		if m.Error != nil {
			p.t.Fatalf("%s: %s", method, m.Error.Message)
		}
		return m.Result
	}
}

// waitEvent waits for an event not yet matched, read before or now.
func (p *cdpPage) waitEvent(method string) {
	p.t.Helper()
	for {
		for ; p.seen < len(p.events); p.seen++ {
			if p.events[p.seen].Method == method {
				p.seen++
				return
			}
		}
		if m := p.next(method); m.ID == 0 {
			p.events = append(p.events, m)
		}
	}
}

// eval runs a script in the page and returns its value as JSON.
func (p *cdpPage) eval(script string) json.RawMessage {
	p.t.Helper()
	var r struct {
		Result struct {
			Value json.RawMessage `json:"value"`
		} `json:"result"`
		ExceptionDetails json.RawMessage `json:"exceptionDetails"`
	}
	if err := json.Unmarshal(p.call("Runtime.evaluate", map[string]any{"expression": script, "returnByValue": true}), &r); err != nil {
		p.t.Fatal(err)
	}
	if r.ExceptionDetails != nil {
		p.t.Fatalf("script %q threw %s", script, r.ExceptionDetails)
	}
	return r.Result.Value
}

// consoleErrors lists the console errors, uncaught exceptions and
// browser log errors (failed loads, CSP refusals) seen so far.
func (p *cdpPage) consoleErrors() []string {
	var errs []string
	for _, m := range p.events {
		switch m.Method {
		case "Runtime.consoleAPICalled":
			var e struct{ Type string }
			json.Unmarshal(m.Params, &e)
			if e.Type == "error" || e.Type == "assert" {
				errs = append(errs, string(m.Params))
			}
		case "Runtime.exceptionThrown":
			errs = append(errs, string(m.Params))
		case "Log.entryAdded":
			var e struct {
				Entry struct{ Level, Text, URL string }
			}
			json.Unmarshal(m.Params, &e)
			if e.Entry.Level == "error" {
				errs = append(errs, e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}
	return errs
}

// A user in a real browser ticks an UP server, picks "Set state to
// MAINT" and clicks Apply: the proxy's server goes to maintenance, the
// page it lands on says so, and the console stays free of errors.
func TestStatsAdminActionInChromium(t *testing.T) {
	sock, addr, _ := consoleProxy(t, "")
	status := func() string { return csvRows(t, apiCall(t, sock, "show stat"))["be/s1"]["status"] }
	if st := status(); st != "UP" {
		t.Fatalf("s1 is %s before the action", st)
	}
	p := startChromium(t)
	for _, m := range []string{"Page.enable", "Runtime.enable", "Log.enable"} {
		p.call(m, nil)
	}
	p.call("Page.navigate", map[string]any{"url": "http://" + addr + "/stats;norefresh"})
	p.waitEvent("Page.loadEventFired")

	var ok bool
	json.Unmarshal(p.eval(`(() => {
		const cb = document.querySelector('input[type=checkbox][name=s][value=s1]');
		if (!cb || !cb.form) return false;
		cb.click();
		const sel = cb.form.querySelector('select[name=action]');
		const opt = [...sel.options].find(o => o.textContent === 'Set state to MAINT');
		if (!opt) return false;
		sel.value = opt.value;
		sel.dispatchEvent(new Event('change', {bubbles: true}));
		if (!cb.checked) return false;
		cb.form.querySelector('input[type=submit][value=Apply]').click();
		return true;
	})()`), &ok)
	if !ok {
		t.Fatal("no checkbox for s1, MAINT option or Apply button in the page")
	}
	p.waitEvent("Page.loadEventFired")

	if st := status(); st != "MAINT" {
		t.Errorf("s1 is %q after the browser's action, want MAINT", st)
	}
	var after struct {
		URL, Row string
	}
	json.Unmarshal(p.eval(`(() => {
		const cb = document.querySelector('input[type=checkbox][name=s][value=s1]');
		return {url: location.href, row: cb ? cb.closest('tr').textContent : ''};
	})()`), &after)
	if !strings.HasSuffix(after.URL, ";st=DONE") {
		t.Errorf("landed on %q, want a ;st=DONE page", after.URL)
	}
	if !strings.Contains(after.Row, "MAINT") {
		t.Errorf("s1's row after the post lacks MAINT: %q", after.Row)
	}
	// Events that arrived after the last reply count too.
	p.call("Runtime.evaluate", map[string]any{"expression": "0"})
	for _, e := range p.consoleErrors() {
		t.Errorf("console error: %s", e)
	}
}
