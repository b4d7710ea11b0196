// Package browser drives a real headless Chromium for the tests that walk the OAuth connect flow as a merchant
// does: open the operator's connect URL, log in on the platform sandbox's consent page, authorize or deny, and
// land on the operator's callback. It starts Debian's chromium through chromedp, with a fresh profile, and
// keeps it off the network: every request the browser makes to a host outside loopback goes to a guard proxy
// that refuses and records it, and the tests fail when it saw any.
package browser

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// DefaultStepTimeout bounds each step of a flow (load a page, wait for the form, type, submit and land) when
// Options.StepTimeout is zero.
const DefaultStepTimeout = 20 * time.Second

// Find returns the Chromium executable: $CHROMIUM when set (a path, or a name looked up on PATH), else
// chromium or chromium-browser on PATH.
func Find() (string, error) {
	if env := os.Getenv("CHROMIUM"); env != "" {
		path, err := exec.LookPath(env)
		if err != nil {
			return "", fmt.Errorf("CHROMIUM=%s is not an executable: %w", env, err)
		}
		return path, nil
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if path, err := exec.LookPath(name); err == nil {
			return path, nil
		}
	}
	return "", errors.New("neither chromium nor chromium-browser is on PATH and CHROMIUM is not set")
}

// Require returns the Chromium executable for a test. Without one, it fails the test under CI=true (CI
// installs chromium, so a missing one is a broken CI) and skips it elsewhere, saying how to get one.
func Require(t testing.TB) string {
	t.Helper()
	path, err := Find()
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("browser tests need Chromium: %v; install it with `apt-get install chromium` "+
		"(Debian's package) or set CHROMIUM to a Chromium executable", err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Options configure a browser.
type Options struct {
	// Path is the Chromium executable; Find's answer when empty.
	Path string
	// UserDataDir is the profile directory; it should be new and empty. Required.
	UserDataDir string
	// StepTimeout bounds each step of a flow; DefaultStepTimeout when zero.
	StepTimeout time.Duration
}

// Browser is a running headless Chromium. Its methods are safe to call from several goroutines: each call
// opens its own tab, and the tabs share the profile, so cookies one call gets are sent by the next.
type Browser struct {
	path        string
	stepTimeout time.Duration
	guard       *guard
	output      *tailBuffer

	allocCtx    context.Context
	cancelAlloc context.CancelFunc
	ctx         context.Context // the browser's first tab; its children are tabs of the same browser
	cancel      context.CancelFunc

	closeOnce sync.Once
	closeErr  error
}

// Flags are Chromium's command-line switches the browser starts with, besides the ones that name the
// profile and the guard (--user-data-dir, --proxy-server, --gaia-url, --component-updater) and what chromedp
// itself adds (--remote-debugging-pipe, and the first page, about:blank). None of chromedp's default
// allocator flags are used: this list is the whole of it.
//
// The first eight are the test's contract. The rest keep Chromium from reaching past loopback on its own;
// chromedp's defaults cover part of it, and some of what they cover did not hold on Chromium 156, which
// with only those switches still asked for the network time, an on-device model manifest (an on-demand
// component install, which --disable-component-update does not stop), the Google accounts list, and a
// password leak check after the consent form was submitted:
//   - crash reporting: --disable-breakpad and --disable-crash-reporter (chromedp sets only the first);
//   - metrics: --metrics-recording-only records and never uploads;
//   - --disable-features: translate, media router, optimization hints, autofill's server queries, the
//     certificate transparency and privacy-sandbox component fetches, and network time queries (chromedp
//     disables Translate only);
//   - default apps and extensions: --disable-default-apps and --disable-extensions (Debian's wrapper adds
//     --enable-remote-extensions, which these override);
//   - Safe Browsing and phishing-model downloads: --safebrowsing-disable-auto-update and
//     --disable-client-side-phishing-detection;
//   - domain reliability beacons, hyperlink-auditing pings and field trial configs: --disable-domain-reliability,
//     --no-pings and --disable-field-trial-config (chromedp sets none of these);
//   - DNS: with a proxy, Chromium leaves names to the proxy, and the guard resolves nothing (a net log of a
//     run showed only cache lookups of the refused hosts, no DNS query). --host-resolver-rules is not used:
//     "MAP * ~NOTFOUND" also broke the loopback addresses;
//   - the OS keyring and default-browser prompts: --password-store=basic, --use-mock-keychain and
//     --no-default-browser-check.
//
// The profile's Preferences (see preferences) turn off the password manager's leak check, sign-in, Safe
// Browsing, network prediction and search suggestions; --gaia-url and --component-updater=url-source point
// the accounts list and the component updater at the guard, which refuses them on loopback.
var Flags = []string{
	"--headless",
	"--no-sandbox",
	"--disable-gpu",
	"--disable-quic",
	"--no-first-run",
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",

	"--disable-breakpad",
	"--disable-crash-reporter",
	"--metrics-recording-only",
	"--disable-features=Translate,MediaRouter,DialMediaRouteProvider,OptimizationHints," +
		"AutofillServerCommunication,CertificateTransparencyComponentUpdater,PrivacySandboxSettings4,NetworkTimeServiceQuerying",
	"--disable-default-apps",
	"--disable-extensions",
	"--safebrowsing-disable-auto-update",
	"--disable-client-side-phishing-detection",
	"--disable-domain-reliability",
	"--no-pings",
	"--disable-field-trial-config",
	"--password-store=basic",
	"--use-mock-keychain",
	"--no-default-browser-check",
}

// New starts a browser for a test: Require's Chromium, a profile in t.TempDir(), closed when the test ends.
// The test then fails if the browser sent any request past loopback.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Require(t)
	b, err := Start(context.Background(), Options{Path: path, UserDataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("closing the browser: %v", err)
		}
		if out := b.OutsideRequests(); len(out) > 0 {
			t.Errorf("the browser tried to reach past loopback (the guard refused): %s", strings.Join(out, ", "))
		}
	})
	return b
}

