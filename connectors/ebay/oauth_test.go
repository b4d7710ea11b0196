package ebay

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/connectortest"
)

type oauthEnv struct {
	sb   registeredSandbox
	srv  string
	flow *connectortest.OAuthFlow
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	p := connectortest.Registered(t, v1alpha1.PlatformEBay)
	sb := newRegisteredSandbox(connectors.SandboxOptions{Seed: 5, Orders: 150, Products: 20, Locations: 2, Unlimited: true}).(registeredSandbox)
	srv := connectortest.Serve(t, sb)
	return &oauthEnv{sb: sb, srv: srv.URL, flow: &connectortest.OAuthFlow{Platform: p, Sandbox: sb,
		App: connectors.App{HTTPClient: srv.Client()}}}
}

func (e *oauthEnv) connector(t *testing.T, tok connectors.Token) (*Connector, *connectors.Keeper) {
	t.Helper()
	cfg, k := e.flow.Config(tok)
	cfg.Log = logr.Discard()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.client.BaseBackoff, c.client.MaxBackoff = time.Millisecond, 20*time.Millisecond
	c.PageSizes = PageSizes{Orders: 40, InventoryItems: 7, Locations: 1}
	return c, k
}

func assertNoSecret(t *testing.T, err error, e *oauthEnv, extra ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, v := range append([]string{e.sb.ClientSecret(), e.sb.RefreshToken()}, extra...) {
		if v != "" && strings.Contains(err.Error(), v) {
			t.Errorf("error exposes a secret: %v", err)
		}
	}
}

func TestOAuthAuthCodeURL(t *testing.T) {
	creds := map[string][]byte{CredentialClientID: []byte("Acme-Tether-PRD-1"), CredentialClientSecret: []byte("PRD-secret"),
		CredentialRuName: []byte("Acme-Acme-Tether-abcd")}
	raw, err := OAuth.AuthCodeURL(connectors.App{Credentials: creds, RedirectURL: "https://op.example/oauth/callback"}, "st4te", "")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(raw)
	q := u.Query()
	if u.Host != "auth.ebay.com" || u.Path != "/oauth2/authorize" || q.Get("client_id") != "Acme-Tether-PRD-1" ||
		q.Get("redirect_uri") != "Acme-Acme-Tether-abcd" || q.Get("response_type") != "code" || q.Get("state") != "st4te" ||
		q.Get("scope") != ScopeFulfillment+" "+ScopeInventory {
		t.Errorf("authorize URL %s", raw)
	}
	delete(creds, CredentialRuName)
	if _, err := OAuth.AuthCodeURL(connectors.App{Credentials: creds}, "s", ""); err == nil || !strings.Contains(err.Error(), CredentialRuName) {
		t.Errorf("no RuName: %v", err)
	}
	if OAuth.Revoke != nil {
		t.Error("eBay has no REST revocation endpoint for user tokens; Revoke must be nil")
	}
}

func TestOAuthConnectReadsEverything(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	if ttl := time.Until(tok.Expiry); ttl < 7190*time.Second || ttl > 7200*time.Second {
		t.Errorf("access token lifetime %v, want 7200 s", ttl)
	}
	if ttl := time.Until(tok.RefreshExpiry); ttl < 47303990*time.Second || ttl > 47304000*time.Second {
		t.Errorf("refresh token lifetime %v, want 47304000 s", ttl)
	}
	c, k := e.connector(t, tok)
	connectortest.AssertKinds(t, connectortest.ReadKinds(t, c, DefaultMapping(), []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}, nil), e.sb.Expected())
	if k.Refreshes() != 0 {
		t.Errorf("%d refreshes with a fresh token", k.Refreshes())
	}
}

func TestOAuthTokenExpiringMidSync(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	c, k := e.connector(t, tok)
	connectortest.AssertKinds(t, connectortest.ReadKinds(t, c, DefaultMapping(), []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}, e.sb.Auth().ExpireAccessTokens), e.sb.Expected())
	if k.Refreshes() < 1 {
		t.Fatal("no refresh after the access token expired")
	}
	// eBay's refresh tokens do not rotate.
	cur, _ := k.Store.Load(context.Background())
	if cur.RefreshToken != tok.RefreshToken {
		t.Error("the refresh token changed on refresh")
	}
	if _, err := OAuth.Refresh(context.Background(), e.flow.App, tok); err != nil {
		t.Fatalf("the original refresh token stopped working: %v", err)
	}
}

