package etsy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

// tokenState is one shop authorisation's OAuth tokens. Etsy rotates the refresh token on every refresh and
// the previous one stops working, so the state is shared by every connector built from the same Secret in
// this process (see sharedTokens), and its mutex serialises refreshes: two connectors never spend the same
// refresh token.
type tokenState struct {
	mu      sync.Mutex
	access  string
	expires time.Time
	refresh string
	// secretKeys are the cache keys of refresh tokens a Secret held; latestKey is the key of the newest
	// rotated token. Keys of tokens in between are dropped from the cache.
	secretKeys map[string]bool
	latestKey  string
}

var tokenCache = struct {
	sync.Mutex
	m map[string]*tokenState
}{m: map[string]*tokenState{}}

func cacheKey(keystring, refresh string) string {
	sum := sha256.Sum256([]byte(keystring + "\x00" + refresh))
	return hex.EncodeToString(sum[:])
}

// sharedTokens returns the process's token state for the app and refresh token: the one a connector built
// earlier from the same Secret left behind (holding the rotated refresh token and a live access token), or a
// new one. Without this, every run after the first would present a refresh token Etsy has already revoked.
func sharedTokens(keystring, refresh string) *tokenState {
	key := cacheKey(keystring, refresh)
	tokenCache.Lock()
	defer tokenCache.Unlock()
	st, ok := tokenCache.m[key]
	if !ok {
		st = &tokenState{refresh: refresh, secretKeys: map[string]bool{}}
		tokenCache.m[key] = st
	}
	st.mu.Lock()
	st.secretKeys[key] = true
	st.mu.Unlock()
	return st
}

// rotated records a new refresh token in the cache; st.mu is held.
func (st *tokenState) rotated(keystring, refresh string) {
	key := cacheKey(keystring, refresh)
	tokenCache.Lock()
	defer tokenCache.Unlock()
	if st.latestKey != "" && !st.secretKeys[st.latestKey] {
		delete(tokenCache.m, st.latestKey)
	}
	st.latestKey = key
	tokenCache.m[key] = st
}

// tokenResponse is the token endpoint's answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
}

// oauthError is the token endpoint's and the API's OAuth error body.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// expiryMargin is how long before its expiry an access token is refreshed.
const expiryMargin = time.Minute

// accessToken returns a live access token, refreshing it first when there is none or it is about to expire.
func (c *Connector) accessToken(ctx context.Context) (string, error) {
	st := c.tokens
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.access != "" && c.now().Before(st.expires.Add(-expiryMargin)) {
		return st.access, nil
	}
	if err := c.refreshLocked(ctx); err != nil {
		return "", err
	}
	return st.access, nil
}

// renewAfterRejection refreshes the access token after the API rejected stale, unless another request has
// refreshed it since.
func (c *Connector) renewAfterRejection(ctx context.Context, stale string) error {
	st := c.tokens
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.access != stale && st.access != "" {
		return nil
	}
	return c.refreshLocked(ctx)
}

// refreshLocked trades the refresh token for a new access token and a new refresh token; c.tokens.mu is
// held, so refreshes are serialised.
func (c *Connector) refreshLocked(ctx context.Context) error {
	st := c.tokens
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {c.clientID},
		"refresh_token": {st.refresh},
	}
	body := form.Encode()
	resp, err := c.client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	})
	if err != nil {
		return c.redactLocked(fmt.Errorf("etsy: refresh the access token: %w", err), st.access, st.refresh)
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil || tr.AccessToken == "" || tr.RefreshToken == "" {
		return connectors.Transient("MalformedResponse", 0, fmt.Errorf("etsy: refresh the access token: the token endpoint's answer has no tokens"))
	}
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = time.Hour
	}
	st.access, st.expires = tr.AccessToken, c.now().Add(ttl)
	if tr.RefreshToken != st.refresh {
		st.refresh = tr.RefreshToken
		st.rotated(c.clientID, tr.RefreshToken)
		if c.TokenRotated != nil {
			c.TokenRotated(tr.RefreshToken)
		}
	}
	c.mu.Lock()
	c.refreshes++
	c.mu.Unlock()
	c.log.V(1).Info("refreshed the Etsy access token", "expiresIn", ttl)
	return nil
}

// tokenError classifies a token endpoint failure: a refresh token Etsy no longer accepts (revoked by the
// shop owner, expired after 90 days, or already rotated away) disconnects the integration.
func tokenError(status int, body []byte) error {
	var oe oauthError
	_ = json.Unmarshal(body, &oe)
	err := fmt.Errorf("HTTP %d: %s: %s", status, oe.Error, oe.Description)
	switch {
	case oe.Error == "invalid_grant":
		return connectors.Auth(v1alpha1.ReasonTokenRevoked, err)
	case status == http.StatusTooManyRequests || status >= 500:
		return nil
	}
	return connectors.Auth("Unauthorized", err)
}