// Start starts Chromium and waits until it answers. The browser runs until Close or until ctx ends.
func Start(ctx context.Context, opts Options) (*Browser, error) {
	if opts.UserDataDir == "" {
		return nil, errors.New("browser: Options.UserDataDir is required (a new, empty directory)")
	}
	if opts.Path == "" {
		path, err := Find()
		if err != nil {
			return nil, err
		}
		opts.Path = path
	}
	if opts.StepTimeout <= 0 {
		opts.StepTimeout = DefaultStepTimeout
	}
	g, err := startGuard()
	if err != nil {
		return nil, err
	}
	b := &Browser{path: opts.Path, stepTimeout: opts.StepTimeout, guard: g, output: &tailBuffer{max: 8 << 10}}

	if err := writePreferences(opts.UserDataDir); err != nil {
		g.close()
		return nil, err
	}
	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(opts.Path),
		chromedp.UserDataDir(opts.UserDataDir),
		chromedp.ProxyServer("http://" + g.addr),
		chromedp.Flag("gaia-url", "http://"+g.addr), // an origin: with a path, Chromium ignores it,
		chromedp.Flag("component-updater", "url-source=http://"+g.addr+"/component-updater"),
		chromedp.CombinedOutput(b.output),
	}
	for _, f := range Flags {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(f, "--"), "=")
		if hasValue {
			allocOpts = append(allocOpts, chromedp.Flag(name, value))
		} else {
			allocOpts = append(allocOpts, chromedp.Flag(name, true))
		}
	}
	b.allocCtx, b.cancelAlloc = chromedp.NewExecAllocator(ctx, allocOpts...)
	b.ctx, b.cancel = chromedp.NewContext(b.allocCtx)

	// The first Run starts the browser and binds its life to the context it gets, so it gets the browser's
	// own context; the wait for it is bounded separately.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(b.ctx) }()
	// Starting can take longer than a short step timeout on a busy machine.
	startTimeout := max(opts.StepTimeout, DefaultStepTimeout)
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case err = <-started:
	case <-timer.C:
		err = fmt.Errorf("no answer within %v", startTimeout)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("browser: starting %s: %w; its output:\n%s", opts.Path, err, b.output.String())
	}
	return b, nil
}

// Path is the Chromium executable the browser runs.
func (b *Browser) Path() string { return b.path }

// Version returns the browser's product and version, as "Chrome/<version>".
func (b *Browser) Version(ctx context.Context) (string, error) {
	sctx, cancel := b.stepContext(ctx, b.ctx)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[string](`navigator.userAgent`))
	if err != nil {
		return "", err
	}
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "HeadlessChrome/") || strings.HasPrefix(f, "Chrome/") {
			return f, nil
		}
	}
	return v, nil
}

// ServiceRequests lists the requests of Chromium's own services that the flags point at the guard (the
// accounts list, the component updater), which it refused on loopback, as "METHOD /path". They are no
// failure; a test can log them.
func (b *Browser) ServiceRequests() []string { return b.guard.seenDirect() }

// OutsideRequests lists the requests the browser sent to hosts outside loopback, which the guard refused,
// as "METHOD host/path" (never the query). It is empty when the browser kept to loopback.
func (b *Browser) OutsideRequests() []string { return b.guard.seen() }

// Output is the tail of what Chromium printed, for diagnostics.
func (b *Browser) Output() string { return b.output.String() }

