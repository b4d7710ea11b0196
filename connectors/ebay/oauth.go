package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

const (
	// CredentialRuName is the OAuth Secret key holding the app's RuName (eBay Redirect URL name): the value
	// eBay takes as redirect_uri, which it maps to the accept URL registered with it.
	CredentialRuName = "ruName"

	// DefaultAuthEndpoint is the host of eBay's consent page; spec.connection.endpoint overrides it.
	DefaultAuthEndpoint = "https://auth.ebay.com"
	authorizePath       = "/oauth2/authorize"
)

// Scopes are the OAuth scopes the connector asks for: read-only fulfillment (orders) and inventory.
var Scopes = []string{ScopeFulfillment, ScopeInventory}

// OAuth is eBay's authorization code grant. The redirect_uri is the app's RuName, not a URL: eBay sends the
// browser on to the accept URL registered for that RuName, the operator's callback. User access tokens last two
// hours; the refresh token about 18 months and does not rotate. eBay has no REST endpoint that revokes a user
// token: sellers remove an app's access in My eBay (Account > Permissions), so Revoke is nil.
var OAuth = &connectors.OAuth{
	AppKeys:         []string{CredentialClientID, CredentialClientSecret, CredentialRuName},
	StateInCallback: true,
	AuthCodeURL:     authCodeURL,
	Exchange:        exchangeCode,
	Refresh:         refresh,
	Seed:            seed,
}

func credential(creds map[string][]byte, key string) string {
	return strings.TrimSpace(string(creds[key]))
}

func endpoints(conn v1alpha1.Connection) (authBase, tokenURL string) {
	if base := strings.TrimRight(conn.Endpoint, "/"); base != "" {
		return base, base + tokenPath
	}
	return DefaultAuthEndpoint, DefaultEndpoint + tokenPath
}

func oauthConfig(app connectors.App, keys ...string) (*oauth2.Config, error) {
	for _, key := range append([]string{CredentialClientID, CredentialClientSecret}, keys...) {
		if credential(app.Credentials, key) == "" {
			return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
				fmt.Errorf("ebay: the Secret has no %q key (%s)", key, credentialWhat[key]))
		}
	}
	authBase, tokenURL := endpoints(app.Connection)
	return &oauth2.Config{
		ClientID:     credential(app.Credentials, CredentialClientID),
		ClientSecret: credential(app.Credentials, CredentialClientSecret),
		Endpoint:     oauth2.Endpoint{AuthURL: authBase + authorizePath, TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInHeader},
		RedirectURL:  credential(app.Credentials, CredentialRuName),
		Scopes:       Scopes,
	}, nil
}

func authCodeURL(app connectors.App, state, _ string) (string, error) {
	cfg, err := oauthConfig(app, CredentialRuName)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state), nil
}

func exchangeCode(ctx context.Context, app connectors.App, callback url.Values, _ string) (connectors.Token, error) {
	if e := callback.Get("error"); e != "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("ebay: the seller did not grant access (%s)", e))
	}
	code := callback.Get("code")
	if code == "" {
		return connectors.Token{}, connectors.Terminal("InvalidCallback", errors.New("ebay: the callback has no code"))
	}
	cfg, err := oauthConfig(app, CredentialRuName)
	if err != nil {
		return connectors.Token{}, err
	}
	t, err := cfg.Exchange(app.Context(ctx), code)
	if err != nil {
		return connectors.Token{}, connectors.TokenError("ebay", err)
	}
	return connectors.FromOAuth2(t, time.Now()), nil
}

// refresh is the refresh_token grant. It is written out because eBay wants the scope on it, which
// golang.org/x/oauth2 does not send: the grant's scope, else the connector's.
func refresh(ctx context.Context, app connectors.App, tok connectors.Token) (connectors.Token, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	scope := tok.Scope
	if scope == "" {
		scope = strings.Join(Scopes, " ")
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}, "scope": {scope}}.Encode()
	hc := app.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	// 429, 5xx and network failures are retried a few times; eBay's answers are classified by checkToken.
	client := &kit.Client{HTTP: hc, Platform: "ebay", MaxRetries: 3, BaseBackoff: 200 * time.Millisecond,
		MaxBackoff: 5 * time.Second, Check: func(resp *http.Response, body []byte) error { return checkToken(resp, body, scope) }}
	now := time.Now()
	resp, err := client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.Endpoint.TokenURL, strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(cfg.ClientID, cfg.ClientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	})
	if err != nil {
		return connectors.Token{}, err
	}
	var out tokenAnswer
	_ = json.Unmarshal(resp.Body, &out)
	if out.AccessToken == "" || out.ExpiresIn <= 0 {
		return connectors.Token{}, connectors.Transient("MalformedResponse", 0,
			errors.New("ebay: refresh the access token: the token endpoint's answer has no access_token and expires_in"))
	}
	return connectors.Token{AccessToken: out.AccessToken, TokenType: out.TokenType, Scope: tok.Scope,
		Expiry: now.Add(time.Duration(out.ExpiresIn) * time.Second)}, nil
}

type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int64  `json:"expires_in"`
	TokenType        string `json:"token_type"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// checkToken classifies the token endpoint's error answers by their RFC 6749 error code (invalid_grant:
// TokenRevoked; invalid_client: Unauthorized; invalid_scope: InsufficientScope; 429 and 5xx: transient). The
// message carries eBay's error code and description, never the request.
func checkToken(resp *http.Response, body []byte, scope string) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	var out tokenAnswer
	_ = json.Unmarshal(body, &out)
	if out.Error == "invalid_scope" {
		return connectors.Auth("InsufficientScope", fmt.Errorf("ebay: token endpoint answered HTTP %d invalid_scope: %s (asked for %s)",
			resp.StatusCode, out.ErrorDescription, scope))
	}
	err := connectors.TokenEndpointError("ebay", resp.StatusCode, out.Error, out.ErrorDescription)
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return connectors.Transient("TokenEndpointUnavailable", kit.RetryAfterHeader(resp), err)
	}
	return err
}

// seed starts from the refresh token of API credentials (a token minted outside the operator).
func seed(creds map[string][]byte) (connectors.Token, bool) {
	rt := credential(creds, CredentialRefreshToken)
	if rt == "" {
		return connectors.Token{}, false
	}
	return connectors.Token{RefreshToken: rt}, true
}
