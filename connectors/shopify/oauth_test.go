package shopify

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
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
	sb := newRegisteredSandbox(connectors.SandboxOptions{Seed: 3, Orders: 120, Products: 15, Locations: 2, Unlimited: true, Fast: true}).(registeredSandbox)
	srv := connectortest.Serve(t, sb)
	p := connectortest.Registered(t, v1alpha1.PlatformShopify)
	return &oauthEnv{sb: sb, url: srv.URL, flow: &connectortest.OAuthFlow{Platform: p, Sandbox: sb}}
}

// oauthConnector builds a connector over the OAuth token with test-speed delays.
func (e *oauthEnv) oauthConnector(t *testing.T, tok connectors.Token) (*Connector, *connectors.Keeper) {
	t.Helper()
	cfg, k := e.flow.Config(tok)
	cfg.Log = logr.Discard()
	cfg.PollInterval = 2 * time.Millisecond
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.RetryBaseDelay, c.MaxRetryDelay = time.Millisecond, 10*time.Millisecond
	return c, k
}

// assertNoSecret fails when an error's text holds the client secret or any of the given values.
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

func TestOAuthConnectReadsEverything(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	if tok.RefreshToken == "" || tok.Expiry.IsZero() || time.Until(tok.Expiry) > time.Hour || time.Until(tok.Expiry) < 59*time.Minute {
		t.Fatalf("want an expiring offline token (1 h, with a refresh token); got expiry %v, refresh token set %v", tok.Expiry, tok.RefreshToken != "")
	}
	if d := time.Until(tok.RefreshExpiry); d < 89*24*time.Hour || d > 90*24*time.Hour {
		t.Fatalf("refresh token lifetime = %v, want 90 days", d)
	}
	if tok.Extra[ExtraShop] != e.sb.ShopDomain() {
		t.Fatalf("Extra[shop] = %q, want %q", tok.Extra[ExtraShop], e.sb.ShopDomain())
	}
	if tok.Scope != strings.Join(Scopes, ",") {
		t.Fatalf("scope = %q", tok.Scope)
	}
	c, _ := e.oauthConnector(t, tok)
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := connectortest.ReadKinds(t, c, DefaultMapping(), allEntities, nil)
	if e.sb.Expected()[tether.KindSalesOrder] == 0 || e.sb.Expected()[tether.KindInventoryLevel] == 0 {
		t.Fatalf("the sandbox is empty: %v", e.sb.Expected())
	}
	for kind, n := range e.sb.Expected() {
		if got[kind] != n {
			t.Errorf("%s: read %d, the sandbox has %d", kind, got[kind], n)
		}
	}
	if ex, _, _ := e.sb.Auth().Counts(); ex != 1 {
		t.Fatalf("%d code exchanges, want 1", ex)
	}
}

func TestOAuthAuthorizeURLAsksForAnOfflineToken(t *testing.T) {
	app := connectors.App{Connection: v1alpha1.Connection{ShopDomain: "acme.myshopify.com"},
		Credentials: map[string][]byte{AppKeyClientID: []byte("id"), AppKeyClientSecret: []byte("secret")},
		RedirectURL: "https://operator.example/oauth/callback"}
	raw, err := OAuth.AuthCodeURL(app, "st", "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if u.Scheme != "https" || u.Host != "acme.myshopify.com" || u.Path != "/admin/oauth/authorize" {
		t.Fatalf("authorize URL = %s", raw)
	}
	if q.Get("client_id") != "id" || q.Get("state") != "st" || q.Get("redirect_uri") != app.RedirectURL ||
		q.Get("scope") != "read_orders,read_all_orders,read_products,read_inventory,read_locations" {
		t.Fatalf("authorize query = %v", q)
	}
	if q.Has("grant_options[]") || strings.Contains(raw, "secret") {
		t.Fatalf("authorize URL asks for an online token or leaks the secret: %s", raw)
	}
	app.Connection.ShopDomain = "evil.example.com"
	if _, err := OAuth.AuthCodeURL(app, "st", ""); err == nil {
		t.Fatal("a shop outside myshopify.com was accepted")
	}
}