// Close stops the browser, removes nothing it was not given (the caller owns UserDataDir), and stops the
// guard. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		if b.cancel != nil {
			b.cancel()
			b.closeErr = chromedp.Cancel(b.ctx)
			if errors.Is(b.closeErr, context.Canceled) {
				b.closeErr = nil
			}
		}
		if b.cancelAlloc != nil {
			b.cancelAlloc() // waits for the process to exit
		}
		b.guard.close()
	})
	return b.closeErr
}

// Result is the page a flow ended on.
type Result struct {
	// FinalURL is the page's address after every redirect. It can carry an authorization code: do not log it.
	FinalURL string
	// Status is the HTTP status of the page's document (0 when the browser did not report one).
	Status int
	Title  string
	// Text is document.body.innerText.
	Text string
}

// ConsentError reports that submitting the consent form landed on the consent form again, as a wrong login
// does. Result then describes that page, Message is the page's error text.
type ConsentError struct {
	URL     string // without its query
	Message string
}

func (e *ConsentError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("browser: still on the consent form at %s after submitting it", e.URL)
	}
	return fmt.Sprintf("browser: still on the consent form at %s after submitting it: %s", e.URL, e.Message)
}

// ConnectFlow opens connectURL (the operator's connect endpoint, which redirects to the platform's consent
// page), waits for the consent form, types username and password, clicks Authorize, and returns the page it
// lands on once that page has loaded. If that page is the consent form again (a wrong login), it returns
// the page and a *ConsentError.
func (b *Browser) ConnectFlow(ctx context.Context, connectURL, username, password string) (Result, error) {
	return b.flow(ctx, connectURL, "#authorize", func(tab context.Context, at string) error {
		if err := b.step(ctx, tab, "type the username", at, chromedp.SendKeys(chromedp.CSS("#username"), username)); err != nil {
			return err
		}
		return b.step(ctx, tab, "type the password", at, chromedp.SendKeys(chromedp.CSS("#password"), password))
	})
}

// DenyFlow opens connectURL like ConnectFlow, clicks Deny on the consent form without logging in, and returns
// the page it lands on.
func (b *Browser) DenyFlow(ctx context.Context, connectURL string) (Result, error) {
	return b.flow(ctx, connectURL, "#deny", nil)
}

// Open loads rawURL in a new tab, following redirects, and returns the page it lands on: for a test that
// opens a replayed or forged callback and reads what the operator answers.
func (b *Browser) Open(ctx context.Context, rawURL string) (Result, error) {
	tab, closeTab, err := b.tab(ctx)
	if err != nil {
		return Result{}, err
	}
	defer closeTab()
	status, err := b.navigate(ctx, tab, rawURL)
	if err != nil {
		return Result{}, err
	}
	return b.read(ctx, tab, status)
}

func (b *Browser) flow(ctx context.Context, connectURL, button string, fill func(tab context.Context, at string) error) (Result, error) {
	tab, closeTab, err := b.tab(ctx)
	if err != nil {
		return Result{}, err
	}
	defer closeTab()
	if _, err := b.navigate(ctx, tab, connectURL); err != nil {
		return Result{}, err
	}
	at, err := b.location(ctx, tab)
	if err != nil {
		return Result{}, err
	}
	if err := b.step(ctx, tab, "wait for the consent form (#username)", at, chromedp.WaitVisible(chromedp.CSS("#username"))); err != nil {
		return Result{}, err
	}
	if fill != nil {
		if err := fill(tab, at); err != nil {
			return Result{}, err
		}
	}
	var status int
	err = b.step(ctx, tab, "click "+button+" and wait for the next page", at, chromedp.Func(func(sctx context.Context, t *chromedp.Target) error {
		resp, err := chromedp.RunResponse(sctx, chromedp.Click(chromedp.CSS(button)))
		if resp != nil {
			status = int(resp.Status)
		}
		return err
	}))
	if err != nil {
		return Result{}, err
	}
	res, err := b.read(ctx, tab, status)
	if err != nil {
		return res, err
	}
	onForm, err := b.eval(ctx, tab, "check whether the page is the consent form", res.FinalURL,
		`document.querySelector('#consent') !== null && document.querySelector('#username') !== null`)
	if err != nil {
		return res, err
	}
	if onForm == true {
		msg, _ := b.eval(ctx, tab, "read the consent form's error", res.FinalURL,
			`(document.querySelector('#error') || {}).innerText || ''`)
		s, _ := msg.(string)
		return res, &ConsentError{URL: Redact(res.FinalURL), Message: s}
	}
	return res, nil
}

