package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/tether/integration-operator/api/v1alpha1"
)

// App is what a platform's OAuth flow works from: where the account is, the app registration from the user's
// Secret, and the operator's callback URL.
type App struct {
	// Connection is the Integration's spec.connection. Sandboxes are reached through Connection.Endpoint, which
	// then also hosts the authorization server.
	Connection v1alpha1.Connection
	// Credentials is the data of the user's Secret: the app's client ID and secret (see OAuth.AppKeys). Never
	// log these or put them in an error.
	Credentials map[string][]byte
	// RedirectURL is the operator's callback URL, the one registered at the platform.
	RedirectURL string
	// HTTPClient is the client for token, revocation and lookup calls. Never nil.
	HTTPClient *http.Client
}

// Context returns ctx carrying the app's HTTP client for golang.org/x/oauth2.
func (a App) Context(ctx context.Context) context.Context {
	if a.HTTPClient == nil {
		return ctx
	}
	return context.WithValue(ctx, oauth2.HTTPClient, a.HTTPClient)
}

// Token is an account's OAuth grant. The operator keeps it in a Secret it owns; it never appears in status,
// events or logs.
type Token struct {
	AccessToken  string
	RefreshToken string
	// TokenType is usually "bearer".
	TokenType string
	// Expiry is when the access token stops working; zero when it does not expire (Shopify classic offline
	// tokens, BigCommerce).
	Expiry time.Time
	// RefreshExpiry is when the refresh token stops working, when the platform says.
	RefreshExpiry time.Time
	// Scope is what the account granted, when the platform says.
	Scope string
	// Extra keeps what the grant returned that later calls need: Shopify's shop, Amazon's selling_partner_id,
	// BigCommerce's context, QuickBooks' realmId, Xero's tenantId, Etsy's user ID.
	Extra map[string]string
}

// ExpiresWithin reports whether the access token is gone or expires within d.
func (t Token) ExpiresWithin(now time.Time, d time.Duration) bool {
	if t.AccessToken == "" {
		return true
	}
	return !t.Expiry.IsZero() && !now.Add(d).Before(t.Expiry)
}

// OAuth is a platform's authorization-code flow: how an admin connects an account in the browser, and how
// its tokens are refreshed and revoked. Platforms that connect only with API credentials leave
// Platform.OAuth nil. Per-platform quirks (Shopify's callback hmac, Amazon's spapi_oauth_code, eBay's RuName,
// BigCommerce's context) live in the platform's implementation; the operator does the rest (state, PKCE
// verifier, cookies, Secrets, serialised refresh).
type OAuth struct {
	// AppKeys are the keys the user's Secret must have for an OAuth integration: the app's client ID and secret
	// and whatever else the platform's authorize step needs (eBay's RuName, Amazon's application ID).
	AppKeys []string
	// PKCE makes the operator generate a verifier and pass it to AuthCodeURL and Exchange (S256).
	PKCE bool
	// StateInCallback is false for flows whose callback does not carry state back (BigCommerce's install
	// flow): the operator then binds the callback to the browser's connect cookie alone.
	StateInCallback bool
	// AuthCodeURL is the page the admin's browser is sent to. state must come back on the callback; verifier
	// is the PKCE verifier (empty unless PKCE), of which only the S256 challenge may go in the URL.
	AuthCodeURL func(app App, state, verifier string) (string, error)
	// Exchange checks the callback's query beyond state (which the operator has verified) and trades its code
	// for tokens. Errors say what went wrong without repeating the code.
	Exchange func(ctx context.Context, app App, callback url.Values, verifier string) (Token, error)
	// Refresh trades tok's refresh token for a new token, keeping tok.Extra. Nil when tokens never expire.
	// invalid_grant must come back as an Auth error with reason TokenRevoked (TokenError does this).
	Refresh func(ctx context.Context, app App, tok Token) (Token, error)
	// Revoke revokes tok at the platform. Nil when the platform has no revocation endpoint.
	Revoke func(ctx context.Context, app App, tok Token) error
	// Seed, for platforms whose API credentials carry a refresh token (Amazon self-authorisation, eBay and
	// Etsy tokens minted outside the operator), returns the grant to start from; ok is false when the Secret
	// holds static credentials. Rotated tokens are then kept in the operator's token Secret, never written
	// back to the user's.
	Seed func(creds map[string][]byte) (tok Token, ok bool)
}

