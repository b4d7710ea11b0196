package sandboxkit

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// AuthServerOptions are a platform's OAuth rules: its app registration, the merchant's login on the consent
// page, and its token lifetimes and rotation.
type AuthServerOptions struct {
	// ClientID and ClientSecret are the registered app's.
	ClientID, ClientSecret string
	// Username and Password log the merchant in on the consent page.
	Username, Password string
	// AccessTTL is the access token lifetime; zero means access tokens never expire.
	AccessTTL time.Duration
	// RefreshTTL is the refresh token lifetime; zero means no expiry. No refresh tokens are issued when
	// NoRefresh is set.
	RefreshTTL time.Duration
	NoRefresh  bool
	// Rotate makes every refresh issue a new refresh token and retire the one presented (Etsy, Xero, Shopify
	// expiring tokens, QuickBooks).
	Rotate bool
	// CodeTTL is how long an authorization code can be exchanged: five minutes when zero.
	CodeTTL time.Duration
	// RequirePKCE rejects authorization requests without an S256 challenge (Etsy).
	RequirePKCE bool
	// TokenPrefix starts every token the server issues, as platforms shape theirs ("Atza|", "shpat_").
	TokenPrefix string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Grant is what a token answer carries.
type Grant struct {
	AccessToken   string
	RefreshToken  string
	AccessExpiry  time.Time
	RefreshExpiry time.Time
	Scope         string
	// Subject is what the grant is for (shop, seller, user ID), as the platform's answer reports it.
	Subject map[string]string
}

// ExpiresIn is the access token's remaining lifetime in whole seconds (zero when it never expires).
func (g Grant) ExpiresIn(now time.Time) int64 {
	if g.AccessExpiry.IsZero() {
		return 0
	}
	return int64(g.AccessExpiry.Sub(now).Round(time.Second) / time.Second)
}

// RefreshExpiresIn is the refresh token's remaining lifetime in whole seconds (zero when it never expires).
func (g Grant) RefreshExpiresIn(now time.Time) int64 {
	if g.RefreshExpiry.IsZero() {
		return 0
	}
	return int64(g.RefreshExpiry.Sub(now).Round(time.Second) / time.Second)
}

// OAuthError is an RFC 6749 error answer.
type OAuthError struct {
	Status      int    `json:"-"`
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func (e *OAuthError) Error() string { return e.Code + ": " + e.Description }

// Write sends the error as the JSON body RFC 6749 section 5.2 describes.
func (e *OAuthError) Write(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e)
}

func invalidGrant(desc string) *OAuthError {
	return &OAuthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: desc}
}

type code struct {
	clientID, redirectURI, challenge string
	subject                          map[string]string
	scope                            string
	expires                          time.Time
}

type tokenRecord struct {
	grant   *Grant
	expires time.Time
	revoked bool
}

// AuthServer is the core of a sandbox's authorization server: consent page, codes, tokens, refresh with the
// platform's rotation rules, and revocation. Each sandbox wraps it in its platform's endpoints, parameter
// names and client authentication.
type AuthServer struct {
	opts AuthServerOptions

	mu          sync.Mutex
	redirects   map[string]bool
	codes       map[string]*code
	access      map[string]*tokenRecord
	refresh     map[string]*tokenRecord
	exchanges   int
	refreshes   int
	revocations int
}

// NewAuthServer returns an authorization server with the options' rules.
func NewAuthServer(opts AuthServerOptions) *AuthServer {
	if opts.CodeTTL == 0 {
		opts.CodeTTL = 5 * time.Minute
	}
	return &AuthServer{opts: opts, redirects: map[string]bool{}, codes: map[string]*code{},
		access: map[string]*tokenRecord{}, refresh: map[string]*tokenRecord{}}
}

// Options returns the server's rules.
func (a *AuthServer) Options() AuthServerOptions { return a.opts }

func (a *AuthServer) now() time.Time {
	if a.opts.Now != nil {
		return a.opts.Now()
	}
	return time.Now()
}

// RegisterRedirect adds a redirect URI to the app's registration, as the platform's developer console does.
func (a *AuthServer) RegisterRedirect(uri string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.redirects[uri] = true
}

// RedirectRegistered reports whether uri is registered (exact match, as the platforms require).
func (a *AuthServer) RedirectRegistered(uri string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.redirects[uri]
}

// Redirects lists the registered redirect URIs.
func (a *AuthServer) Redirects() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]string, 0, len(a.redirects))
	for u := range a.redirects {
		out = append(out, u)
	}
	return out
}

