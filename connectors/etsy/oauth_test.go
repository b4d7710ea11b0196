package etsy

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
	"github.com/tether/integration-operator/internal/tether"
)

// oauthEnv is a registered sandbox served over loopback, with a connect flow against it.
type oauthEnv struct {
	sb   registeredSandbox
	srv  *httptest.Server
	flow *connectortest.OAuthFlow
}

func newOAuthEnv(t *testing.T, opts SandboxOptions) *oauthEnv {
	t.Helper()
	if opts.Orders == 0 {
		opts.Seed, opts.Orders, opts.Products, opts.Locations = 11, 230, 30, 2
	}
	if opts.PerSecond == 0 {
		opts.Unlimited = true
	}
	sb := registeredSandbox{NewSandbox(opts)}
	srv := connectortest.Serve(t, sb)
	p, ok := connectors.Lookup(v1alpha1.PlatformEtsy)
	if !ok || p.OAuth != Flow {
		t.Fatal("Etsy is not registered with its OAuth flow")
	}
	return &oauthEnv{sb: sb, srv: srv, flow: &connectortest.OAuthFlow{Platform: p, Sandbox: sb,
		App: connectors.App{HTTPClient: srv.Client()}}}
}

// connector builds a connector on the Keeper, as the operator does for an OAuth integration.
func (e *oauthEnv) connector(t testing.TB, k *connectors.Keeper) *Connector {
	t.Helper()
	c, err := New(connectors.Config{Connection: k.App.Connection, Credentials: k.App.Credentials,
		HTTPClient: k.App.HTTPClient, Log: logr.Discard(), Tokens: k})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// assertNoSecret fails when msg contains any of the values.
func assertNoSecret(t *testing.T, what, msg string, values ...string) {
	t.Helper()
	for _, v := range values {
		if len(v) >= 4 && strings.Contains(msg, v) {
			t.Errorf("%s: the error exposes a secret value: %s", what, msg)
		}
	}
}

// readCounts reads every entity and counts what the records become in Tether.
func readCounts(t *testing.T, c connectors.Connector) map[tether.Kind]int64 {
	t.Helper()
	got := map[tether.Kind]int64{}
	orders := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders})
	got[tether.KindSalesOrder] = int64(len(orders.ByID))
	for _, r := range orders.ByID {
		lines, _ := r.Data["lines"].([]any)
		got[tether.KindSalesOrderLine] += int64(len(lines))
	}
	got[tether.KindSKU] = int64(len(connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataProducts}).ByID))
	got[tether.KindWarehouse] = int64(len(connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}).ByID))
	got[tether.KindInventoryLevel] = int64(len(connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory}).ByID))
	return got
}

func TestOAuthConnectReadsEverything(t *testing.T) {
	e := newOAuthEnv(t, SandboxOptions{})
	tok := e.flow.Connect(t, e.srv.URL)
	if tok.RefreshToken == "" || tok.Expiry.IsZero() || tok.RefreshExpiry.IsZero() {
		t.Errorf("token has refresh %t, expiry %v, refresh expiry %v", tok.RefreshToken != "", tok.Expiry, tok.RefreshExpiry)
	}
	if tok.Extra[ExtraShopID] != id(e.sb.ShopID()) || tok.Extra[ExtraUserID] == "" {
		t.Errorf("token Extra = %v, want shop %d and the user", tok.Extra, e.sb.ShopID())
	}
	if uid, ok := UserIDOf(tok.AccessToken); !ok || id(uid) != tok.Extra[ExtraUserID] {
		t.Errorf("access token's user prefix %d (%t), Extra user %s", uid, ok, tok.Extra[ExtraUserID])
	}
	cfg, keeper := e.flow.Config(tok)
	cfg.Log = logr.Discard()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, want := readCounts(t, c), e.sb.Expected()
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: read %d, sandbox expects %d", k, got[k], n)
		}
	}
	if keeper.Refreshes() != 0 {
		t.Errorf("%d refreshes with a fresh token", keeper.Refreshes())
	}
	if ex, _, _ := e.sb.Auth().Counts(); ex != 1 {
		t.Errorf("%d codes exchanged, want 1", ex)
	}
}

