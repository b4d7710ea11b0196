package bigcommerce

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// AppKeyClientID and AppKeyClientSecret are the user Secret's keys for an OAuth integration: the app's
	// client ID and secret from the BigCommerce Developer Portal.
	AppKeyClientID     = "clientID"
	AppKeyClientSecret = "clientSecret"
	// ExtraContext is the Token.Extra key holding the grant's context, "stores/{store_hash}".
	ExtraContext = "context"
	// ExtraUserID and ExtraAccountUUID keep the installing user's ID and the app's account UUID.
	ExtraUserID      = "user_id"
	ExtraAccountUUID = "account_uuid"

	// DefaultLoginURL is BigCommerce's login service: app install pages and the token endpoint.
	DefaultLoginURL = "https://login.bigcommerce.com"
)

// Scopes are the OAuth scopes the app needs, set on the app's Scopes tab in the Developer Portal (BigCommerce
// does not take them on the install URL): orders, products, store information and inventory (with
// locations), read only.
var Scopes = []string{"store_v2_orders_read_only", "store_v2_products_read_only", "store_v2_information_read_only",
	"store_inventory_read_only"}

// OAuth is BigCommerce's single-click app install flow: the store owner installs the app from its install
// page, BigCommerce calls the app's Auth Callback URL with code, scope and context (no state), and the app
// trades the code for a token that never expires. Tokens end when the app is uninstalled in the store's
// control panel; there is no revocation endpoint.
var OAuth = &connectors.OAuth{
	AppKeys:         []string{AppKeyClientID, AppKeyClientSecret},
	StateInCallback: false,
	AuthCodeURL:     authCodeURL,
	Exchange:        exchange,
}

// loginBase is the login service: under the sandbox endpoint when set.
func loginBase(conn v1alpha1.Connection) string {
	if ep := strings.TrimRight(conn.Endpoint, "/"); ep != "" {
		return ep
	}
	return DefaultLoginURL
}

func appKeys(app connectors.App) (id, secret string, err error) {
	id = strings.TrimSpace(string(app.Credentials[AppKeyClientID]))
	secret = strings.TrimSpace(string(app.Credentials[AppKeyClientSecret]))
	if id == "" || secret == "" {
		return "", "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("bigcommerce: the credentials Secret needs %q and %q (the app's client ID and secret)", AppKeyClientID, AppKeyClientSecret))
	}
	return id, secret, nil
}

func checkStoreHash(conn v1alpha1.Connection) error {
	if !storeHashPattern.MatchString(conn.StoreHash) {
		return connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("bigcommerce: connection.storeHash %q is not a store hash (lower-case letters and digits)", conn.StoreHash))
	}
	return nil
}

// authCodeURL is the app's install page, https://login.bigcommerce.com/app/{client_id}/install. BigCommerce
// sends the store owner's browser to the Auth Callback URL registered for the app, without state.
func authCodeURL(app connectors.App, _, _ string) (string, error) {
	if err := checkStoreHash(app.Connection); err != nil {
		return "", err
	}
	id, _, err := appKeys(app)
	if err != nil {
		return "", err
	}
	return loginBase(app.Connection) + "/app/" + url.PathEscape(id) + "/install", nil
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	Scope       string `json:"scope"`
	User        struct {
		ID    json.Number `json:"id"`
		Email string      `json:"email"`
	} `json:"user"`
	Context     string `json:"context"`
	AccountUUID string `json:"account_uuid"`

	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// exchange checks that the callback is for this integration's store and trades the code for the store's
// token: POST /oauth2/token with a JSON body.
func exchange(ctx context.Context, app connectors.App, cb url.Values, _ string) (connectors.Token, error) {
	if err := checkStoreHash(app.Connection); err != nil {
		return connectors.Token{}, err
	}
	id, secret, err := appKeys(app)
	if err != nil {
		return connectors.Token{}, err
	}
	if e := cb.Get("error"); e != "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, fmt.Errorf("bigcommerce: installation failed: %s", e))
	}
	want := "stores/" + app.Connection.StoreHash
	if got := cb.Get("context"); got != want {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("bigcommerce: the app was installed on %q, but this integration is for %q", got, want))
	}
	code := cb.Get("code")
	if code == "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized, errors.New("bigcommerce: the callback has no authorization code"))
	}
	body, _ := json.Marshal(map[string]string{
		"client_id": id, "client_secret": secret, "code": code, "scope": cb.Get("scope"),
		"grant_type": "authorization_code", "redirect_uri": app.RedirectURL, "context": want,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, loginBase(app.Connection)+"/oauth2/token", bytes.NewReader(body))
	if err != nil {
		return connectors.Token{}, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration, errors.New("bigcommerce: build the token request"))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	hc := app.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return connectors.Token{}, connectors.TokenError(platform, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return connectors.Token{}, connectors.Transient("TokenEndpointUnavailable", 0, fmt.Errorf("bigcommerce: token endpoint: read the answer: %w", err))
	}
	var tr tokenResponse
	jsonErr := json.Unmarshal(raw, &tr)
	if resp.StatusCode != http.StatusOK {
		desc := tr.ErrorDescription
		if jsonErr != nil {
			desc = ""
		}
		return connectors.Token{}, connectors.TokenEndpointError(platform, resp.StatusCode, tr.Error, desc)
	}
	if jsonErr != nil || tr.AccessToken == "" {
		return connectors.Token{}, connectors.Transient("MalformedResponse", 0, errors.New("bigcommerce: the token endpoint's answer has no access token"))
	}
	if tr.Context != "" && tr.Context != want {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("bigcommerce: the token is for %q, but this integration is for %q", tr.Context, want))
	}
	tok := connectors.Token{AccessToken: tr.AccessToken, TokenType: "bearer", Scope: tr.Scope,
		Extra: map[string]string{ExtraContext: want}}
	if tr.User.ID != "" {
		tok.Extra[ExtraUserID] = tr.User.ID.String()
	}
	if tr.AccountUUID != "" {
		tok.Extra[ExtraAccountUUID] = tr.AccountUUID
	}
	return tok, nil
}
