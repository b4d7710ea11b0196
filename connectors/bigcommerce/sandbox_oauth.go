package bigcommerce

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// The sandbox's app registration and store owner login, for the install flow.
const (
	SandboxClientID     = "sandboxclientid0bigcommerce0000"
	SandboxClientSecret = "sandboxclientsecret0bigcommerce00000000000000000000000000000000"
	SandboxUsername     = "owner@tether-sandbox.example"
	SandboxPassword     = "sandbox-password"
	// SandboxAccountUUID is the app's account UUID the token answer carries.
	SandboxAccountUUID = "7d2f3e8a-4b1c-4f6e-9a0d-5c3b2a1f0e9d"
	sandboxUserID      = 1001
)

func newSandboxAuth(s *Sandbox) *sandboxkit.AuthServer {
	// BigCommerce app tokens never expire and come without a refresh token.
	return sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{
		ClientID: SandboxClientID, ClientSecret: SandboxClientSecret,
		Username: SandboxUsername, Password: SandboxPassword,
		NoRefresh: true, Now: s.opts.Now,
	})
}

// Auth is the sandbox's authorization server: its codes and tokens, for tests to revoke and count.
func (s *Sandbox) Auth() *sandboxkit.AuthServer { return s.auth }

// SetAuthCallback sets the app's Auth Callback URL, as the Developer Portal's App Information tab does: the
// one URL BigCommerce sends the install's code to.
func (s *Sandbox) SetAuthCallback(callbackURL string) {
	s.mu.Lock()
	s.authCallback = callbackURL
	s.mu.Unlock()
	s.auth.RegisterRedirect(callbackURL)
}

func (s *Sandbox) callbackURL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.authCallback
}

func (s *Sandbox) storeContext() string { return "stores/" + s.opts.StoreHash }

// tokenAccepted reports whether an X-Auth-Token works for the store: the API account's token, or a live
// app token issued for this store.
func (s *Sandbox) tokenAccepted(tok string) bool {
	if tok == "" {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.opts.AccessToken)) == 1 {
		return true
	}
	g, ok := s.auth.Access(tok)
	return ok && g.Subject["context"] == s.storeContext()
}

// serveInstall is the app's install page, /app/{client_id}/install: the store owner logs in and accepts the
// app's scopes, and the browser goes to the app's Auth Callback URL with code, scope and context.
func (s *Sandbox) serveInstall(w http.ResponseWriter, r *http.Request, clientID string) {
	callback := s.callbackURL()
	validate := func(url.Values) error {
		if callback == "" {
			return errors.New("the app has no Auth Callback URL")
		}
		return s.auth.CheckAuthorize(clientID, callback, "", "")
	}
	scope := strings.Join(Scopes, " ")
	approve := func(url.Values) (string, error) {
		code := s.auth.IssueCode(clientID, callback, "", scope, map[string]string{"context": s.storeContext()})
		return sandboxkit.AppendQuery(callback, url.Values{"code": {code}, "scope": {scope}, "context": {s.storeContext()}})
	}
	deny := func(url.Values) (string, error) {
		return sandboxkit.AppendQuery(callback, url.Values{"error": {"access_denied"},
			"error_description": {"The store owner cancelled the installation."}})
	}
	s.auth.Consent(w, r, "BigCommerce", validate, approve, deny)
}

// serveToken is POST /oauth2/token, JSON or form encoded: client_id, client_secret, code, scope,
// grant_type=authorization_code, redirect_uri (the registered Auth Callback URL) and context.
func (s *Sandbox) serveToken(w http.ResponseWriter, r *http.Request) {
	p, err := tokenParams(r)
	if err != nil {
		(&sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the body is not a JSON object or a form"}).Write(w)
		return
	}
	if !s.auth.CheckClient(p.Get("client_id"), p.Get("client_secret")) {
		(&sandboxkit.OAuthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "invalid client id or secret"}).Write(w)
		return
	}
	switch {
	case p.Get("grant_type") != "authorization_code":
		(&sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "grant_type must be authorization_code"}).Write(w)
		return
	case p.Get("code") == "" || p.Get("redirect_uri") == "" || p.Get("context") == "":
		(&sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "code, redirect_uri and context are required"}).Write(w)
		return
	case p.Get("context") != s.storeContext():
		// Spend the code, as any attempt does, and refuse: it was issued for another store.
		s.auth.Redeem(p.Get("code"), "", "", "")
		(&sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "invalid_grant", Description: "the code was not issued for this context"}).Write(w)
		return
	}
	g, oerr := s.auth.Redeem(p.Get("code"), p.Get("client_id"), p.Get("redirect_uri"), "")
	if oerr != nil {
		oerr.Write(w)
		return
	}
	user := map[string]any{"id": sandboxUserID, "username": SandboxUsername, "email": SandboxUsername}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"access_token": g.AccessToken, "scope": g.Scope, "user": user,
		"owner": user, "context": g.Subject["context"], "account_uuid": SandboxAccountUUID})
}

func tokenParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil {
		return nil, err
	}
	var body map[string]any
	if err := json.Unmarshal(b, &body); err != nil {
		return nil, err
	}
	q := url.Values{}
	for k, v := range body {
		switch x := v.(type) {
		case string:
			q.Set(k, x)
		case float64:
			q.Set(k, strconv.FormatFloat(x, 'f', -1, 64))
		}
	}
	return q, nil
}