func TestCallbackHMACMatchesShopifysExample(t *testing.T) {
	// The worked example of Shopify's OAuth documentation, signed with the secret "hush".
	q, _ := url.ParseQuery("code=0907a61c0c8d55e99db179b68161bc00&hmac=700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173")
	if got := CallbackHMAC(q, "hush"); got != q.Get("hmac") {
		t.Fatalf("hmac = %s, want %s", got, q.Get("hmac"))
	}
}

func TestOAuthTokenExpiresMidSync(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	c, k := e.oauthConnector(t, tok)
	c.BulkThreshold = 0 // page through the orders so the expiry lands between pages
	res, err := connectortest.ReadWith(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, connectortest.ReadOptions{
		OnPage: func(n int, _ connectors.Page) {
			if n == 1 {
				e.sb.Auth().ExpireAccessTokens()
			}
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
	if k.Refreshes() < 1 {
		t.Fatal("the keeper never refreshed")
	}
	// Shopify rotates refresh tokens: the one the connect flow returned is spent.
	_, err = OAuth.Refresh(context.Background(), e.flow.App, tok)
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("refresh with the rotated-out token: %v (%v, %s), want TokenRevoked", err, cl, reason)
	}
	assertNoSecret(t, err, tok.AccessToken, tok.RefreshToken)
}

func TestOAuthRevokedGrantDisconnects(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	c, _ := e.oauthConnector(t, tok)
	e.sb.Auth().RevokeAll()
	_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("read after the merchant uninstalled: %v (%v, %s), want TokenRevoked", err, cl, reason)
	}
	assertNoSecret(t, err, tok.AccessToken, tok.RefreshToken)
}

func TestOAuthRevokeUninstallsTheApp(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.url)
	c, _ := e.oauthConnector(t, tok)
	if err := OAuth.Revoke(context.Background(), e.flow.App, tok); err != nil {
		t.Fatal(err)
	}
	if _, _, rev := e.sb.Auth().Counts(); rev != 1 {
		t.Fatalf("%d revocations, want 1", rev)
	}
	if _, ok := e.sb.Auth().Access(tok.AccessToken); ok {
		t.Fatal("the access token still works after the uninstall")
	}
	err := c.Check(context.Background())
	if cl, _ := connectors.Classify(err); cl != connectors.ClassAuth {
		t.Fatalf("check after revoke: %v, want an auth error", err)
	}
	// Revoking again is harmless: the app is already gone.
	if err := OAuth.Revoke(context.Background(), e.flow.App, tok); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
}