func TestOAuthRequestsAreEtsys(t *testing.T) {
	sb := registeredSandbox{NewSandbox(SandboxOptions{Seed: 3, Orders: 20, Products: 5, Locations: 1, Unlimited: true, RecordRequests: true})}
	srv := connectortest.Serve(t, sb)
	p, _ := connectors.Lookup(v1alpha1.PlatformEtsy)
	flow := &connectortest.OAuthFlow{Platform: p, Sandbox: sb, App: connectors.App{HTTPClient: srv.Client()}}
	if !p.OAuth.PKCE || !p.OAuth.StateInCallback || p.OAuth.Revoke != nil || p.OAuth.Refresh == nil ||
		strings.Join(p.OAuth.AppKeys, ",") != "keystring,sharedSecret" {
		t.Errorf("flow = PKCE %t, state %t, revoke %t, app keys %v", p.OAuth.PKCE, p.OAuth.StateInCallback, p.OAuth.Revoke != nil, p.OAuth.AppKeys)
	}
	cb := flow.Authorize(t, srv.URL)
	// The authorize URL, as the browser opened it.
	u, err := p.OAuth.AuthCodeURL(flow.App, flow.State, flow.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	pu, _ := url.Parse(u)
	q := pu.Query()
	if pu.Path != authPath || q.Get("response_type") != "code" || q.Get("client_id") != sb.Keystring() ||
		q.Get("redirect_uri") != flow.App.RedirectURL || q.Get("scope") != "transactions_r listings_r shops_r" ||
		q.Get("state") != flow.State || q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256" ||
		strings.Contains(u, flow.Verifier) || strings.Contains(u, sb.SharedSecret()) {
		t.Errorf("authorize URL %s", u)
	}
	if _, err := p.OAuth.AuthCodeURL(flow.App, flow.State, ""); err == nil {
		t.Error("AuthCodeURL without a PKCE verifier succeeded")
	}
	tok, err := p.OAuth.Exchange(context.Background(), flow.App, cb.Query, flow.Verifier)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.OAuth.Refresh(context.Background(), flow.App, tok); err != nil {
		t.Fatal(err)
	}
	var grants []string
	for _, ex := range sb.Log() {
		if ex.Path != tokenPath {
			continue
		}
		f := ex.Form
		grants = append(grants, f.Get("grant_type"))
		if f.Has("client_secret") || ex.Header.Get("Authorization") != "" || f.Get("client_id") != sb.Keystring() {
			t.Errorf("token request sends client_secret %t, Authorization %q, client_id %q", f.Has("client_secret"),
				ex.Header.Get("Authorization"), f.Get("client_id"))
		}
		switch f.Get("grant_type") {
		case "authorization_code":
			if f.Get("code") == "" || f.Get("code_verifier") != flow.Verifier || f.Get("redirect_uri") != flow.App.RedirectURL {
				t.Errorf("exchange form has code %t, verifier %t, redirect %q", f.Get("code") != "", f.Get("code_verifier") == flow.Verifier, f.Get("redirect_uri"))
			}
		case "refresh_token":
			if f.Get("refresh_token") != tok.RefreshToken {
				t.Error("refresh form does not carry the refresh token")
			}
		}
	}
	if strings.Join(grants, ",") != "authorization_code,refresh_token" {
		t.Errorf("token requests %v", grants)
	}
}

func TestOAuthTokenExpiresMidRead(t *testing.T) {
	e := newOAuthEnv(t, SandboxOptions{})
	tok := e.flow.Connect(t, e.srv.URL)
	cfg, keeper := e.flow.Config(tok)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.ReceiptPageSize = 50
	res := connectortest.MustReadWith(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, connectortest.ReadOptions{
		OnPage: func(n int, _ connectors.Page) {
			if n == 1 {
				e.sb.Auth().ExpireAccessTokens()
			}
		}})
	receipts := e.sb.Receipts()
	if len(res.Records) != len(receipts) || len(res.ByID) != len(receipts) {
		t.Errorf("read %d records (%d distinct), sandbox has %d receipts", len(res.Records), len(res.ByID), len(receipts))
	}
	if keeper.Refreshes() < 1 {
		t.Fatal("the Keeper did not refresh after the access token expired")
	}
	// Etsy rotated the refresh token: the one the connect flow got is spent.
	_, err = Flow.Refresh(context.Background(), e.flow.App, tok)
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Errorf("refresh with the rotated-away token: %v (%v %s), want Auth/TokenRevoked", err, class, reason)
	}
	assertNoSecret(t, "refresh", err.Error(), tok.RefreshToken, tok.AccessToken, e.sb.SharedSecret())
}

