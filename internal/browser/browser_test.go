package browser

import (
	"context"
	"errors"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

const (
	clientID     = "tether-app"
	clientSecret = "tether-secret"
	merchant     = "merchant@example.com"
	password     = "correct horse battery staple"
)

// platform is a sandbox authorization server with one consent page, /authorize, that redirects to the
// registered redirect URI with a code and the state, or with error=access_denied when the merchant denies.
type platform struct {
	*httptest.Server
	auth *sandboxkit.AuthServer
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	p := &platform{auth: sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{
		ClientID: clientID, ClientSecret: clientSecret, Username: merchant, Password: password,
	})}
	validate := func(q url.Values) error {
		if q.Get("response_type") != "code" {
			return errors.New("response_type must be code")
		}
		return p.auth.CheckAuthorize(q.Get("client_id"), q.Get("redirect_uri"), "", "")
	}
	approve := func(q url.Values) (string, error) {
		code := p.auth.IssueCode(q.Get("client_id"), q.Get("redirect_uri"), "", "read_orders", map[string]string{"shop": "acme"})
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{"code": {code}, "state": {q.Get("state")}})
	}
	deny := func(q url.Values) (string, error) {
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), url.Values{"error": {"access_denied"}, "state": {q.Get("state")}})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/authorize", func(w http.ResponseWriter, r *http.Request) {
		p.auth.Consent(w, r, "Example", validate, approve, deny)
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

// authorizeURL is the consent page's address for an authorization request.
func (p *platform) authorizeURL(redirectURI, state string) string {
	return p.URL + "/authorize?" + url.Values{"response_type": {"code"}, "client_id": {clientID},
		"redirect_uri": {redirectURI}, "state": {state}}.Encode()
}

// callback records the query and cookies of every request it gets and answers with a small page.
type callback struct {
	*httptest.Server
	mu      sync.Mutex
	queries []url.Values
}

func newCallback(t *testing.T) *callback {
	t.Helper()
	c := &callback{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/oauth/callback" { // the browser also asks for /favicon.ico
			http.NotFound(w, r)
			return
		}
		c.mu.Lock()
		c.queries = append(c.queries, r.URL.Query())
		c.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if e := r.URL.Query().Get("error"); e != "" {
			fmt.Fprintf(w, "<!doctype html><title>Tether: not connected</title><p>The platform said %s.</p>", html.EscapeString(e))
			return
		}
		fmt.Fprint(w, "<!doctype html><title>Tether: connected</title><p>Connected.</p>")
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *callback) received() []url.Values {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]url.Values(nil), c.queries...)
}

func timeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectFlowDeliversCodeAndState(t *testing.T) {
	b := New(t)
	p, cb := newPlatform(t), newCallback(t)
	redirect := cb.URL + "/oauth/callback"
	p.auth.RegisterRedirect(redirect)

	res, err := b.ConnectFlow(timeout(t), p.authorizeURL(redirect, "state-123"), merchant, password)
	if err != nil {
		t.Fatal(err)
	}
	got := cb.received()
	if len(got) != 1 {
		t.Fatalf("the callback got %d requests, want 1", len(got))
	}
	code := got[0].Get("code")
	if !strings.HasPrefix(code, "code_") || got[0].Get("state") != "state-123" {
		t.Fatalf("the callback got code %q and state %q, want a code and state-123", code, got[0].Get("state"))
	}
	if Redact(res.FinalURL) != redirect || res.Status != http.StatusOK || res.Title != "Tether: connected" || res.Text != "Connected." {
		t.Errorf("landed on %s (status %d, title %q, text %q), want the callback's page", Redact(res.FinalURL), res.Status, res.Title, res.Text)
	}
	// The code the browser carried is a real one: it redeems once.
	if _, oerr := p.auth.Redeem(code, clientID, redirect, ""); oerr != nil {
		t.Errorf("redeeming the code: %v", oerr)
	}
}

func TestWrongPasswordStaysOnConsentPage(t *testing.T) {
	b := New(t)
	p, cb := newPlatform(t), newCallback(t)
	redirect := cb.URL + "/oauth/callback"
	p.auth.RegisterRedirect(redirect)

	res, err := b.ConnectFlow(timeout(t), p.authorizeURL(redirect, "state-123"), merchant, "wrong")
	var ce *ConsentError
	if !errors.As(err, &ce) {
		t.Fatalf("got error %v, want a *ConsentError", err)
	}
	if ce.Message != "Wrong username or password." || ce.URL != p.URL+"/authorize" {
		t.Errorf("ConsentError = %+v", ce)
	}
	if !strings.Contains(res.Text, "Wrong username or password.") || res.Status != http.StatusUnauthorized ||
		res.Title != "Example sandbox: authorize an app" {
		t.Errorf("landed on %q (status %d) with text %q, want the consent page with its error", res.Title, res.Status, res.Text)
	}
	if got := cb.received(); len(got) != 0 {
		t.Errorf("the callback got %d requests, want none", len(got))
	}
}

