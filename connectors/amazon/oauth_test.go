package amazon

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
)

var allEntities = []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}

type oauthEnv struct {
	sb   registeredSandbox
	srv  string
	flow *connectortest.OAuthFlow
}

func newOAuthEnv(t *testing.T) *oauthEnv {
	t.Helper()
	p := connectortest.Registered(t, v1alpha1.PlatformAmazon)
	sb := newRegisteredSandbox(connectors.SandboxOptions{Seed: 11, Orders: 120, Products: 15, Locations: 2, Unlimited: true}).(registeredSandbox)
	srv := connectortest.Serve(t, sb)
	return &oauthEnv{sb: sb, srv: srv.URL, flow: &connectortest.OAuthFlow{Platform: p, Sandbox: sb,
		App: connectors.App{HTTPClient: srv.Client()}}}
}

// connector builds the connector an OAuth integration gets: its token from the keeper.
func (e *oauthEnv) connector(t *testing.T, tok connectors.Token) (*Connector, *connectors.Keeper) {
	t.Helper()
	cfg, k := e.flow.Config(tok)
	cfg.Log = logr.Discard()
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.RetryBaseDelay, c.MaxRetryDelay = time.Millisecond, 20*time.Millisecond
	return c, k
}

func TestOAuthAuthCodeURL(t *testing.T) {
	creds := map[string][]byte{CredentialApplicationID: []byte("amzn1.sp.solution.x"), CredentialClientID: []byte("id"),
		CredentialClientSecret: []byte("secret")}
	for region, host := range map[string]string{"NA": "https://sellercentral.amazon.com", "EU": "https://sellercentral-europe.amazon.com",
		"FE": "https://sellercentral.amazon.co.jp"} {
		raw, err := OAuth.AuthCodeURL(connectors.App{Connection: v1alpha1.Connection{Region: region}, Credentials: creds,
			RedirectURL: "https://op.example/oauth/callback"}, "st4te", "")
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		q := u.Query()
		if u.Scheme+"://"+u.Host != host || u.Path != "/apps/authorize/consent" || q.Get("application_id") != "amzn1.sp.solution.x" ||
			q.Get("state") != "st4te" || q.Get("redirect_uri") != "https://op.example/oauth/callback" || q.Has("version") {
			t.Errorf("%s: %s", region, raw)
		}
	}
	creds[CredentialDraft] = []byte("true")
	raw, _ := OAuth.AuthCodeURL(connectors.App{Connection: v1alpha1.Connection{Region: "NA"}, Credentials: creds}, "s", "")
	if u, _ := url.Parse(raw); u.Query().Get("version") != "beta" {
		t.Errorf("draft app: %s", raw)
	}
	if _, err := OAuth.AuthCodeURL(connectors.App{Connection: v1alpha1.Connection{Region: "XX"}, Credentials: creds}, "s", ""); err == nil {
		t.Error("unknown region accepted")
	}
	delete(creds, CredentialApplicationID)
	if _, err := OAuth.AuthCodeURL(connectors.App{Connection: v1alpha1.Connection{Region: "NA"}, Credentials: creds}, "s", ""); err == nil ||
		!strings.Contains(err.Error(), CredentialApplicationID) {
		t.Errorf("no application ID: %v", err)
	}
}

func TestOAuthConnectReadsEverything(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	if tok.RefreshToken == "" || tok.Extra[ExtraSellingPartnerID] != e.sb.SellingPartnerID() || tok.TokenType != "bearer" {
		t.Fatalf("token: refresh %t, extra %v, type %q", tok.RefreshToken != "", tok.Extra, tok.TokenType)
	}
	if ttl := time.Until(tok.Expiry); ttl < 59*time.Minute || ttl > time.Hour {
		t.Errorf("access token lifetime %v, want an hour", ttl)
	}
	c, k := e.connector(t, tok)
	connectortest.AssertKinds(t, connectortest.ReadKinds(t, c, DefaultMapping(), allEntities, nil), e.sb.Expected())
	if k.Refreshes() != 0 {
		t.Errorf("%d refreshes with a fresh token", k.Refreshes())
	}
	if ex, _, _ := e.sb.Auth().Counts(); ex != 1 {
		t.Errorf("%d codes exchanged, want 1", ex)
	}
}

