package shopify

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tether/integration-operator/connectors/sandboxkit"
)

// The sandbox's app registration and merchant login, for the connect flow.
const (
	SandboxClientID     = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	SandboxClientSecret = "shpss_sandbox00000000000000000000000000"
	SandboxUsername     = "owner@tether-sandbox.example"
	SandboxPassword     = "sandbox-password"
	// sandboxRefreshTTL is the expiring offline token's refresh token lifetime: 90 days.
	sandboxRefreshTTL = 90 * 24 * time.Hour
)

func newSandboxAuth(now func() time.Time) *sandboxkit.AuthServer {
	return sandboxkit.NewAuthServer(sandboxkit.AuthServerOptions{
		ClientID: SandboxClientID, ClientSecret: SandboxClientSecret,
		Username: SandboxUsername, Password: SandboxPassword,
		AccessTTL: time.Hour, RefreshTTL: sandboxRefreshTTL, Rotate: true,
		TokenPrefix: "shpat_", Now: now,
	})
}

// Auth is the sandbox's authorization server: its codes and tokens, for tests to expire, revoke and count.
func (s *Sandbox) Auth() *sandboxkit.AuthServer { return s.auth }

// tokenAccepted reports whether an X-Shopify-Access-Token works: the static Admin API token (a custom app's)
// or a live token the authorization server issued.
func (s *Sandbox) tokenAccepted(tok string) bool {
	if tok == "" {
		return false
	}
	if hmac.Equal([]byte(tok), []byte(s.opts.AccessToken)) {
		return true
	}
	_, ok := s.auth.Access(tok)
	return ok
}

// serveAuthorize is the shop admin's app install page: GET /admin/oauth/authorize?client_id&scope&
// redirect_uri&state. On approval it redirects to redirect_uri with code, hmac, host, shop, state and
// timestamp, signed with the app's client secret as Shopify signs them.
func (s *Sandbox) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	shop := s.opts.ShopDomain
	validate := func(q url.Values) error {
		if q.Get("scope") == "" {
			return errors.New("scope is required")
		}
		if len(q["grant_options[]"]) > 0 && q.Get("grant_options[]") != "per-user" {
			return errors.New("grant_options[] must be per-user")
		}
		return s.auth.CheckAuthorize(q.Get("client_id"), q.Get("redirect_uri"), "", "")
	}
	approve := func(q url.Values) (string, error) {
		code := s.auth.IssueCode(q.Get("client_id"), q.Get("redirect_uri"), "", q.Get("scope"), map[string]string{"shop": shop})
		cb := url.Values{
			"code":      {code},
			"host":      {base64.RawURLEncoding.EncodeToString([]byte("admin.shopify.com/store/" + strings.TrimSuffix(shop, ".myshopify.com")))},
			"shop":      {shop},
			"timestamp": {strconv.FormatInt(s.now().Unix(), 10)},
		}
		if st := q.Get("state"); st != "" {
			cb.Set("state", st)
		}
		cb.Set("hmac", CallbackHMAC(cb, s.auth.Options().ClientSecret))
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), cb)
	}
	deny := func(q url.Values) (string, error) {
		cb := url.Values{"error": {"access_denied"}, "error_description": {"The merchant declined the installation."}}
		if st := q.Get("state"); st != "" {
			cb.Set("state", st)
		}
		return sandboxkit.AppendQuery(q.Get("redirect_uri"), cb)
	}
	s.auth.Consent(w, r, "Shopify", validate, approve, deny)
}

// serveAccessToken is POST /admin/oauth/access_token, JSON or form encoded: the code exchange
// {client_id, client_secret, code[, expiring=1]} and the refresh grant {grant_type=refresh_token,
// client_id, client_secret, refresh_token}.
func (s *Sandbox) serveAccessToken(w http.ResponseWriter, r *http.Request) {
	params, err := tokenParams(r)
	if err != nil {
		(&sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "the request body is not a form or a JSON object"}).Write(w)
		return
	}
	if !s.auth.CheckClient(params.Get("client_id"), params.Get("client_secret")) {
		(&sandboxkit.OAuthError{Status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed"}).Write(w)
		return
	}
	now := s.now()
	var g sandboxkit.Grant
	var oerr *sandboxkit.OAuthError
	switch params.Get("grant_type") {
	case "refresh_token":
		g, oerr = s.auth.Refresh(params.Get("refresh_token"), params.Get("client_id"))
	case "", "authorization_code":
		if params.Get("code") == "" {
			oerr = &sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "invalid_request", Description: "code is required"}
			break
		}
		g, oerr = s.auth.RedeemWith(params.Get("code"), params.Get("client_id"), params.Get("redirect_uri"), "",
			sandboxkit.RedeemOptions{NonExpiring: params.Get("expiring") != "1"})
	default:
		oerr = &sandboxkit.OAuthError{Status: http.StatusBadRequest, Code: "unsupported_grant_type", Description: "grant_type is not supported"}
	}
	if oerr != nil {
		oerr.Write(w)
		return
	}
	out := map[string]any{"access_token": g.AccessToken, "scope": g.Scope}
	if !g.AccessExpiry.IsZero() {
		out["expires_in"] = g.ExpiresIn(now)
	}
	if g.RefreshToken != "" {
		out["refresh_token"] = g.RefreshToken
		out["refresh_token_expires_in"] = g.RefreshExpiresIn(now)
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, mustJSON(out))
}

func tokenParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		var body map[string]any
		b, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err != nil {
			return nil, err
		}
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
			case bool:
				if x {
					q.Set(k, "1")
				}
			}
		}
		return q, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.PostForm, nil
}

// serveUninstall is DELETE /admin/api_permissions/current.json: the app uninstalls itself from the shop,
// which revokes every token the authorization server issued for it. The sandbox's static Admin API token (a
// custom app's, made in the shop admin) is not the app's and stays valid.
func (s *Sandbox) serveUninstall(w http.ResponseWriter, r *http.Request) {
	tok := r.Header.Get("X-Shopify-Access-Token")
	if !s.tokenAccepted(tok) {
		s.ops["unauthorized"]++
		writeJSON(w, http.StatusUnauthorized, []byte(invalidTokenBody))
		return
	}
	s.ops["uninstall"]++
	if s.auth.Revoke(tok) {
		s.auth.RevokeAll()
	}
	writeJSON(w, http.StatusOK, []byte(`{}`))
}