// CheckClient reports whether the client credentials are the app's, in constant time.
func (a *AuthServer) CheckClient(clientID, clientSecret string) bool {
	return subtle.ConstantTimeCompare([]byte(clientID), []byte(a.opts.ClientID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(clientSecret), []byte(a.opts.ClientSecret)) == 1
}

// CheckAuthorize validates an authorization request's client, redirect URI and PKCE challenge, returning the
// error the platform's authorize page shows.
func (a *AuthServer) CheckAuthorize(clientID, redirectURI, challenge, method string) error {
	if clientID != a.opts.ClientID {
		return fmt.Errorf("unknown client_id")
	}
	if !a.RedirectRegistered(redirectURI) {
		return fmt.Errorf("redirect_uri %q is not registered for this app", redirectURI)
	}
	if a.opts.RequirePKCE && challenge == "" {
		return fmt.Errorf("code_challenge is required")
	}
	if challenge != "" && method != "S256" {
		return fmt.Errorf("code_challenge_method must be S256")
	}
	return nil
}

// IssueCode mints a single-use authorization code bound to the client, redirect URI and PKCE challenge.
func (a *AuthServer) IssueCode(clientID, redirectURI, challenge, scope string, subject map[string]string) string {
	c := randomToken("code_")
	a.mu.Lock()
	defer a.mu.Unlock()
	a.codes[c] = &code{clientID: clientID, redirectURI: redirectURI, challenge: challenge, scope: scope,
		subject: subject, expires: a.now().Add(a.opts.CodeTTL)}
	return c
}

// RedeemOptions change the grant one code exchange issues.
type RedeemOptions struct {
	// NonExpiring issues an access token that never expires and no refresh token, whatever the server's
	// lifetimes: Shopify's classic offline token, for an exchange that does not opt in to expiring tokens.
	NonExpiring bool
}

// Redeem exchanges a code. It checks, as platforms do: the code exists and is unused and unexpired, the
// client and redirect URI match those of the authorization request, and the PKCE verifier matches the
// challenge. A code is spent by any attempt.
func (a *AuthServer) Redeem(codeValue, clientID, redirectURI, verifier string) (Grant, *OAuthError) {
	return a.RedeemWith(codeValue, clientID, redirectURI, verifier, RedeemOptions{})
}

// RedeemWith is Redeem with per-grant options.
func (a *AuthServer) RedeemWith(codeValue, clientID, redirectURI, verifier string, o RedeemOptions) (Grant, *OAuthError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.codes[codeValue]
	delete(a.codes, codeValue)
	switch {
	case !ok:
		return Grant{}, invalidGrant("the authorization code is invalid or was already used")
	case a.now().After(c.expires):
		return Grant{}, invalidGrant("the authorization code has expired")
	case c.clientID != clientID:
		return Grant{}, invalidGrant("the authorization code was issued to another client")
	case redirectURI != "" && c.redirectURI != redirectURI:
		return Grant{}, invalidGrant("redirect_uri does not match the authorization request")
	case c.challenge != "" && pkceChallenge(verifier) != c.challenge:
		return Grant{}, invalidGrant("code_verifier does not match the code_challenge")
	case c.challenge == "" && verifier != "":
		return Grant{}, invalidGrant("code_verifier given but the authorization request had no code_challenge")
	}
	a.exchanges++
	if o.NonExpiring {
		g := &Grant{AccessToken: randomToken(a.opts.TokenPrefix), Scope: c.scope, Subject: c.subject}
		a.access[g.AccessToken] = &tokenRecord{grant: g}
		return *g, nil
	}
	return a.mintLocked(c.scope, c.subject, time.Time{}), nil
}

// Mint issues a grant without the consent step: the tokens a merchant copies from the platform's console.
func (a *AuthServer) Mint(scope string, subject map[string]string) Grant {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.mintLocked(scope, subject, time.Time{})
}

func (a *AuthServer) mintLocked(scope string, subject map[string]string, refreshExpiry time.Time) Grant {
	now := a.now()
	g := &Grant{AccessToken: randomToken(a.opts.TokenPrefix), Scope: scope, Subject: subject}
	if a.opts.AccessTTL > 0 {
		g.AccessExpiry = now.Add(a.opts.AccessTTL)
	}
	a.access[g.AccessToken] = &tokenRecord{grant: g, expires: g.AccessExpiry}
	if !a.opts.NoRefresh {
		g.RefreshToken = randomToken(a.opts.TokenPrefix + "r_")
		g.RefreshExpiry = refreshExpiry
		if g.RefreshExpiry.IsZero() && a.opts.RefreshTTL > 0 {
			g.RefreshExpiry = now.Add(a.opts.RefreshTTL)
		}
		a.refresh[g.RefreshToken] = &tokenRecord{grant: g, expires: g.RefreshExpiry}
	}
	return *g
}

// Refresh trades a refresh token for a new access token. With Rotate, the answer carries a new refresh token
// and the presented one stops working at once; a retired token gets invalid_grant, as on every rotating
// platform.
func (a *AuthServer) Refresh(refreshToken, clientID string) (Grant, *OAuthError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if clientID != a.opts.ClientID {
		return Grant{}, &OAuthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "unknown client"}
	}
	rec, ok := a.refresh[refreshToken]
	switch {
	case !ok || rec.revoked:
		return Grant{}, invalidGrant("the refresh token is invalid, revoked or was already rotated")
	case !rec.expires.IsZero() && a.now().After(rec.expires):
		return Grant{}, invalidGrant("the refresh token has expired")
	}
	a.refreshes++
	if !a.opts.Rotate {
		g := &Grant{AccessToken: randomToken(a.opts.TokenPrefix), RefreshToken: refreshToken, Scope: rec.grant.Scope,
			Subject: rec.grant.Subject, RefreshExpiry: rec.grant.RefreshExpiry}
		if a.opts.AccessTTL > 0 {
			g.AccessExpiry = a.now().Add(a.opts.AccessTTL)
		}
		a.access[g.AccessToken] = &tokenRecord{grant: g, expires: g.AccessExpiry}
		return *g, nil
	}
	rec.revoked = true
	delete(a.refresh, refreshToken)
	return a.mintLocked(rec.grant.Scope, rec.grant.Subject, time.Time{}), nil
}

