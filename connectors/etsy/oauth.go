package etsy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// DefaultAuthURL is Etsy's consent page. With spec.connection.endpoint set (a sandbox), it is
	// <endpoint>/oauth/connect instead.
	DefaultAuthURL = "https://www.etsy.com/oauth/connect"
	authPath       = "/oauth/connect"
	// Scopes are what the connector reads: receipts, listings and the shop.
	Scopes = "transactions_r listings_r shops_r"
	// RefreshTTL is how long Etsy's refresh tokens last. Etsy does not say it in the token answer.
	RefreshTTL = 90 * 24 * time.Hour

	// ExtraShopID and ExtraUserID are the Token.Extra keys of the shop the connector reads and the Etsy user
	// who authorized the app.
	ExtraShopID = "shopID"
	ExtraUserID = "userID"
)

// Flow is Etsy's OAuth 2.0 authorization-code flow with PKCE (S256, required by Etsy). The token endpoint
// takes the keystring as client_id in the form and no client secret; every refresh rotates the refresh token.
// Etsy documents no revocation endpoint: the shop owner removes the app under Account settings > Apps.
var Flow = &connectors.OAuth{
	AppKeys:         []string{CredentialKeystring, CredentialSharedSecret},
	PKCE:            true,
	StateInCallback: true,
	AuthCodeURL:     authCodeURL,
	Exchange:        exchange,
	Refresh:         refresh,
	Seed:            seedToken,
}

// hosts returns the API host and the consent page for a connection.
func hosts(conn v1alpha1.Connection) (apiHost, authURL string) {
	host := strings.TrimSuffix(strings.TrimRight(conn.Endpoint, "/"), apiPrefix)
	if host == "" {
		return DefaultEndpoint, DefaultAuthURL
	}
	return host, host + authPath
}

func appKey(creds map[string][]byte, key string) (string, error) {
	v := strings.TrimSpace(string(creds[key]))
	if v == "" {
		return "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound, fmt.Errorf("etsy: the credentials Secret has no %q key", key))
	}
	return v, nil
}

// oauthConfig is the app's golang.org/x/oauth2 configuration. The client secret stays empty: Etsy's token
// endpoint identifies the app by client_id alone (PKCE protects the code), so the shared secret never goes
// there.
func oauthConfig(app connectors.App) (*oauth2.Config, error) {
	keystring, err := appKey(app.Credentials, CredentialKeystring)
	if err != nil {
		return nil, err
	}
	host, auth := hosts(app.Connection)
	return &oauth2.Config{
		ClientID:    keystring,
		RedirectURL: app.RedirectURL,
		Scopes:      strings.Fields(Scopes),
		Endpoint:    oauth2.Endpoint{AuthURL: auth, TokenURL: host + tokenPath, AuthStyle: oauth2.AuthStyleInParams},
	}, nil
}

func authCodeURL(app connectors.App, state, verifier string) (string, error) {
	if verifier == "" {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration, errors.New("etsy: the authorization request needs a PKCE verifier"))
	}
	cfg, err := oauthConfig(app)
	if err != nil {
		return "", err
	}
	return cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)), nil
}

func exchange(ctx context.Context, app connectors.App, callback url.Values, verifier string) (connectors.Token, error) {
	if e := callback.Get("error"); e != "" {
		msg := "etsy: the authorization was not granted: " + e
		if d := callback.Get("error_description"); d != "" {
			msg += ": " + d
		}
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, errors.New(msg))
	}
	code := callback.Get("code")
	if code == "" {
		return connectors.Token{}, connectors.Terminal("InvalidCallback", errors.New("etsy: the callback has no authorization code"))
	}
	if verifier == "" {
		return connectors.Token{}, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration, errors.New("etsy: the exchange needs the PKCE verifier"))
	}
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	t, err := cfg.Exchange(app.Context(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return connectors.Token{}, connectors.TokenError("etsy", err)
	}
	now := time.Now()
	tok := connectors.FromOAuth2(t, now)
	tok.RefreshExpiry = now.Add(RefreshTTL)
	userID, shopID, err := findShop(ctx, app, tok.AccessToken)
	if err != nil {
		return connectors.Token{}, err
	}
	tok.Extra[ExtraUserID] = strconv.FormatInt(userID, 10)
	tok.Extra[ExtraShopID] = strconv.FormatInt(shopID, 10)
	return tok, nil
}

