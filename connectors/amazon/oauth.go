package amazon

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// CredentialApplicationID is the OAuth Secret key holding the SP-API app's application ID
	// (amzn1.sp.solution.…), which the Seller Central consent URL names.
	CredentialApplicationID = "applicationID"
	// CredentialDraft, set to "true" in the OAuth Secret, marks an app still in draft status: the consent URL
	// then carries version=beta, as Amazon requires for authorising draft apps.
	CredentialDraft = "draft"

	// ExtraSellingPartnerID is the Token.Extra key holding the seller's ID from the callback.
	ExtraSellingPartnerID = "selling_partner_id"

	consentPath = "/apps/authorize/consent"
	tokenPath   = "/auth/o2/token"
)

// sellerCentral are the Seller Central hosts whose consent page authorises an app for a region's sellers.
var sellerCentral = map[string]string{
	"NA": "https://sellercentral.amazon.com",
	"EU": "https://sellercentral-europe.amazon.com",
	"FE": "https://sellercentral.amazon.co.jp",
}

// OAuth is Amazon's website authorization workflow: the seller consents in Seller Central, the callback
// carries spapi_oauth_code (valid about five minutes) and selling_partner_id, and Login with Amazon (LWA)
// trades the code for a one-hour access token and a long-lived refresh token that does not rotate. Amazon has
// no revocation endpoint: sellers remove an app's authorisation in Seller Central (Manage Your Apps).
var OAuth = &connectors.OAuth{
	AppKeys:         []string{CredentialApplicationID, CredentialClientID, CredentialClientSecret},
	StateInCallback: true,
	AuthCodeURL:     authCodeURL,
	Exchange:        exchangeCode,
	Refresh:         refresh,
	Seed:            seed,
}

func credential(creds map[string][]byte, key string) string {
	return strings.TrimSpace(string(creds[key]))
}

// consentBase is where the consent page is: the sandbox endpoint, else the region's Seller Central.
func consentBase(conn v1alpha1.Connection) (string, error) {
	if conn.Endpoint != "" {
		return strings.TrimRight(conn.Endpoint, "/"), nil
	}
	base, ok := sellerCentral[strings.ToUpper(conn.Region)]
	if !ok {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("amazon: connection.region %q is not one of NA, EU, FE", conn.Region))
	}
	return base, nil
}

// tokenURL is the LWA token endpoint: next to the API when the connection names an endpoint (a sandbox).
func tokenURL(conn v1alpha1.Connection) string {
	if conn.Endpoint != "" {
		return strings.TrimRight(conn.Endpoint, "/") + tokenPath
	}
	return defaultTokenURL
}

func oauthConfig(app connectors.App) (*oauth2.Config, error) {
	for _, key := range []string{CredentialClientID, CredentialClientSecret} {
		if credential(app.Credentials, key) == "" {
			return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
				fmt.Errorf("amazon: the Secret has no %q key (%s)", key, credentialHelp[key]))
		}
	}
	return &oauth2.Config{
		ClientID:     credential(app.Credentials, CredentialClientID),
		ClientSecret: credential(app.Credentials, CredentialClientSecret),
		Endpoint:     oauth2.Endpoint{TokenURL: tokenURL(app.Connection), AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL:  app.RedirectURL,
	}, nil
}

func authCodeURL(app connectors.App, state, _ string) (string, error) {
	appID := credential(app.Credentials, CredentialApplicationID)
	if appID == "" {
		return "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("amazon: the Secret has no %q key (%s)", CredentialApplicationID, credentialHelp[CredentialApplicationID]))
	}
	base, err := consentBase(app.Connection)
	if err != nil {
		return "", err
	}
	q := url.Values{"application_id": {appID}, "state": {state}, "redirect_uri": {app.RedirectURL}}
	if draft, _ := strconv.ParseBool(credential(app.Credentials, CredentialDraft)); draft {
		q.Set("version", "beta")
	}
	return base + consentPath + "?" + q.Encode(), nil
}

func exchangeCode(ctx context.Context, app connectors.App, callback url.Values, _ string) (connectors.Token, error) {
	if e := callback.Get("error"); e != "" {
		return connectors.Token{}, connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("amazon: the seller did not authorise the app (%s)", e))
	}
	code := callback.Get("spapi_oauth_code")
	if code == "" {
		return connectors.Token{}, connectors.Terminal("InvalidCallback", errors.New("amazon: the callback has no spapi_oauth_code"))
	}
	seller := callback.Get(ExtraSellingPartnerID)
	if seller == "" {
		return connectors.Token{}, connectors.Terminal("InvalidCallback", errors.New("amazon: the callback has no selling_partner_id"))
	}
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	t, err := cfg.Exchange(app.Context(ctx), code)
	if err != nil {
		return connectors.Token{}, connectors.TokenError("amazon", err)
	}
	tok := connectors.FromOAuth2(t, time.Now())
	tok.Extra[ExtraSellingPartnerID] = seller
	return tok, nil
}

func refresh(ctx context.Context, app connectors.App, tok connectors.Token) (connectors.Token, error) {
	cfg, err := oauthConfig(app)
	if err != nil {
		return connectors.Token{}, err
	}
	// An empty access token makes the token source refresh at once.
	t, err := cfg.TokenSource(app.Context(ctx), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		return connectors.Token{}, connectors.TokenError("amazon", err)
	}
	return connectors.FromOAuth2(t, time.Now()), nil
}

// seed starts from the refresh token of API credentials (a self-authorised app).
func seed(creds map[string][]byte) (connectors.Token, bool) {
	rt := credential(creds, CredentialRefreshToken)
	if rt == "" {
		return connectors.Token{}, false
	}
	return connectors.Token{RefreshToken: rt, TokenType: "bearer"}, true
}
