package amazon

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

// refreshMargin is how long before its expiry an access token is replaced.
const refreshMargin = 2 * time.Minute

// tokenSource holds the LWA access token and refreshes it with the refresh-token grant: ahead of expiry,
// after the API rejects it, and one refresh at a time however many requests wait for it.
type tokenSource struct {
	url, clientID, clientSecret, refreshToken string
	http                                      *http.Client

	mu      sync.Mutex
	token   string
	expires time.Time
	// refreshes counts successful grants, for tests.
	refreshes int
}

// lwaResponse is the token endpoint's answer, success or error.
type lwaResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int    `json:"expires_in"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// get returns a valid access token, refreshing it when it is missing, expiring, or equal to stale (a token
// the API has just rejected).
func (t *tokenSource) get(ctx context.Context, stale string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token != "" && t.token != stale && time.Until(t.expires) > refreshMargin {
		return t.token, nil
	}
	client := &kit.Client{HTTP: t.http, Platform: "amazon", MaxRetries: 3, Check: checkLWA}
	resp, err := client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		form := url.Values{
			"grant_type":    {"refresh_token"},
			"refresh_token": {t.refreshToken},
			"client_id":     {t.clientID},
			"client_secret": {t.clientSecret},
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded;charset=UTF-8")
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	})
	if err != nil {
		return "", fmt.Errorf("amazon: refresh the LWA access token: %w", err)
	}
	var out lwaResponse
	if err := json.Unmarshal(resp.Body, &out); err != nil || out.AccessToken == "" {
		return "", connectors.Transient("MalformedResponse", 0, fmt.Errorf("amazon: the LWA token endpoint answered without an access token"))
	}
	ttl := time.Duration(out.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	t.token, t.expires = out.AccessToken, time.Now().Add(ttl)
	t.refreshes++
	return t.token, nil
}

// checkLWA classifies the token endpoint's OAuth errors. invalid_grant means the seller revoked the app or the
// refresh token is wrong; invalid_client means the app's client ID or secret is. Neither response body
// carries a credential, but only the error code is kept.
func checkLWA(resp *http.Response, body []byte) error {
	if resp.StatusCode < 400 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
		return nil
	}
	var out lwaResponse
	_ = json.Unmarshal(body, &out)
	switch out.Error {
	case "invalid_grant":
		return connectors.Auth(v1alpha1.ReasonTokenRevoked,
			fmt.Errorf("amazon: LWA rejected the refresh token (invalid_grant): the seller must authorise the app again"))
	case "invalid_client", "unauthorized_client":
		return connectors.Auth(v1alpha1.ReasonUnauthorized,
			fmt.Errorf("amazon: LWA rejected the app's client credentials (%s)", out.Error))
	}
	return connectors.Terminal("RequestRejected", fmt.Errorf("amazon: LWA token endpoint: HTTP %d %s", resp.StatusCode, errorCode(out.Error)))
}

func errorCode(s string) string {
	if s == "" {
		return "(no error code)"
	}
	return s
}