func TestOAuthRevokedGrant(t *testing.T) {
	e := newOAuthEnv(t, SandboxOptions{})
	tok := e.flow.Connect(t, e.srv.URL)
	cfg, _ := e.flow.Config(tok)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sb.Auth().RevokeAll()
	_, err = connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("read after the owner removed the app: %v (%v %s), want Auth/TokenRevoked", err, class, reason)
	}
	assertNoSecret(t, "read", err.Error(), tok.RefreshToken, tok.AccessToken, e.sb.SharedSecret())
}

func TestOAuthCallbackAndExchangeFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("code reuse", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		cb := e.flow.Authorize(t, e.srv.URL)
		tok, err := Flow.Exchange(ctx, e.flow.App, cb.Query, e.flow.Verifier)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Flow.Exchange(ctx, e.flow.App, cb.Query, e.flow.Verifier)
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked ||
			!strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("second exchange: %v (%v %s), want invalid_grant", err, class, reason)
		}
		assertNoSecret(t, "exchange", err.Error(), cb.Query.Get("code"), tok.AccessToken, tok.RefreshToken, e.sb.SharedSecret())
	})
	t.Run("PKCE verifier mismatch", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		cb := e.flow.Authorize(t, e.srv.URL)
		_, err := Flow.Exchange(ctx, e.flow.App, cb.Query, e.flow.Verifier+"x")
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked ||
			!strings.Contains(err.Error(), "code_verifier") {
			t.Fatalf("exchange with another verifier: %v (%v %s)", err, class, reason)
		}
		assertNoSecret(t, "exchange", err.Error(), cb.Query.Get("code"), e.flow.Verifier, e.sb.SharedSecret())
		if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
			t.Errorf("%d exchanges succeeded", ex)
		}
	})
	t.Run("authorize without PKCE or with an unregistered redirect", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		e.sb.RegisterRedirect("https://operator.example/oauth/callback")
		app := connectors.App{Connection: e.sb.Connection(e.srv.URL), Credentials: e.sb.AppCredentials(),
			RedirectURL: "https://operator.example/oauth/callback", HTTPClient: e.srv.Client()}
		good, err := Flow.AuthCodeURL(app, "st", "a-verifier-of-enough-length-0123456789abcdef")
		if err != nil {
			t.Fatal(err)
		}
		wrong := app
		wrong.RedirectURL = "https://evil.example/oauth/callback"
		bad, _ := Flow.AuthCodeURL(wrong, "st", "a-verifier-of-enough-length-0123456789abcdef")
		noPKCE := strings.NewReplacer("code_challenge_method=S256", "", "code_challenge=", "x=").Replace(good)
		plain := strings.Replace(good, "code_challenge_method=S256", "code_challenge_method=plain", 1)
		for name, tc := range map[string]struct {
			u      string
			status int
			text   string
		}{
			"registered": {good, 200, `id="authorize"`},
			"redirect":   {bad, 400, "not registered"},
			"no PKCE":    {noPKCE, 400, "code_challenge is required"},
			"plain PKCE": {plain, 400, "S256"},
		} {
			resp, err := http.Get(tc.u)
			if err != nil {
				t.Fatal(err)
			}
			if body := readAll(resp); resp.StatusCode != tc.status || !strings.Contains(body, tc.text) {
				t.Errorf("%s: HTTP %d, want %d with %q: %s", name, resp.StatusCode, tc.status, tc.text, body)
			}
		}
	})
	t.Run("deny", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		e.flow.Deny = true
		cb := e.flow.Authorize(t, e.srv.URL)
		if cb.ErrorCode() != "access_denied" || cb.Query.Get("code") != "" || cb.Query.Get("state") != e.flow.State {
			t.Fatalf("denied consent: %s", cb)
		}
		_, err := Flow.Exchange(ctx, e.flow.App, cb.Query, e.flow.Verifier)
		if err == nil || !strings.Contains(err.Error(), "access_denied") {
			t.Errorf("exchange of a denied consent: %v", err)
		}
		if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
			t.Errorf("%d codes exchanged after a deny", ex)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		e.flow.Password = "not-the-password"
		cb := e.flow.Authorize(t, e.srv.URL)
		if cb.Query != nil || !strings.Contains(cb.Page, "Wrong username or password") || !strings.Contains(cb.Page, `id="authorize"`) {
			t.Fatalf("wrong password left the consent page: %s / %s", cb, cb.Page)
		}
	})
	t.Run("account without a shop", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{NoShop: true})
		cb := e.flow.Authorize(t, e.srv.URL)
		_, err := Flow.Exchange(ctx, e.flow.App, cb.Query, e.flow.Verifier)
		if class, reason := connectors.Classify(err); class != connectors.ClassTerminal || reason != "NoShop" ||
			!strings.Contains(err.Error(), "has no shop") {
			t.Fatalf("exchange for a user without a shop: %v (%v %s)", err, class, reason)
		}
		assertNoSecret(t, "exchange", err.Error(), cb.Query.Get("code"), e.sb.SharedSecret())
	})
	t.Run("wrong app key", func(t *testing.T) {
		e := newOAuthEnv(t, SandboxOptions{})
		cb := e.flow.Authorize(t, e.srv.URL)
		app := e.flow.App
		app.Credentials = map[string][]byte{CredentialKeystring: []byte("someoneelseskeystring"), CredentialSharedSecret: []byte("s3cr3t-value")}
		_, err := Flow.Exchange(ctx, app, cb.Query, e.flow.Verifier)
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonUnauthorized {
			t.Fatalf("exchange with another app's keystring: %v (%v %s)", err, class, reason)
		}
		assertNoSecret(t, "exchange", err.Error(), cb.Query.Get("code"), "s3cr3t-value", e.sb.SharedSecret())
		app.Credentials = map[string][]byte{CredentialKeystring: []byte(e.sb.Keystring())}
		if _, err := Flow.AuthCodeURL(app, "s", "v"); err != nil {
			t.Errorf("AuthCodeURL needs only the keystring: %v", err)
		}
	})
}