func TestOAuthTokenExpiringMidSync(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	c, k := e.connector(t, tok)
	connectortest.AssertKinds(t, connectortest.ReadKinds(t, c, DefaultMapping(), allEntities, e.sb.Auth().ExpireAccessTokens), e.sb.Expected())
	if k.Refreshes() < 1 {
		t.Fatal("no refresh after the access token expired")
	}
	// LWA refresh tokens do not rotate: the one from the exchange still works.
	cur, _ := k.Store.Load(context.Background())
	if cur.RefreshToken != tok.RefreshToken || cur.Extra[ExtraSellingPartnerID] != e.sb.SellingPartnerID() {
		t.Error("the refresh token or selling_partner_id changed on refresh")
	}
	if _, err := OAuth.Refresh(context.Background(), e.flow.App, tok); err != nil {
		t.Fatalf("the original refresh token stopped working: %v", err)
	}
	// A lapsed token gets SP-API's 403 Unauthorized saying so.
	req, _ := http.NewRequest(http.MethodGet, e.srv+"/fba/inventory/v1/summaries?granularityType=Marketplace&granularityId="+
		e.sb.MarketplaceIDs()[0]+"&marketplaceIds="+e.sb.MarketplaceIDs()[0], nil)
	req.Header.Set("x-amz-access-token", tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	want := `{"errors":[{"code":"Unauthorized","details":"The access token you provided has expired.","message":"Access to requested resource is denied."}]}`
	if resp.StatusCode != http.StatusForbidden || strings.TrimSpace(string(body)) != want {
		t.Errorf("expired token: HTTP %d %s", resp.StatusCode, body)
	}
}

func TestOAuthRevokedGrant(t *testing.T) {
	e := newOAuthEnv(t)
	tok := e.flow.Connect(t, e.srv)
	c, _ := e.connector(t, tok)
	e.sb.Auth().RevokeAll()
	_, err := connectortest.Read(t, c, connectors.ReadRequest{Entity: v1alpha1.DataInventory}, 0)
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
		if _, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, ""); err != nil {
			t.Fatal(err)
		}
		_, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, "")
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonTokenRevoked ||
			!strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("second exchange: %v (%v/%s)", err, class, reason)
		}
		assertNoSecret(t, err, e, cb.Query.Get("spapi_oauth_code"))
	})
	t.Run("code expired after five minutes", func(t *testing.T) {
		e := newOAuthEnv(t)
		cb := e.flow.Authorize(t, e.srv)
		e.sb.Now = func() time.Time { return time.Now().Add(5*time.Minute + time.Second) }
		_, err := OAuth.Exchange(ctx, e.flow.App, cb.Query, "")
		if _, reason := connectors.Classify(err); reason != v1alpha1.ReasonTokenRevoked {
			t.Fatalf("late exchange: %v", err)
		}
	})
	t.Run("wrong client secret", func(t *testing.T) {
		e := newOAuthEnv(t)
		cb := e.flow.Authorize(t, e.srv)
		app := e.flow.App
		app.Credentials = e.sb.AppCredentials()
		app.Credentials[CredentialClientSecret] = []byte("amzn1.oa2-cs.v1.not-the-secret")
		_, err := OAuth.Exchange(ctx, app, cb.Query, "")
		if class, reason := connectors.Classify(err); class != connectors.ClassAuth || reason != v1alpha1.ReasonUnauthorized ||
			!strings.Contains(err.Error(), "invalid_client") {
			t.Fatalf("exchange with a wrong secret: %v (%v/%s)", err, class, reason)
		}
		assertNoSecret(t, err, e, cb.Query.Get("spapi_oauth_code"), "amzn1.oa2-cs.v1.not-the-secret")
		_, err = OAuth.Refresh(ctx, app, connectors.Token{RefreshToken: e.sb.RefreshToken()})
		if _, reason := connectors.Classify(err); reason != v1alpha1.ReasonUnauthorized {
			t.Fatalf("refresh with a wrong secret: %v", err)
		}
		assertNoSecret(t, err, e, e.sb.RefreshToken(), "amzn1.oa2-cs.v1.not-the-secret")
	})
	t.Run("callback without code or seller", func(t *testing.T) {
		e := newOAuthEnv(t)
		for _, q := range []url.Values{{"state": {"s"}, "selling_partner_id": {"A1"}}, {"state": {"s"}, "spapi_oauth_code": {"ANxyz"}}} {
			if _, err := OAuth.Exchange(ctx, e.flow.App, q, ""); err == nil || strings.Contains(err.Error(), "ANxyz") {
				t.Errorf("callback %v: %v", q.Encode(), err)
			}
		}
	})
	t.Run("unregistered redirect", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Authorize(t, e.srv) // registers the flow's own callback
		app := e.flow.App
		app.RedirectURL = "https://elsewhere.example/oauth/callback"
		raw, _ := OAuth.AuthCodeURL(app, "s", "")
		resp, err := http.Get(raw)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("consent page for an unregistered redirect_uri answered %d", resp.StatusCode)
		}
		app = e.flow.App
		app.Credentials = e.sb.AppCredentials()
		app.Credentials[CredentialApplicationID] = []byte("amzn1.sp.solution.other")
		raw, _ = OAuth.AuthCodeURL(app, "s", "")
		if resp, err = http.Get(raw); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("consent page for another application answered %d", resp.StatusCode)
		}
	})
	t.Run("redirect_uri differs at the exchange", func(t *testing.T) {
		e := newOAuthEnv(t)
		cb := e.flow.Authorize(t, e.srv)
		app := e.flow.App
		app.RedirectURL += "/other"
		if _, err := OAuth.Exchange(ctx, app, cb.Query, ""); err == nil {
			t.Fatal("a code was redeemed with another redirect_uri")
		}
	})
	t.Run("deny", func(t *testing.T) {
		e := newOAuthEnv(t)
		e.flow.Deny = true
		cb := e.flow.Authorize(t, e.srv)
		if cb.ErrorCode() != "access_denied" || cb.Query.Get("spapi_oauth_code") != "" || cb.Query.Get("state") != e.flow.State {
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

func TestOAuthSeedFromAPICredentials(t *testing.T) {
	if _, ok := OAuth.Seed(map[string][]byte{CredentialClientID: []byte("id")}); ok {
		t.Error("seeded without a refresh token")
	}
	tok, ok := OAuth.Seed(map[string][]byte{CredentialRefreshToken: []byte(" Atzr|x \n")})
	if !ok || tok.RefreshToken != "Atzr|x" || tok.AccessToken != "" {
		t.Errorf("seed = %+v, %t", tok, ok)
	}
	if OAuth.Revoke != nil {
		t.Error("Amazon has no revocation endpoint; Revoke must be nil")
	}
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
