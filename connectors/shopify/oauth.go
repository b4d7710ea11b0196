package shopify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// AppKeyClientID and AppKeyClientSecret are the user Secret's keys for an OAuth integration: the app's
	// client ID and client secret from the Shopify Partner Dashboard or the Dev Dashboard.
	AppKeyClientID     = "clientID"
	AppKeyClientSecret = "clientSecret"
	// ExtraShop is the Token.Extra key holding the shop's myshopify domain the grant is for.
	ExtraShop = "shop"
)

// Scopes are the access scopes the connect flow asks for: orders (all of them, not only the last 60 days),
// products, inventory and locations, read only.
var Scopes = []string{"read_orders", "read_all_orders", "read_products", "read_inventory", "read_locations"}

// OAuth is Shopify's authorization-code grant for offline access tokens. The exchange opts in to expiring
// offline tokens (one hour, with a rotating 90-day refresh token); Revoke uninstalls the app from the shop,
// which is how Shopify revokes an app's tokens.
var OAuth = &connectors.OAuth{
	AppKeys:         []string{AppKeyClientID, AppKeyClientSecret},
	StateInCallback: true,
	AuthCodeURL:     authCodeURL,
	Exchange:        exchange,
	Refresh:         refresh,
	Revoke:          revoke,
}

var shopDomainPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`)

// validShopDomain reports whether s is a myshopify.com shop domain (no scheme, port, path or other host).
func validShopDomain(s string) bool { return shopDomainPattern.MatchString(s) }

// shopBase is where the shop's admin lives: the sandbox endpoint when set, otherwise https://{shop}.
func shopBase(conn v1alpha1.Connection) (string, error) {
	shop := strings.ToLower(conn.ShopDomain)
	if !validShopDomain(shop) {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("shopify: connection.shopDomain %q is not a myshopify.com domain (for example acme.myshopify.com)", conn.ShopDomain))
	}
	if ep := strings.TrimRight(conn.Endpoint, "/"); ep != "" {
		return ep, nil
	}
	return "https://" + shop, nil
}

func appKeys(app connectors.App) (id, secret string, err error) {
	id = strings.TrimSpace(string(app.Credentials[AppKeyClientID]))
	secret = strings.TrimSpace(string(app.Credentials[AppKeyClientSecret]))
	if id == "" || secret == "" {
		return "", "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("shopify: the credentials Secret needs %q and %q (the app's client ID and secret)", AppKeyClientID, AppKeyClientSecret))
	}
	return id, secret, nil
}

func oauthConfig(app connectors.App) (*oauth2.Config, error) {
	base, err := shopBase(app.Connection)
	if err != nil {
		return nil, err
	}
	id, secret, err := appKeys(app)
	if err != nil {
		return nil, err
	}
	return &oauth2.Config{
		ClientID: id, ClientSecret: secret, RedirectURL: app.RedirectURL,
		// Shopify separates scopes with commas.
		Scopes: []string{strings.Join(Scopes, ",")},
		Endpoint: oauth2.Endpoint{AuthURL: base + "/admin/oauth/authorize", TokenURL: base + "/admin/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams},
	}, nil
}

// authCodeURL is https://{shop}/admin/oauth/authorize with client_id, scope, redirect_uri and state. It asks
// for an offline token: no grant_options[]=per-user.
func authCodeURL(app connectors.App, state, _ string) (string, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state), nil
}

// CallbackHMAC is the hex HMAC-SHA256 Shopify signs a callback with: the query's other parameters, sorted by
// name, as name=value joined with &, keyed with the app's client secret.
func CallbackHMAC(q url.Values, secret string) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "hmac" && k != "signature" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+strings.Join(q[k], ","))
	}
	mac := hmac.New(sha256.New, []byte(secret))
	_, _ = io.WriteString(mac, strings.Join(parts, "&"))
	return hex.EncodeToString(mac.Sum(nil))
}

// exchange checks the callback's hmac and shop and trades the code for an expiring offline token.
func exchange(ctx context.Context, app connectors.App, cb url.Values, _ string) (connectors.Token, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	if e := cb.Get("error"); e != "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, fmt.Errorf("shopify: authorization failed: %s", e))
	}
	got := cb.Get("hmac")
	if got == "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, errors.New("shopify: the callback has no hmac; it did not come from Shopify"))
	}
	if !hmac.Equal([]byte(strings.ToLower(got)), []byte(CallbackHMAC(cb, cfg.ClientSecret))) {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, errors.New("shopify: the callback's hmac does not verify with the app's client secret"))
	}
	shop := strings.ToLower(cb.Get("shop"))
	if !validShopDomain(shop) {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, fmt.Errorf("shopify: the callback's shop %q is not a myshopify.com domain", cb.Get("shop")))
	}
	if shop != strings.ToLower(app.Connection.ShopDomain) {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("shopify: the app was authorized for shop %q, but this integration is for %q", shop, app.Connection.ShopDomain))
	}
	code := cb.Get("code")
	if code == "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, errors.New("shopify: the callback has no authorization code"))
	}
	now := time.Now()
	// expiring=1 opts in to expiring offline tokens; without it Shopify issues a classic token that never
	// expires.
	t, err := cfg.Exchange(app.Context(ctx), code, oauth2.SetAuthURLParam("expiring", "1"))
	if err != nil {
		return connectors.Token{}, connectors.TokenError("shopify", err)
	}
	tok := connectors.FromOAuth2(t, now)
	tok.Extra[ExtraShop] = shop
	return tok, nil
}

// refresh trades the refresh token for a new access token and a new refresh token (Shopify rotates it).
func refresh(ctx context.Context, app connectors.App, tok connectors.Token) (connectors.Token, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	if tok.RefreshToken == "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonTokenRevoked,
			errors.New("shopify: the token has no refresh token (a non-expiring token); connect the shop again"))
	}
	now := time.Now()
	t, err := cfg.TokenSource(app.Context(ctx), &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: now.Add(-time.Hour)}).Token()
	if err != nil {
		return connectors.Token{}, connectors.TokenError("shopify", err)
	}
	next := connectors.FromOAuth2(t, now)
	for k, v := range tok.Extra {
		next.Extra[k] = v
	}
	return next, nil
}

// revoke uninstalls the app from the shop (DELETE /admin/api_permissions/current.json), which revokes every
// token the app holds for it. An expired access token is refreshed first; a token Shopify no longer knows
// (the app is already uninstalled) counts as revoked.
func revoke(ctx context.Context, app connectors.App, tok connectors.Token) error {
	base, err := shopBase(app.Connection)
	if err != nil {
		return err
	}
	hc := app.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	refreshed := false
	if tok.ExpiresWithin(time.Now(), 0) && tok.RefreshToken != "" {
		next, err := refresh(ctx, app, tok)
		if err != nil {
			var ce *connectors.Error
			if errors.As(err, &ce) && ce.Reason == v1alpha1.ReasonTokenRevoked {
				return nil
			}
			return err
		}
		tok, refreshed = next, true
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, base+"/admin/api_permissions/current.json", nil)
		if err != nil {
			return err
		}
		req.Header.Set("X-Shopify-Access-Token", tok.AccessToken)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		resp, err := hc.Do(req)
		if err != nil {
			return connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("shopify: revoke: %s", redactURL(err)))
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNoContent:
			return nil
		case resp.StatusCode == http.StatusUnauthorized && !refreshed && tok.RefreshToken != "":
			next, err := refresh(ctx, app, tok)
			if err != nil {
				var ce *connectors.Error
				if errors.As(err, &ce) && ce.Reason == v1alpha1.ReasonTokenRevoked {
					return nil
				}
				return err
			}
			tok, refreshed = next, true
			continue
		case resp.StatusCode == http.StatusUnauthorized:
			// The token is already invalid: the app was uninstalled.
			return nil
		case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			return connectors.Transient("PlatformUnavailable", parseRetryAfter(resp.Header.Get("Retry-After")),
				fmt.Errorf("shopify: revoke: HTTP %d: %s", resp.StatusCode, snippet(body)))
		default:
			return connectors.Terminal("RequestRejected", fmt.Errorf("shopify: revoke: HTTP %d: %s", resp.StatusCode, snippet(body)))
		}
	}
}

// redactURL keeps a transport error's operation and cause without its URL's query.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + strings.SplitN(ue.URL, "?", 2)[0] + ": " + ue.Err.Error()
	}
	return err.Error()
}