// Access returns the grant of a live access token; ok is false for unknown, expired or revoked tokens.
func (a *AuthServer) Access(token string) (Grant, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rec, ok := a.access[token]
	if !ok || rec.revoked || (!rec.expires.IsZero() && !a.now().Before(rec.expires)) {
		return Grant{}, false
	}
	return *rec.grant, true
}

// Revoke revokes an access or refresh token and, with it, the other tokens of its grant. It reports whether
// the token was known.
func (a *AuthServer) Revoke(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var g *Grant
	if rec, ok := a.access[token]; ok {
		g = rec.grant
	} else if rec, ok := a.refresh[token]; ok {
		g = rec.grant
	}
	if g == nil {
		return false
	}
	a.revocations++
	for _, m := range []map[string]*tokenRecord{a.access, a.refresh} {
		for _, rec := range m {
			if rec.grant == g || (g.RefreshToken != "" && rec.grant.RefreshToken == g.RefreshToken) {
				rec.revoked = true
			}
		}
	}
	return true
}

// ExpireAccessTokens makes every access token issued so far expire now: a test lets a token lapse mid-sync.
func (a *AuthServer) ExpireAccessTokens() {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for _, rec := range a.access {
		rec.expires = now
	}
}

// RevokeAll revokes every grant, as a merchant uninstalling the app does.
func (a *AuthServer) RevokeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range []map[string]*tokenRecord{a.access, a.refresh} {
		for _, rec := range m {
			rec.revoked = true
		}
	}
}

// Counts returns how many codes were exchanged, refreshes granted and revocations accepted.
func (a *AuthServer) Counts() (exchanges, refreshes, revocations int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.exchanges, a.refreshes, a.revocations
}

// Consent serves the platform's login-and-authorize page. A GET checks the request with validate and shows
// a form (fields "username" and "password", button "authorize", or "deny") that carries the request's query
// in hidden fields. A POST with the merchant's login calls approve with those parameters and redirects the
// browser to the URL it returns; a POST with "deny" calls deny. A wrong login shows the form again.
func (a *AuthServer) Consent(w http.ResponseWriter, r *http.Request, platform string, validate func(q url.Values) error,
	approve func(q url.Values) (string, error), deny func(q url.Values) (string, error)) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	params := url.Values{}
	for k, v := range r.Form {
		if k != "username" && k != "password" && k != "authorize" && k != "deny" {
			params[k] = v
		}
	}
	if err := validate(params); err != nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		_ = consentTemplate.Execute(w, consentData{Platform: platform, Fatal: err.Error()})
		return
	}
	show := func(status int, msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = consentTemplate.Execute(w, consentData{Platform: platform, Error: msg, Params: params})
	}
	if r.Method != http.MethodPost {
		show(http.StatusOK, "")
		return
	}
	if r.PostForm.Has("deny") && deny != nil {
		to, err := deny(params)
		if err != nil {
			show(http.StatusBadRequest, err.Error())
			return
		}
		http.Redirect(w, r, to, http.StatusFound)
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PostForm.Get("username")), []byte(a.opts.Username)) != 1 ||
		subtle.ConstantTimeCompare([]byte(r.PostForm.Get("password")), []byte(a.opts.Password)) != 1 {
		show(http.StatusUnauthorized, "Wrong username or password.")
		return
	}
	to, err := approve(params)
	if err != nil {
		show(http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

type consentData struct {
	Platform, Error, Fatal string
	Params                 url.Values
}

var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>{{.Platform}} sandbox: authorize an app</title></head>
<body>
<h1>{{.Platform}} sandbox</h1>
{{if .Fatal}}<p id="error">This authorization request is invalid: {{.Fatal}}</p>{{else}}
<p>Log in to authorize Tether to read your orders, products, locations and inventory.</p>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" id="consent">
{{range $k, $vs := .Params}}{{range $vs}}<input type="hidden" name="{{$k}}" value="{{.}}">{{end}}{{end}}
<label>Username <input id="username" name="username" autocomplete="username"></label>
<label>Password <input id="password" name="password" type="password" autocomplete="current-password"></label>
<button id="authorize" name="authorize" value="1" type="submit">Authorize</button>
<button id="deny" name="deny" value="1" type="submit">Deny</button>
</form>{{end}}
</body></html>
`))

// AppendQuery adds params to a URL's query.
func AppendQuery(raw string, params url.Values) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func randomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}