// tab opens a new tab in the browser; closeTab closes it.
func (b *Browser) tab(ctx context.Context) (context.Context, func(), error) {
	tab, cancel := chromedp.NewContext(b.ctx)
	// The first Run on a tab binds the tab's life to its context, so it gets the tab's own context, bounded by
	// a watchdog rather than a deadline.
	done := make(chan error, 1)
	go func() { done <- chromedp.Do(tab) }()
	tabTimeout := max(b.stepTimeout, DefaultStepTimeout)
	timer := time.NewTimer(tabTimeout)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		err = fmt.Errorf("no new tab within %v", tabTimeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		cancel()
		return nil, nil, fmt.Errorf("browser: open a tab: %w", err)
	}
	return tab, cancel, nil
}

// step runs one action on the tab within the step timeout and the caller's context, and names the step and
// the page (without its query) when it fails.
func (b *Browser) step(ctx, tab context.Context, what, at string, action chromedp.Action[chromedp.Void]) error {
	sctx, cancel := b.stepContext(ctx, tab)
	defer cancel()
	if _, err := chromedp.Run(sctx, action); err != nil {
		return b.stepError(ctx, what, at, err)
	}
	return nil
}

func (b *Browser) stepContext(ctx, tab context.Context) (context.Context, context.CancelFunc) {
	sctx, cancel := context.WithTimeout(tab, b.stepTimeout)
	stop := context.AfterFunc(ctx, cancel)
	return sctx, func() { stop(); cancel() }
}

func (b *Browser) stepError(ctx context.Context, what, at string, err error) error {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (%w)", ctx.Err(), err)
	} else if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("timed out after %v: %w", b.stepTimeout, err)
	}
	return fmt.Errorf("browser: %s at %s: %w", what, Redact(at), err)
}

func (b *Browser) navigate(ctx, tab context.Context, rawURL string) (int, error) {
	sctx, cancel := b.stepContext(ctx, tab)
	defer cancel()
	resp, err := chromedp.Run(sctx, chromedp.NavigateResponse(rawURL))
	if err != nil {
		return 0, b.stepError(ctx, "load", rawURL, err)
	}
	if resp == nil {
		return 0, nil
	}
	return int(resp.Status), nil
}

func (b *Browser) location(ctx, tab context.Context) (string, error) {
	sctx, cancel := b.stepContext(ctx, tab)
	defer cancel()
	loc, err := chromedp.Run(sctx, chromedp.Location())
	if err != nil {
		return "", b.stepError(ctx, "read the page's address", "the current page", err)
	}
	return loc, nil
}

func (b *Browser) eval(ctx, tab context.Context, what, at, expr string) (any, error) {
	sctx, cancel := b.stepContext(ctx, tab)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[any](expr))
	if err != nil {
		return nil, b.stepError(ctx, what, at, err)
	}
	return v, nil
}

// read describes the tab's current page.
func (b *Browser) read(ctx, tab context.Context, status int) (Result, error) {
	loc, err := b.location(ctx, tab)
	if err != nil {
		return Result{}, err
	}
	sctx, cancel := b.stepContext(ctx, tab)
	defer cancel()
	page, err := chromedp.Run(sctx, chromedp.Evaluate[pageInfo](
		`({title: document.title, text: document.body ? document.body.innerText : ''})`))
	if err != nil {
		return Result{FinalURL: loc, Status: status}, b.stepError(ctx, "read the page", loc, err)
	}
	return Result{FinalURL: loc, Status: status, Title: page.Title, Text: page.Text}, nil
}

type pageInfo struct {
	Title string `json:"title"`
	Text  string `json:"text"`
}

// Redact returns rawURL without its query, fragment and user info, for errors and logs: an OAuth callback's
// query carries the authorization code.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		if i := strings.IndexAny(rawURL, "?#"); i >= 0 {
			return rawURL[:i]
		}
		return rawURL
	}
	u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment, u.User = "", false, "", "", nil
	return u.String()
}

// preferences is the new profile's Default/Preferences: the services that only a preference turns off.
const preferences = `{
  "credentials_enable_service": false,
  "profile": {"password_manager_enabled": false, "password_manager_leak_detection": false},
  "signin": {"allowed": false, "allowed_on_next_startup": false},
  "safebrowsing": {"enabled": false},
  "net": {"network_prediction_options": 2},
  "search": {"suggest_enabled": false},
  "translate": {"enabled": false},
  "alternate_error_pages": {"enabled": false},
  "autofill": {"profile_enabled": false, "credit_card_enabled": false}
}
`

// writePreferences writes preferences into a profile that has none yet.
func writePreferences(userDataDir string) error {
	dir := filepath.Join(userDataDir, "Default")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("browser: profile: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "Preferences"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("browser: profile: %w", err)
	}
	if _, err := f.WriteString(preferences); err != nil {
		f.Close()
		return fmt.Errorf("browser: profile: %w", err)
	}
	return f.Close()
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if over := len(t.buf) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}
