package ebay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// tokenSource exchanges the seller's refresh token for user access tokens (two hours each) at eBay's OAuth
// token endpoint, caches the current one and refreshes it ahead of expiry. Refreshes are serialised: callers
// that need a token while one is being fetched wait for it instead of spending the daily refresh quota.
type tokenSource struct {
	url                                  string
	clientID, clientSecret, refreshToken string
	scopes                               func() []string
	client                               *kit.Client
	now                                  func() time.Time

	mu      sync.Mutex
	access  string
	expires time.Time
	ahead   time.Duration
}

// tokenResponse is the token endpoint's answer to a refresh_token grant. eBay returns no new refresh token.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// token returns a valid access token and whether it was fetched by this call.
func (t *tokenSource) token(ctx context.Context) (string, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access != "" && t.now().Before(t.expires.Add(-t.ahead)) {
		return t.access, false, nil
	}
	resp, err := t.client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {t.refreshToken},
		}
		if s := t.scopes(); len(s) > 0 {
			form.Set("scope", strings.Join(s, " "))
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.SetBasicAuth(t.clientID, t.clientSecret)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	})
	if err != nil {
		return "", false, err
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil || tr.AccessToken == "" || tr.ExpiresIn <= 0 {
		return "", false, connectors.Transient("MalformedResponse", 0,
			fmt.Errorf("ebay: refresh the access token: the token endpoint's answer has no access_token and expires_in"))
	}
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	t.access = tr.AccessToken
	t.expires = t.now().Add(ttl)
	// Five minutes ahead of a two-hour token; a quarter of the lifetime for the short ones tests use.
	t.ahead = min(5*time.Minute, ttl/4)
	return t.access, true, nil
}

// invalidate drops the cached token if it is still the one the API rejected.
func (t *tokenSource) invalidate(rejected string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.access == rejected {
		t.access = ""
	}
}

// oauthError is the token endpoint's error body (RFC 6749 section 5.2).
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// checkTokenResponse classifies the token endpoint's errors. A refresh token that is expired, revoked or issued
// to another application is invalid_grant: the seller must consent again, so the integration disconnects.
func checkTokenResponse(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		return nil
	}
	var oe oauthError
	_ = json.Unmarshal(body, &oe)
	detail := oe.Error
	if oe.Description != "" {
		detail += ": " + oe.Description
	}
	if detail == "" {
		detail = errorSummary(body)
	}
	err := fmt.Errorf("ebay: refresh the access token: HTTP %d: %s", status, detail)
	switch {
	case oe.Error == "invalid_grant":
		return connectors.Auth(v1alpha1.ReasonTokenRevoked, err)
	case oe.Error == "invalid_client" || status == http.StatusUnauthorized:
		return connectors.Auth(v1alpha1.ReasonUnauthorized, err)
	case oe.Error == "invalid_scope":
		return connectors.Auth("InsufficientScope", err)
	case status == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", kit.RetryAfterHeader(resp), err)
	case status >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), err)
	}
	return connectors.Terminal("TokenRequestRejected", err)
}