func TestDenyReachesCallbackWithAccessDenied(t *testing.T) {
	b := New(t)
	p, cb := newPlatform(t), newCallback(t)
	redirect := cb.URL + "/oauth/callback"
	p.auth.RegisterRedirect(redirect)

	res, err := b.DenyFlow(timeout(t), p.authorizeURL(redirect, "state-456"))
	if err != nil {
		t.Fatal(err)
	}
	got := cb.received()
	if len(got) != 1 || got[0].Get("error") != "access_denied" || got[0].Get("state") != "state-456" || got[0].Has("code") {
		t.Fatalf("the callback got %v, want error=access_denied and state-456 without a code", got)
	}
	if res.Title != "Tether: not connected" || !strings.Contains(res.Text, "access_denied") {
		t.Errorf("landed on %q with text %q", res.Title, res.Text)
	}
}

// operator is a two-hop server shaped like the operator's OAuth endpoint: /oauth/connect sets a cookie
// holding the state and redirects to the platform; /oauth/callback reads the cookie back and compares it
// with the state the platform returns.
type operator struct {
	*httptest.Server
	base string // the address the browser uses: localhost, so that it is another site than the platform's

	mu      sync.Mutex
	cookies []map[string]string // the cookies each callback request carried
}

func newOperator(t *testing.T, p *platform) *operator {
	t.Helper()
	o := &operator{}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/connect", func(w http.ResponseWriter, r *http.Request) {
		state := "st-" + r.URL.Query().Get("integration")
		http.SetCookie(w, &http.Cookie{Name: "tether_oauth_state", Value: state, Path: "/oauth",
			HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
		http.SetCookie(w, &http.Cookie{Name: "tether_strict", Value: state, Path: "/oauth",
			HttpOnly: true, SameSite: http.SameSiteStrictMode})
		http.Redirect(w, r, p.authorizeURL(o.base+"/oauth/callback", state), http.StatusFound)
	})
	mux.HandleFunc("/oauth/callback", func(w http.ResponseWriter, r *http.Request) {
		seen := map[string]string{}
		for _, c := range r.Cookies() {
			seen[c.Name] = c.Value
		}
		o.mu.Lock()
		o.cookies = append(o.cookies, seen)
		o.mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		state := r.URL.Query().Get("state")
		if c, err := r.Cookie("tether_oauth_state"); err != nil || c.Value != state || state == "" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, "<!doctype html><title>Tether: connection failed</title><p>The state does not match this browser's session.</p>")
			return
		}
		fmt.Fprint(w, "<!doctype html><title>Tether: connected</title><p>Connected.</p>")
	})
	o.Server = httptest.NewServer(mux)
	t.Cleanup(o.Close)
	_, port, _ := net.SplitHostPort(o.Listener.Addr().String())
	o.base = "http://localhost:" + port
	p.auth.RegisterRedirect(o.base + "/oauth/callback")
	return o
}

func (o *operator) callbackCookies() []map[string]string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]map[string]string(nil), o.cookies...)
}

func TestCookieFromConnectHopReachesCallback(t *testing.T) {
	b := New(t)
	p := newPlatform(t)
	o := newOperator(t, p)

	res, err := b.ConnectFlow(timeout(t), o.base+"/oauth/connect?integration=acme", merchant, password)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusOK || res.Title != "Tether: connected" {
		t.Fatalf("landed on %q (status %d): %q", res.Title, res.Status, res.Text)
	}
	got := o.callbackCookies()
	if len(got) != 1 || got[0]["tether_oauth_state"] != "st-acme" {
		t.Fatalf("the callback got cookies %v, want tether_oauth_state=st-acme", got)
	}
	// The platform's consent page is another site (127.0.0.1, not localhost), and the callback is a redirect
	// from its form's POST: a SameSite=Lax cookie makes it back, a Strict one does not.
	if _, ok := got[0]["tether_strict"]; ok {
		t.Errorf("the SameSite=Strict cookie reached the callback after a cross-site redirect: %v", got[0])
	}

	// A forged callback (someone else's state, opened in this browser) is refused, and Open reads the answer.
	forged, err := b.Open(timeout(t), o.base+"/oauth/callback?code=code_forged&state=st-mallory")
	if err != nil {
		t.Fatal(err)
	}
	if forged.Status != http.StatusBadRequest || !strings.Contains(forged.Text, "does not match") {
		t.Errorf("the forged callback answered %d %q", forged.Status, forged.Text)
	}
}

