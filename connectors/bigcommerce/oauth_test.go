package bigcommerce

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/internal/tether"
)

type oauthEnv struct {
	sb   registeredSandbox
	url  string
	flow *connectortest.OAuthFlow
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	sb := newRegisteredSandbox(connectors.SandboxOptions{Seed: 5, Orders: 120, Products: 20, Locations: 2, Unlimited: true}).(registeredSandbox)
	srv := connectortest.Serve(t, sb)
	p := connectortest.Registered(t, v1alpha1.PlatformBigCommerce)
	return &oauthEnv{sb: sb, url: srv.URL, flow: &connectortest.OAuthFlow{Platform: p, Sandbox: sb}}
}

func (e *oauthEnv) oauthConnector(t *testing.T, tok connectors.Token) (*Connector, *connectors.Keeper) {
	t.Helper()
	cfg, k := e.flow.Config(tok)
	cfg.Log = logr.Discard()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.SetRetryDelays(time.Millisecond, 20*time.Millisecond)
	return c, k
}

func assertNoSecret(t *testing.T, err error, values ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range append(values, SandboxClientSecret) {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Fatalf("error %q contains a secret value", err)
		}
	}
}

func TestOAuthInstallReadsEverything(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	if !tok.Expiry.IsZero() || tok.RefreshToken != "" {
		t.Fatalf("BigCommerce tokens never expire; got expiry %v, refresh token set %v", tok.Expiry, tok.RefreshToken != "")
	}
	if tok.Extra[ExtraContext] != "stores/"+e.sb.StoreHash() || tok.Extra[ExtraAccountUUID] != SandboxAccountUUID || tok.Extra[ExtraUserID] == "" {
		t.Fatalf("Extra = %v", tok.Extra)
	}
	if tok.Scope != strings.Join(Scopes, " ") {
		t.Fatalf("scope = %q", tok.Scope)
	}
	c, k := e.oauthConnector(t, tok)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := e.sb.Expected()
	if want[tether.KindSalesOrder] == 0 || want[tether.KindInventoryLevel] == 0 {
		t.Fatalf("the sandbox is empty: %v", want)
	}
	got := connectortest.ReadKinds(t, c, DefaultMapping(), allEntities, nil)
	for kind, n := range want {
		if got[kind] != n {
			t.Errorf("%s: read %d, the sandbox has %d", kind, got[kind], n)
		}
	}
	if k.Refreshes() != 0 {
		t.Fatal("a token that never expires was refreshed")
	}
}

func TestOAuthFlowShape(t *testing.T) {
	if OAuth.StateInCallback || OAuth.PKCE || OAuth.Refresh != nil || OAuth.Revoke != nil {
		t.Fatal("BigCommerce's install flow carries no state, has no PKCE, and its tokens neither refresh nor revoke")
	}
	app := connectors.App{Connection: v1alpha1.Connection{StoreHash: "abc123"},
		Credentials: map[string][]byte{AppKeyClientID: []byte("clientid1"), AppKeyClientSecret: []byte("secret")}}
	got, err := OAuth.AuthCodeURL(app, "state", "")
	if err != nil {
		t.Fatal(err)
	}
	if got != "https://login.bigcommerce.com/app/clientid1/install" {
		t.Fatalf("install URL = %s", got)
	}
}

func TestOAuthRevokedGrantDisconnects(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	c, _ := e.oauthConnector(t, tok)
	e.sb.Auth().RevokeAll() // the store owner uninstalled the app
	_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("read after uninstall: %v (%v, %s), want TokenRevoked", err, cl, reason)
	}
	assertNoSecret(t, err, tok.AccessToken)
}

func TestOAuthExchangeRejectsBadCallbacks(t *testing.T) {
	e := newOAuthEnv(t)
	cb := e.flow.Authorize(t, e.url)
	if cb.Query == nil {
		t.Fatalf("no callback; page: %s", cb.Page)
	}
	if cb.Query.Has("state") || cb.Query.Get("context") != "stores/"+e.sb.StoreHash() {
		t.Fatalf("callback = %s", cb)
	}
	ctx := context.Background()
	code := cb.Query.Get("code")

	other := url.Values{"code": {code}, "scope": cb.Query["scope"], "context": {"stores/otherstore"}}
	_, err := OAuth.Exchange(ctx, e.flow.App, other, "")
	if err == nil || !strings.Contains(err.Error(), "otherstore") {
		t.Fatalf("context of another store: %v", err)
	}
	assertNoSecret(t, err, code)
	if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
		t.Fatal("a code was exchanged for another store's callback")
	}

	// The redirect_uri must be the registered Auth Callback URL.
	wrong := e.flow.App
	wrong.RedirectURL = "https://attacker.example/oauth/callback"
	_, err = OAuth.Exchange(ctx, wrong, cb.Query, "")
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("wrong redirect_uri: %v (%v, %s), want invalid_grant", err, cl, reason)
	}
	assertNoSecret(t, err, code)

	// Codes are single use: the attempt above spent it. A fresh one exchanges once.
	cb = e.flow.Authorize(t, e.url)
	code = cb.Query.Get("code")
	tok, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = OAuth.Exchange(ctx, e.flow.App, cb.Query, "")
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("code reuse: %v (%v, %s), want invalid_grant", err, cl, reason)
	}
	assertNoSecret(t, err, code, tok.AccessToken)

	// A wrong client secret is the app registration's fault.
	cb = e.flow.Authorize(t, e.url)
	bad := e.flow.App
	bad.Credentials = map[string][]byte{AppKeyClientID: []byte(SandboxClientID), AppKeyClientSecret: []byte("wrong-secret")}
	_, err = OAuth.Exchange(ctx, bad, cb.Query, "")
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonUnauthorized {
		t.Fatalf("wrong client secret: %v (%v, %s)", err, cl, reason)
	}
	assertNoSecret(t, err, "wrong-secret", cb.Query.Get("code"))
}

