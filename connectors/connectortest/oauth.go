package connectortest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/connectors"
)

// OAuthFlow is one run of a platform's connect flow against its sandbox, driven over HTTP the way a browser
// would: open the authorize URL, log in on the consent page, authorize, follow the redirect to the callback.
type OAuthFlow struct {
	Platform connectors.Platform
	Sandbox  connectors.OAuthSandbox
	// App is what the flow works from; Connect fills RedirectURL with its own callback server.
	App connectors.App
	// State and Verifier are what the operator would generate; Connect fills them when empty.
	State, Verifier string
	// Deny presses Deny instead of Authorize.
	Deny bool
	// Password overrides the sandbox login's password (to test a wrong login).
	Password string
}

// Callback is what arrived at the callback URL.
type Callback struct {
	Query url.Values
	// Page is the last page the browser saw before the callback (the consent page when the flow stopped
	// there).
	Page string
}

// Authorize runs the browser part of the flow and returns the callback's query. It fails the test when the
// flow does not reach the callback.
func (f *OAuthFlow) Authorize(t testing.TB, endpoint string) Callback {
	t.Helper()
	if f.Platform.OAuth == nil {
		t.Fatalf("%s has no OAuth flow", f.Platform.Name)
	}
	got := make(chan url.Values, 1)
	cb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.Query():
		default:
		}
		_, _ = io.WriteString(w, "callback received")
	}))
	t.Cleanup(cb.Close)
	f.App.RedirectURL = cb.URL + "/oauth/callback"
	f.Sandbox.RegisterRedirect(f.App.RedirectURL)
	if f.App.Connection.Endpoint == "" {
		f.App.Connection = f.Sandbox.Connection(endpoint)
	}
	if f.App.Credentials == nil {
		f.App.Credentials = f.Sandbox.AppCredentials()
	}
	if f.App.HTTPClient == nil {
		f.App.HTTPClient = http.DefaultClient
	}
	if f.State == "" {
		f.State = randomString()
	}
	if f.Platform.OAuth.PKCE && f.Verifier == "" {
		f.Verifier = oauth2.GenerateVerifier()
	}
	authURL, err := f.Platform.OAuth.AuthCodeURL(f.App, f.State, f.Verifier)
	if err != nil {
		t.Fatalf("AuthCodeURL: %v", err)
	}
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatalf("open the authorize URL: %v", err)
	}
	page := readBody(resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("authorize page answered HTTP %d: %s", resp.StatusCode, page)
	}
	user, pass := f.Sandbox.Login()
	if f.Password != "" {
		pass = f.Password
	}
	resp, err = SubmitConsent(browser, resp.Request.URL.String(), page, user, pass, f.Deny)
	if err != nil {
		t.Fatalf("submit the consent form: %v", err)
	}
	page = readBody(resp)
	select {
	case q := <-got:
		return Callback{Query: q, Page: page}
	default:
		return Callback{Page: page}
	}
}

// Connect runs the whole flow (Authorize, then Exchange) and returns the token.
func (f *OAuthFlow) Connect(t testing.TB, endpoint string) connectors.Token {
	t.Helper()
	cb := f.Authorize(t, endpoint)
	if cb.Query == nil {
		t.Fatalf("the flow did not reach the callback; last page: %s", cb.Page)
	}
	if f.Platform.OAuth.StateInCallback && cb.Query.Get("state") != f.State {
		t.Fatalf("callback state = %q, want %q", cb.Query.Get("state"), f.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tok, err := f.Platform.OAuth.Exchange(ctx, f.App, cb.Query, f.Verifier)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.AccessToken == "" {
		t.Fatal("Exchange returned no access token")
	}
	return tok
}

// SubmitConsent fills in a sandbox consent page (the form sandboxkit.AuthServer.Consent renders) the way a
// browser would: the page's hidden fields, the login, and Authorize or Deny, posted back to pageURL with
// browser (whose cookie jar and redirect policy apply).
func SubmitConsent(browser *http.Client, pageURL, page, username, password string, deny bool) (*http.Response, error) {
	form := url.Values{}
	for _, m := range hiddenField.FindAllStringSubmatch(page, -1) {
		form.Add(htmlUnescape(m[1]), htmlUnescape(m[2]))
	}
	form.Set("username", username)
	form.Set("password", password)
	if deny {
		form.Set("deny", "1")
	} else {
		form.Set("authorize", "1")
	}
	return browser.PostForm(pageURL, form)
}

// ReadPage reads and closes a response body (at most 1 MiB).
func ReadPage(resp *http.Response) string { return readBody(resp) }

// Config is a connector Config for the OAuth token: Tokens is a Keeper over a memory store holding tok.
func (f *OAuthFlow) Config(tok connectors.Token) (connectors.Config, *connectors.Keeper) {
	k := &connectors.Keeper{Flow: f.Platform.OAuth, App: f.App, Store: connectors.NewMemoryTokenStore(tok)}
	return connectors.Config{Connection: f.App.Connection, Credentials: f.App.Credentials, HTTPClient: f.App.HTTPClient,
		Tokens: k}, k
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`)
	return r.Replace(s)
}

func readBody(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return string(b)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// ErrorCode returns the RFC 6749 error of a callback, if any, for tests of declined consent.
func (c Callback) ErrorCode() string { return c.Query.Get("error") }

// String describes the callback without its code.
func (c Callback) String() string {
	q := url.Values{}
	for k, v := range c.Query {
		if k != "code" && k != "spapi_oauth_code" {
			q[k] = v
		}
	}
	return fmt.Sprintf("callback %s", q.Encode())
}