func TestErrorsNameStepAndHideQuery(t *testing.T) {
	b := New(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/oauth/callback"
	ln.Close()

	_, err = b.Open(timeout(t), closed+"?code=code_secret&state=s")
	if err == nil || !strings.Contains(err.Error(), "load at "+closed+":") || strings.Contains(err.Error(), "code_secret") {
		t.Errorf("Open of a closed port: %v", err)
	}

	// A page without the consent form: the wait for it ends at the step timeout and says so.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>no form</title><p>nothing here</p>")
	}))
	defer plain.Close()
	short, err := Start(context.Background(), Options{Path: b.Path(), UserDataDir: t.TempDir(), StepTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer short.Close()
	_, err = short.ConnectFlow(timeout(t), plain.URL+"/authorize?code=code_secret", merchant, password)
	if err == nil || !strings.Contains(err.Error(), "wait for the consent form (#username) at "+plain.URL+"/authorize: timed out after 3s") ||
		strings.Contains(err.Error(), "code_secret") {
		t.Errorf("ConnectFlow on a page without the form: %v", err)
	}
}

func TestGuardRefusesRequestsPastLoopback(t *testing.T) {
	b, err := Start(context.Background(), Options{Path: Require(t), UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if out := b.OutsideRequests(); len(out) != 0 {
		t.Fatalf("the browser reached past loopback at startup: %v", out)
	}
	res, err := b.Open(timeout(t), "http://tether-guard-check.invalid/probe?token=secret")
	if err == nil && (res.Status != http.StatusForbidden || !strings.Contains(res.Text, "blocked by the test browser's guard")) {
		t.Errorf("an outside page loaded: %d %q", res.Status, res.Text)
	}
	_, _ = b.Open(timeout(t), "https://tether-guard-check.invalid/probe")
	// The browser may also ask for the outside page's /favicon.ico; the two requests above must be there.
	got := strings.Join(b.OutsideRequests(), "|")
	for _, want := range []string{"CONNECT tether-guard-check.invalid:443", "GET tether-guard-check.invalid/probe"} {
		if !strings.Contains("|"+got+"|", "|"+want+"|") {
			t.Errorf("the guard saw %s, want %s among them", got, want)
		}
	}
}

// TestCommandLine checks the switches Chromium actually runs with, as the kernel has them.
func TestCommandLine(t *testing.T) {
	b := New(t)
	proc := chromedp.FromContext(b.ctx).Browser.Process()
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", proc.Pid))
	if err != nil {
		t.Skipf("no /proc command line: %v", err)
	}
	args := strings.Split(strings.TrimRight(string(raw), "\x00"), "\x00")
	has := map[string]bool{}
	for _, a := range args {
		has[a] = true
	}
	for _, f := range append(Flags, "--proxy-server=http://"+b.guard.addr, "--remote-debugging-pipe",
		"--gaia-url=http://"+b.guard.addr, "--component-updater=url-source=http://"+b.guard.addr+"/component-updater") {
		if !has[f] {
			t.Errorf("chromium runs without %s", f)
		}
	}
	for _, a := range args {
		if strings.HasPrefix(a, "--enable-features=") || a == "--enable-automation" {
			t.Errorf("chromium runs with chromedp's default %s", a)
		}
	}
	t.Logf("command line: %s", strings.Join(args, " "))
	t.Logf("service requests the guard refused on loopback: %v", b.ServiceRequests())
	if v, err := b.Version(timeout(t)); err == nil {
		t.Logf("version: %s", v)
	}
}

func TestFind(t *testing.T) {
	t.Setenv("CHROMIUM", "/nonexistent/chromium")
	if _, err := Find(); err == nil || !strings.Contains(err.Error(), "CHROMIUM=/nonexistent/chromium") {
		t.Errorf("Find with a missing CHROMIUM: %v", err)
	}
}

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:8080/oauth/callback?code=c&state=s": "http://localhost:8080/oauth/callback",
		"http://u:p@127.0.0.1/x#frag":                         "http://127.0.0.1/x",
		"http://127.0.0.1/x?":                                 "http://127.0.0.1/x",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