func TestOAuthInstallPage(t *testing.T) {
	t.Run("deny", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Deny = true
		cb := e.flow.Authorize(t, e.url)
		if cb.ErrorCode() != "access_denied" || cb.Query.Get("code") != "" {
			t.Fatalf("deny: %s", cb)
		}
		if _, err := OAuth.Exchange(context.Background(), e.flow.App, cb.Query, ""); err == nil {
			t.Fatal("a cancelled install was exchanged")
		}
		if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
			t.Fatal("a code was exchanged after deny")
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Password = "wrong"
		cb := e.flow.Authorize(t, e.url)
		if cb.Query != nil || !strings.Contains(cb.Page, `id="password"`) || !strings.Contains(cb.Page, "Wrong username or password") {
			t.Fatalf("wrong password left the install page: %s / %s", cb, cb.Page)
		}
	})
	t.Run("unknown app or no callback", func(t *testing.T) {
		e := newOAuthEnv(t)
		for _, tc := range []struct {
			name, path string
			register   bool
		}{
			{"no Auth Callback URL", "/app/" + SandboxClientID + "/install", false},
			{"unknown client", "/app/someoneelse/install", true},
		} {
			if tc.register {
				e.sb.RegisterRedirect("https://operator.example/oauth/callback")
			}
			resp, err := http.Get(e.url + tc.path)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), `id="authorize"`) {
				t.Fatalf("%s: HTTP %d %s", tc.name, resp.StatusCode, body)
			}
		}
	})
}

func TestAPIAccountTokenStillWorks(t *testing.T) {
	e := newOAuthEnv(t)
	c, err := New(connectors.Config{Connection: e.sb.Connection(e.url), Credentials: e.sb.Credentials(), Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	// App credentials without a token Secret are not API credentials.
	_, err = New(connectors.Config{Connection: e.sb.Connection(e.url), Credentials: e.sb.AppCredentials()})
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonCredentialsNotFound {
		t.Fatalf("New with only app keys: %v", err)
	}
}

// swapTokens hands out cur until a Renew for it, then next: the operator's keeper after a reinstall stored a
// new token while requests with the old one were in flight.
type swapTokens struct {
	mu        sync.Mutex
	cur, next connectors.Token
	renews    int
}

func (s *swapTokens) Token(context.Context) (connectors.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur, nil
}

func (s *swapTokens) Renew(_ context.Context, stale string) (connectors.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.renews++
	if stale == s.cur.AccessToken && s.next.AccessToken != "" {
		s.cur = s.next
	}
	return s.cur, nil
}

// BigCommerce tokens do not expire, but a reinstall (the owner accepting changed scopes) replaces the token
// mid-sync: the connector's 401 makes it renew, it gets the new token, and the read completes.
func TestOAuthReinstallMidSync(t *testing.T) {
	e := newOAuthEnv(t)
	old := e.flow.Connect(t, e.url)
	tokens := &swapTokens{cur: old}
	c, err := New(connectors.Config{Connection: e.flow.App.Connection, Credentials: e.flow.App.Credentials, Tokens: tokens, Log: logr.Discard()})
	if err != nil {
		t.Fatal(err)
	}
	c.SetRetryDelays(time.Millisecond, 20*time.Millisecond)
	c.PageSizes.Orders = 25
	res, err := connectortest.ReadWith(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, connectortest.ReadOptions{
		OnPage: func(n int, _ connectors.Page) {
			if n != 1 {
				return
			}
			again := &connectortest.OAuthFlow{Platform: e.flow.Platform, Sandbox: e.sb}
			next := again.Connect(t, e.url)
			tokens.mu.Lock()
			tokens.next = next
			tokens.mu.Unlock()
			e.sb.Auth().Revoke(old.AccessToken)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Pages) < 2 {
		t.Fatalf("read %d pages; the test needs several", len(res.Pages))
	}
	if want := e.sb.Expected()[tether.KindSalesOrder]; int64(len(res.ByID)) != want || len(res.Records) != len(res.ByID) {
		t.Fatalf("read %d records (%d distinct), want %d once each", len(res.Records), len(res.ByID), want)
	}
	if tokens.renews < 1 {
		t.Fatal("the connector never renewed after the 401")
	}
}

var allEntities = []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