// Tokens gives a connector its account's current OAuth token. The operator's implementation refreshes ahead
// of expiry, one refresh at a time per integration, and writes every new token to the integration's token
// Secret before handing it out.
type Tokens interface {
	// Token returns a token that is valid for a while yet, refreshing first when needed.
	Token(ctx context.Context) (Token, error)
	// Renew refreshes after the platform rejected the access token stale, unless it has been replaced since,
	// and returns the current token.
	Renew(ctx context.Context, stale string) (Token, error)
}

// TokenStore persists an integration's token. Save must be durable before it returns: a rotated refresh token
// that is lost disconnects the account.
type TokenStore interface {
	Load(ctx context.Context) (Token, error)
	Save(ctx context.Context, tok Token) error
}

// TokensFor returns the Tokens a connector uses: cfg.Tokens when the operator set it, otherwise, when the
// platform's API credentials carry a refresh token (OAuth.Seed), a Keeper over memory seeded from them (tests,
// benchmarks and tools outside the manager), otherwise nil: the credentials are static.
func TokensFor(cfg Config, flow *OAuth) Tokens {
	if cfg.Tokens != nil {
		return cfg.Tokens
	}
	if flow == nil || flow.Seed == nil {
		return nil
	}
	tok, ok := flow.Seed(cfg.Credentials)
	if !ok {
		return nil
	}
	return &Keeper{Flow: flow, App: App{Connection: cfg.Connection, Credentials: cfg.Credentials, HTTPClient: cfg.HTTPClient},
		Store: NewMemoryTokenStore(tok)}
}

// RefreshMargin is how long before expiry a token is refreshed.
const RefreshMargin = 5 * time.Minute

// Keeper implements Tokens over a TokenStore with a platform's Refresh. Use one Keeper per integration: its
// mutex is what serialises refreshes.
type Keeper struct {
	Flow  *OAuth
	App   App
	Store TokenStore
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu sync.Mutex
	// refreshes counts successful refreshes.
	refreshes int
}

func (k *Keeper) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// Token implements Tokens.
func (k *Keeper) Token(ctx context.Context) (Token, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, err := k.Store.Load(ctx)
	if err != nil {
		return Token{}, err
	}
	if !tok.ExpiresWithin(k.now(), RefreshMargin) {
		return tok, nil
	}
	return k.refreshLocked(ctx, tok)
}

// Renew implements Tokens.
func (k *Keeper) Renew(ctx context.Context, stale string) (Token, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	tok, err := k.Store.Load(ctx)
	if err != nil {
		return Token{}, err
	}
	if tok.AccessToken != "" && tok.AccessToken != stale {
		return tok, nil
	}
	return k.refreshLocked(ctx, tok)
}

// Refreshes returns how many refreshes succeeded.
func (k *Keeper) Refreshes() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.refreshes
}

func (k *Keeper) refreshLocked(ctx context.Context, tok Token) (Token, error) {
	if k.Flow == nil || k.Flow.Refresh == nil || tok.RefreshToken == "" {
		return Token{}, Auth(v1alpha1.ReasonTokenRevoked, errors.New("the access token was rejected or has expired and there is no refresh token; connect the account again"))
	}
	next, err := k.Flow.Refresh(ctx, k.App, tok)
	if err != nil {
		return Token{}, err
	}
	if next.AccessToken == "" {
		return Token{}, Transient("MalformedResponse", 0, errors.New("the token endpoint's answer has no access token"))
	}
	if next.RefreshToken == "" {
		next.RefreshToken = tok.RefreshToken
		if next.RefreshExpiry.IsZero() {
			next.RefreshExpiry = tok.RefreshExpiry
		}
	}
	if next.Extra == nil {
		next.Extra = map[string]string{}
	}
	for key, v := range tok.Extra {
		if _, ok := next.Extra[key]; !ok {
			next.Extra[key] = v
		}
	}
	// The new token is stored before anyone uses it: the platform may already have retired the old refresh
	// token.
	if err := k.Store.Save(ctx, next); err != nil {
		return Token{}, Transient("TokenNotSaved", 0, fmt.Errorf("save the refreshed token: %w", err))
	}
	k.refreshes++
	return next, nil
}