func TestOAuthExchangeRejectsBadCallbacks(t *testing.T) {
	e := newOAuthEnv(t)
	cb := e.flow.Authorize(t, e.url)
	if cb.Query == nil {
		t.Fatalf("no callback; page: %s", cb.Page)
	}
	app := e.flow.App
	ctx := context.Background()
	code := cb.Query.Get("code")
	resign := func(q url.Values) url.Values {
		q.Del("hmac")
		q.Set("hmac", CallbackHMAC(q, SandboxClientSecret))
		return q
	}
	clone := func() url.Values {
		q := url.Values{}
		for k, v := range cb.Query {
			q[k] = append([]string(nil), v...)
		}
		return q
	}
	cases := map[string]url.Values{}
	q := clone()
	q.Set("hmac", strings.Repeat("0", 64))
	cases["forged hmac"] = q
	q = clone()
	q.Del("hmac")
	cases["missing hmac"] = q
	q = clone()
	q.Set("state", "tampered")
	cases["tampered parameter"] = q
	q = clone()
	q.Set("shop", "other-shop.myshopify.com")
	cases["another shop"] = resign(q)
	q = clone()
	q.Set("shop", "acme.myshopify.com.evil.example")
	cases["not a myshopify domain"] = resign(q)
	for name, q := range cases {
		_, err := OAuth.Exchange(ctx, app, q, "")
		if err == nil {
			t.Fatalf("%s: exchange succeeded", name)
		}
		assertNoSecret(t, err, code)
	}
	if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
		t.Fatalf("%d codes exchanged for rejected callbacks", ex)
	}
	tok, err := OAuth.Exchange(ctx, app, cb.Query, "")
	if err != nil {
		t.Fatal(err)
	}
	// The code is single use.
	_, err = OAuth.Exchange(ctx, app, cb.Query, "")
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("code reuse: %v (%v, %s), want invalid_grant", err, cl, reason)
	}
	assertNoSecret(t, err, code, tok.AccessToken, tok.RefreshToken)
	// A wrong client secret is the app's registration's fault.
	bad := app
	bad.Credentials = map[string][]byte{AppKeyClientID: []byte(SandboxClientID), AppKeyClientSecret: []byte("shpss_wrong")}
	_, err = OAuth.Refresh(ctx, bad, tok)
	if cl, reason := connectors.Classify(err); cl != connectors.ClassAuth || reason != v1alpha1.ReasonUnauthorized {
		t.Fatalf("refresh with a wrong secret: %v (%v, %s)", err, cl, reason)
	}
	assertNoSecret(t, err, "shpss_wrong", tok.RefreshToken, tok.AccessToken)
}

func TestOAuthConsentPage(t *testing.T) {
	t.Run("deny", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Deny = true
		cb := e.flow.Authorize(t, e.url)
		if cb.ErrorCode() != "access_denied" || cb.Query.Get("code") != "" || cb.Query.Get("state") != e.flow.State {
			t.Fatalf("deny: %s", cb)
		}
		_, err := OAuth.Exchange(context.Background(), e.flow.App, cb.Query, "")
		if err == nil {
			t.Fatal("a denied callback was exchanged")
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
			t.Fatalf("wrong password left the consent page: %s / %s", cb, cb.Page)
		}
	})
	t.Run("unregistered redirect", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.sb.RegisterRedirect("https://operator.example/oauth/callback")
		app := connectors.App{Connection: e.sb.Connection(e.url), Credentials: e.sb.AppCredentials(),
			RedirectURL: "https://attacker.example/oauth/callback"}
		raw, err := OAuth.AuthCodeURL(app, "st", "")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "not registered") || strings.Contains(string(body), `id="authorize"`) {
			t.Fatalf("unregistered redirect: HTTP %d %s", resp.StatusCode, body)
		}
	})
}

func TestSandboxIssuesClassicTokensWithoutOptIn(t *testing.T) {
	e := newOAuthEnv(t)
	cb := e.flow.Authorize(t, e.url)
	resp, err := http.PostForm(e.url+"/admin/oauth/access_token", url.Values{"client_id": {SandboxClientID},
		"client_secret": {SandboxClientSecret}, "code": {cb.Query.Get("code")}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "expires_in") || strings.Contains(string(body), "refresh_token") {
		t.Fatalf("exchange without expiring=1: HTTP %d %s", resp.StatusCode, body)
	}
	// A classic token has no expiry, so the keeper hands it out without refreshing.
	tok := connectors.Token{AccessToken: jsonField(t, body, "access_token"), Extra: map[string]string{ExtraShop: e.sb.ShopDomain()}}
	c, k := e.oauthConnector(t, tok)
	if err := c.Check(context.Background()); err != nil {
		t.Fatalf("classic token: %v", err)
	}
	if k.Refreshes() != 0 {
		t.Fatal("a classic token was refreshed")
	}
}

func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	i := strings.Index(string(body), `"`+name+`":"`)
	if i < 0 {
		t.Fatalf("no %s in %s", name, body)
	}
	rest := string(body)[i+len(name)+4:]
	return rest[:strings.IndexByte(rest, '"')]
}

var allEntities = []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