func refresh(ctx context.Context, app connectors.App, old connectors.Token) (connectors.Token, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	// An expired token makes oauth2 refresh; RefreshToken is the only field it sends.
	t, err := cfg.TokenSource(app.Context(ctx), &oauth2.Token{RefreshToken: old.RefreshToken, Expiry: time.Unix(1, 0)}).Token()
	if err != nil {
		return connectors.Token{}, connectors.TokenError("etsy", err)
	}
	now := time.Now()
	tok := connectors.FromOAuth2(t, now)
	if tok.RefreshToken != "" && tok.RefreshToken != old.RefreshToken {
		tok.RefreshExpiry = now.Add(RefreshTTL)
	}
	return tok, nil
}

// seedToken starts from the API credentials' refresh token (minted outside the operator), with the Secret's shop
// ID when it has one.
func seedToken(creds map[string][]byte) (connectors.Token, bool) {
	rt := strings.TrimSpace(string(creds[CredentialRefreshToken]))
	if rt == "" {
		return connectors.Token{}, false
	}
	tok := connectors.Token{RefreshToken: rt, TokenType: "Bearer", Extra: map[string]string{}}
	if id := strings.TrimSpace(string(creds[CredentialShopID])); id != "" {
		tok.Extra[ExtraShopID] = id
	}
	return tok, true
}

// UserIDOf is the Etsy user ID an access token is for: Etsy's tokens are shaped {user_id}.{token}.
func UserIDOf(accessToken string) (int64, bool) {
	prefix, _, ok := strings.Cut(accessToken, ".")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(prefix, 10, 64)
	return id, err == nil && id > 0
}

// findShop finds the shop of the user an access token belongs to with GET /users/{user_id}/shops
// (getShopByOwnerUserId): one Etsy user owns at most one shop, and Etsy answers 404 when there is none.
func findShop(ctx context.Context, app connectors.App, accessToken string) (userID, shopID int64, err error) {
	userID, ok := UserIDOf(accessToken)
	if !ok {
		return 0, 0, connectors.Transient("MalformedResponse", 0, errors.New("etsy: the access token does not start with a user ID"))
	}
	keystring, err := appKey(app.Credentials, CredentialKeystring)
	if err != nil {
		return 0, 0, err
	}
	secret, err := appKey(app.Credentials, CredentialSharedSecret)
	if err != nil {
		return 0, 0, err
	}
	host, _ := hosts(app.Connection)
	path := fmt.Sprintf("%s/users/%d/shops", apiPrefix, userID)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, host+path, nil)
	if err != nil {
		return 0, 0, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration, fmt.Errorf("etsy: %s: bad endpoint", path))
	}
	req.Header.Set("x-api-key", keystring+":"+secret)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	hc := app.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("etsy: look up the shop of user %d: %w", userID, err))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	shopID, err = shopOf(userID, resp.StatusCode, body)
	return userID, shopID, err
}

// shopOf reads getShopByOwnerUserId's answer: a Shop, or (as some answers have been) a {count, results} list.
func shopOf(userID int64, status int, body []byte) (int64, error) {
	var ae apiError
	_ = json.Unmarshal(body, &ae)
	switch {
	case status == http.StatusNotFound:
		return 0, connectors.Terminal("NoShop", fmt.Errorf("etsy: Etsy user %d, who authorized the app, has no shop "+
			"(or it is not open yet); connect with the shop owner's Etsy account", userID))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return 0, connectors.Auth(v1alpha1.ReasonUnauthorized, fmt.Errorf("etsy: look up the shop of user %d: HTTP %d: %s", userID, status, ae.Error))
	case status == http.StatusTooManyRequests || status >= 500:
		return 0, connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("etsy: look up the shop of user %d: HTTP %d", userID, status))
	case status != http.StatusOK:
		return 0, connectors.Terminal("RequestRejected", fmt.Errorf("etsy: look up the shop of user %d: HTTP %d: %s", userID, status, ae.Error))
	}
	var answer struct {
		ShopID  int64 `json:"shop_id"`
		Results []struct {
			ShopID int64 `json:"shop_id"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return 0, connectors.Transient("MalformedResponse", 0, fmt.Errorf("etsy: look up the shop of user %d: %w", userID, err))
	}
	if answer.ShopID <= 0 && len(answer.Results) > 0 {
		answer.ShopID = answer.Results[0].ShopID
	}
	if answer.ShopID <= 0 {
		return 0, connectors.Terminal("NoShop", fmt.Errorf("etsy: Etsy user %d, who authorized the app, has no shop; connect with the shop owner's Etsy account", userID))
	}
	return answer.ShopID, nil
}