// MemoryTokenStore keeps a token in memory: for tests, benchmarks and the sandbox tools.
type MemoryTokenStore struct {
	mu  sync.Mutex
	tok Token
	// Saves counts Save calls.
	Saves int
}

// NewMemoryTokenStore returns a store holding tok.
func NewMemoryTokenStore(tok Token) *MemoryTokenStore { return &MemoryTokenStore{tok: tok} }

// Load implements TokenStore.
func (m *MemoryTokenStore) Load(context.Context) (Token, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tok, nil
}

// Save implements TokenStore.
func (m *MemoryTokenStore) Save(_ context.Context, tok Token) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tok = tok
	m.Saves++
	return nil
}

// FromOAuth2 converts a golang.org/x/oauth2 token, copying the named extra response fields. Numeric
// refresh_token_expires_in (or x_refresh_token_expires_in) sets RefreshExpiry.
func FromOAuth2(t *oauth2.Token, now time.Time, extra ...string) Token {
	tok := Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry,
		Extra: map[string]string{}}
	if s, ok := t.Extra("scope").(string); ok {
		tok.Scope = s
	}
	for _, name := range []string{"refresh_token_expires_in", "x_refresh_token_expires_in"} {
		if secs := numberField(t.Extra(name)); secs > 0 {
			tok.RefreshExpiry = now.Add(time.Duration(secs) * time.Second)
		}
	}
	for _, name := range extra {
		switch v := t.Extra(name).(type) {
		case string:
			if v != "" {
				tok.Extra[name] = v
			}
		case float64:
			tok.Extra[name] = strconv.FormatFloat(v, 'f', -1, 64)
		}
	}
	return tok
}

func numberField(v any) int64 {
	switch n := v.(type) {
	case float64:
		return int64(n)
	case string:
		i, _ := strconv.ParseInt(n, 10, 64)
		return i
	}
	return 0
}

// TokenError classifies a token endpoint failure as RFC 6749 defines its answers. invalid_grant (the code or
// refresh token is expired, used or revoked) disconnects with reason TokenRevoked; invalid_client and
// unauthorized_client disconnect with reason Unauthorized; 429, 5xx and network failures are transient. The
// message carries the endpoint's error code and description, never the request.
func TokenError(platform string, err error) error {
	if err == nil {
		return nil
	}
	var ce *Error
	if errors.As(err, &ce) {
		return err
	}
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return Transient("TokenEndpointUnavailable", 0, fmt.Errorf("%s: token endpoint: %s", platform, redactURLError(err)))
	}
	status := 0
	if re.Response != nil {
		status = re.Response.StatusCode
	}
	return TokenEndpointError(platform, status, re.ErrorCode, re.ErrorDescription)
}

// TokenEndpointError classifies a token endpoint answer given its status and RFC 6749 error fields.
func TokenEndpointError(platform string, status int, code, description string) error {
	msg := fmt.Sprintf("%s: token endpoint answered HTTP %d", platform, status)
	if code != "" {
		msg += " " + code
	}
	if description != "" {
		msg += ": " + description
	}
	err := errors.New(msg)
	switch {
	case code == "invalid_grant":
		return Auth(v1alpha1.ReasonTokenRevoked, err)
	case code == "invalid_client" || code == "unauthorized_client" || status == 401 || status == 403:
		return Auth(v1alpha1.ReasonUnauthorized, err)
	case status == 429 || status >= 500 || status == 0:
		return Transient("TokenEndpointUnavailable", 0, err)
	default:
		return Terminal("TokenRequestRejected", err)
	}
}

// redactURLError drops the URL of a *url.Error (its query could carry a code) and keeps what failed.
func redactURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + strings.SplitN(ue.URL, "?", 2)[0] + ": " + ue.Err.Error()
	}
	return err.Error()
}