// TestOneKeeperOneRefresh: connectors sharing an integration's Keeper never spend the same refresh token. With
// the access token expired, many concurrent requests cause exactly one refresh, and all succeed.
func TestOneKeeperOneRefresh(t *testing.T) {
	e := newOAuthEnv(t, SandboxOptions{})
	tok := e.flow.Connect(t, e.srv.URL)
	_, keeper := e.flow.Config(tok)
	a, b := e.connector(t, keeper), e.connector(t, keeper)
	if err := a.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.sb.Auth().ExpireAccessTokens()
	_, before, _ := e.sb.Auth().Counts()
	var wg sync.WaitGroup
	errs := make([]error, 16)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := a
			if i%2 == 1 {
				c = b
			}
			if i%4 < 2 {
				errs[i] = c.Check(context.Background())
				return
			}
			_, errs[i] = connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations}, 0)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d after the access token expired: %v", i, err)
		}
	}
	if _, after, _ := e.sb.Auth().Counts(); after-before != 1 || keeper.Refreshes() != 1 {
		t.Errorf("%d refreshes at Etsy, %d by the Keeper; want exactly 1", after-before, keeper.Refreshes())
	}
	stored, _ := keeper.Store.Load(context.Background())
	if stored.RefreshToken == tok.RefreshToken || stored.Extra[ExtraShopID] != tok.Extra[ExtraShopID] {
		t.Error("the Keeper's store does not hold the rotated refresh token with the grant's shop")
	}
}

// TestAPICredentialsSeed: a refresh token minted outside the operator starts the Keeper; the Secret's shopID
// is kept in the grant.
func TestAPICredentialsSeed(t *testing.T) {
	e := newOAuthEnv(t, SandboxOptions{})
	creds := e.sb.Credentials()
	tok, ok := Flow.Seed(creds)
	if !ok || tok.AccessToken != "" || tok.RefreshToken != string(creds[CredentialRefreshToken]) || tok.Extra[ExtraShopID] != id(e.sb.ShopID()) {
		t.Fatalf("seed = %t, access %t, refresh %t, extra %v", ok, tok.AccessToken != "", tok.RefreshToken != "", tok.Extra)
	}
	if _, ok := Flow.Seed(e.sb.AppCredentials()); ok {
		t.Error("app credentials without a refresh token seeded a grant")
	}
	// The operator's path: a Keeper seeded from the Secret, handed over as cfg.Tokens.
	keeper := &connectors.Keeper{Flow: Flow, App: connectors.App{Connection: e.sb.Connection(e.srv.URL), Credentials: creds,
		HTTPClient: e.srv.Client()}, Store: connectors.NewMemoryTokenStore(tok)}
	c := e.connector(t, keeper)
	got := connectortest.ReadAll(t, c, connectors.ReadRequest{Entity: v1alpha1.DataLocations})
	if len(got.Records) != 1 || got.Records[0].ID != id(e.sb.ShopID()) || keeper.Refreshes() != 1 {
		t.Errorf("read %d locations, %d refreshes", len(got.Records), keeper.Refreshes())
	}
}