func TestOAuthRevokedGrant(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	c, _ := e.connector(t, tok)
	e.sb.Auth().RevokeAll()
	_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataOrders}, 0)
	if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked {
		t.Fatalf("read after revocation: %v (%v/%s), want Auth/TokenRevoked", err, class, reason)
	}
	assertNoSecret(t, err, e, tok.AccessToken, tok.RefreshToken)
}

func TestOAuthCallbackAndExchangeFailures(t *testing.T) {
	ctx := context.Background()
	t.Run("code reuse", func(t *testing.T) {
		e := newOAuthEnv(t)
		cb := e.flow.Authorize(t, e.srv)
		if cb.Query.Get("expires_in") != "299" {
			t.Errorf("callback expires_in = %q", cb.Query.Get("expires_in"))
		}
		if _, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, ""); err != nil {
			t.Fatal(err)
		}
		_, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, "")
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked ||
			!strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("second exchange: %v (%v/%s)", err, class, reason)
		}
		assertNoSecret(t, err, e, cb.Query.Get("code"))
	})
	t.Run("wrong client secret", func(t *testing.T) {
		e := newOAuthEnv(t)
		cb := e.flow.Authorize(t, e.srv)
		app := e.flow.App
		app.Credentials = e.sb.AppCredentials()
		app.Credentials[CredentialClientSecret] = []byte("PRD-not-the-secret")
		_, err := OAuth.Exchange(ctx, app, cb.Query, "")
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonUnauthorized {
			t.Fatalf("exchange with a wrong secret: %v (%v/%s)", err, class, reason)
		}
		assertNoSecret(t, err, e, cb.Query.Get("code"), "PRD-not-the-secret")
		_, err = OAuth.Refresh(ctx, app, connectors.Token{RefreshToken: e.sb.RefreshToken()})
		if _, reason := connectors.Classify(err); reason != v1alpha1.ReasonUnauthorized {
			t.Fatalf("refresh with a wrong secret: %v", err)
		}
		assertNoSecret(t, err, e, "PRD-not-the-secret")
	})
	t.Run("unknown refresh token", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.App.Connection = e.sb.Connection(e.srv)
		e.flow.App.Credentials = e.sb.AppCredentials()
		_, err := OAuth.Refresh(ctx, e.flow.App, connectors.Token{RefreshToken: "v^1.1#unknown"})
		if _, reason := connectors.Classify(err); reason != v1alpha1.ReasonTokenRevoked || strings.Contains(err.Error(), "v^1.1#unknown") {
			t.Fatalf("unknown refresh token: %v", err)
		}
	})
	t.Run("wrong RuName", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Authorize(t, e.srv)
		app := e.flow.App
		app.Credentials = e.sb.AppCredentials()
		app.Credentials[CredentialRuName] = []byte("Someone_Else-Other-App-1234")
		raw, _ := OAuth.AuthCodeURL(app, "s", "")
		resp, err := http.Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("authorize page for another RuName answered %d", resp.StatusCode)
		}
	})
	t.Run("deny", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Deny = true
		cb := e.flow.Authorize(t, e.srv)
		if cb.ErrorCode() != "access_denied" || cb.Query.Get("code") != "" || cb.Query.Get("state") != e.flow.State {
			t.Fatalf("denied consent: %s", cb)
		}
		if _, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, ""); err == nil {
			t.Fatal("a denied consent was exchanged")
		}
		if ex, _, _ := e.sb.Auth().Counts(); ex != 0 {
			t.Fatalf("%d exchanges after a denial", ex)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Password = "not-the-password"
		cb := e.flow.Authorize(t, e.srv)
		if cb.Query != nil || !strings.Contains(cb.Page, `id="username"`) || !strings.Contains(cb.Page, "Wrong username or password") {
			t.Fatalf("wrong password left the consent page: %s", cb)
		}
	})
}
