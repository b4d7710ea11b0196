package walmart

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// Endpoints, as Walmart throttles them: each has its own token bucket.
const (
	epToken       = "token"
	epOrders      = "orders"
	epItems       = "items"
	epInventories = "inventories"
	epShipNodes   = "shipnodes"
)

// Rate-limit headers Walmart sends with every response.
const (
	headerTokenCount    = "x-current-token-count"
	headerNextReplenish = "x-next-replenish-time"
)

// Stats counts what a Connector did, for benchmarks and diagnostics.
type Stats struct {
	kit.Stats
	// Paced is how many requests waited for their endpoint's bucket to refill; PacedWait is the time spent.
	Paced     int64
	PacedWait time.Duration
	// TokenRequests is how many access tokens were requested.
	TokenRequests int64
}

type paceStats struct {
	paced, pacedWait, tokens atomic.Int64
}

// Stats returns the counters so far (token requests included in Requests).
func (c *Connector) Stats() Stats {
	a, t := c.api.Stats(), c.auth.Stats()
	return Stats{
		Stats: kit.Stats{Requests: a.Requests + t.Requests, Retries: a.Retries + t.Retries,
			RateLimited: a.RateLimited + t.RateLimited},
		Paced:         c.paceStats.paced.Load(),
		PacedWait:     time.Duration(c.paceStats.pacedWait.Load()),
		TokenRequests: c.paceStats.tokens.Load(),
	}
}

// bucketState is an endpoint's token bucket as the last response described it.
type bucketState struct {
	tokens int
	next   time.Time
}

// observe records an endpoint's bucket from the rate-limit headers of a response.
func (c *Connector) observe(resp *http.Response) {
	n, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get(headerTokenCount)))
	if err != nil {
		return
	}
	st := bucketState{tokens: n, next: replenishTime(resp.Header)}
	c.pace.Lock()
	c.buckets[endpointOf(resp.Request)] = st
	c.pace.Unlock()
}

// endpointOf names the bucket a request draws from.
func endpointOf(req *http.Request) string {
	if req == nil {
		return ""
	}
	p := req.URL.Path
	switch {
	case strings.HasSuffix(p, "/token"):
		return epToken
	case strings.HasSuffix(p, "/orders"):
		return epOrders
	case strings.HasSuffix(p, "/items"):
		return epItems
	case strings.HasSuffix(p, "/inventories"):
		return epInventories
	case strings.HasSuffix(p, "/shipnodes"):
		return epShipNodes
	}
	return p
}

// waitForToken sleeps until the endpoint's bucket, as last reported, holds a token. It takes the token it
// waited for, so a burst of requests does not all see the same count.
func (c *Connector) waitForToken(ctx context.Context, ep string) error {
	if !c.PaceByHeaders {
		return nil
	}
	c.pace.Lock()
	st, ok := c.buckets[ep]
	var wait time.Duration
	if ok {
		if st.tokens > 0 {
			st.tokens--
		} else if d := st.next.Sub(c.now()); d > 0 {
			// A millisecond of slack: the header is rounded to milliseconds and clocks differ.
			wait = d + time.Millisecond
		}
		c.buckets[ep] = st
	}
	c.pace.Unlock()
	if wait <= 0 {
		return nil
	}
	c.paceStats.paced.Add(1)
	c.paceStats.pacedWait.Add(int64(wait))
	return kit.Sleep(ctx, wait)
}

// replenishTime reads x-next-replenish-time: epoch milliseconds (seconds are accepted too).
func replenishTime(h http.Header) time.Time {
	v, err := strconv.ParseInt(strings.TrimSpace(h.Get(headerNextReplenish)), 10, 64)
	if err != nil || v <= 0 {
		return time.Time{}
	}
	if v < 1e11 {
		return time.Unix(v, 0)
	}
	return time.UnixMilli(v)
}

// replenishAfter is a throttled response's advice on when to retry: the next replenishment, else Retry-After.
func replenishAfter(resp *http.Response) time.Duration {
	if t := replenishTime(resp.Header); !t.IsZero() {
		if d := time.Until(t); d > 0 {
			return d + 5*time.Millisecond
		}
		return 5 * time.Millisecond
	}
	return kit.RetryAfterHeader(resp)
}

// apiError is one entry of Walmart's error body, {"errors":{"error":[...]}} (some gateways send
// {"errors":[...]} or {"error":[...]}).
type apiError struct {
	Code        string `json:"code"`
	Field       string `json:"field"`
	Description string `json:"description"`
	Info        string `json:"info"`
	Severity    string `json:"severity"`
	Category    string `json:"category"`
}

func parseErrors(body []byte) []apiError {
	var shapes struct {
		Errors json.RawMessage `json:"errors"`
		Error  json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &shapes) != nil {
		return nil
	}
	for _, raw := range []json.RawMessage{shapes.Errors, shapes.Error} {
		if len(raw) == 0 {
			continue
		}
		var list []apiError
		if json.Unmarshal(raw, &list) == nil && len(list) > 0 {
			return list
		}
		var nested struct {
			Error []apiError `json:"error"`
		}
		if json.Unmarshal(raw, &nested) == nil && len(nested.Error) > 0 {
			return nested.Error
		}
	}
	return nil
}

func describe(errs []apiError, body []byte) string {
	if len(errs) == 0 {
		return kit.Snippet(body)
	}
	parts := make([]string, len(errs))
	for i, e := range errs {
		msg := e.Description
		if msg == "" {
			msg = e.Info
		}
		parts[i] = e.Code + ": " + msg
		if e.Field != "" {
			parts[i] += " (field " + e.Field + ")"
		}
	}
	return strings.Join(parts, "; ")
}

// errNoContent is Walmart's way of saying a list is empty: 404 with CONTENT_NOT_FOUND.
var errNoContent = errors.New("no content")

func isNoContent(err error) bool { return errors.Is(err, errNoContent) }

// statusError is an HTTP failure with Walmart's error entries, classified by checkResponse.
type statusError struct {
	Status int
	Errors []apiError
	msg    string
}

func (e *statusError) Error() string { return e.msg }

func statusOf(err error) int {
	var se *statusError
	if errors.As(err, &se) {
		return se.Status
	}
	return 0
}

// checkResponse classifies a Marketplace API response: 404 CONTENT_NOT_FOUND is an empty list, 401/403 are
// auth failures, 429 and 5xx are retried, other 4xx are requests Walmart will never accept.
func checkResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode < 300 {
		return nil
	}
	errs := parseErrors(body)
	se := &statusError{Status: resp.StatusCode, Errors: errs,
		msg: fmt.Sprintf("walmart: %s %s: HTTP %d: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, describe(errs, body))}
	switch {
	case resp.StatusCode == http.StatusNotFound && len(errs) > 0 && strings.HasPrefix(errs[0].Code, "CONTENT_NOT_FOUND"):
		return connectors.Terminal("NotFound", fmt.Errorf("%w: %w", errNoContent, se))
	case resp.StatusCode == http.StatusUnauthorized:
		return connectors.Auth(v1alpha1.ReasonUnauthorized, se)
	case resp.StatusCode == http.StatusForbidden:
		return connectors.Auth("Forbidden", se)
	case resp.StatusCode == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", replenishAfter(resp), se)
	case resp.StatusCode >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), se)
	}
	return connectors.Terminal("RequestRejected", se)
}

// checkTokenResponse classifies a token response: Walmart answers a malformed or unknown key pair with 400
// or 401, both auth failures.
func checkTokenResponse(resp *http.Response, body []byte) error {
	err := checkResponse(resp, body)
	if err == nil {
		return nil
	}
	if resp.StatusCode == http.StatusBadRequest {
		return connectors.Auth(v1alpha1.ReasonUnauthorized, fmt.Errorf("walmart: access token request rejected: %w", errors.Unwrap(err)))
	}
	return err
}

// newCorrelationID is a random (version 4) UUID for WM_QOS.CORRELATION_ID.
func newCorrelationID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
}

// accessToken returns a token valid for at least TokenRefreshMargin, requesting a new one when needed (or
// when force is set, after Walmart rejected the current one). One refresh runs at a time; callers that wait
// for it use its token.
func (c *Connector) accessToken(ctx context.Context, force string) (string, error) {
	select {
	case c.tokenSem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.tokenSem }()
	if c.token != "" && c.token != force && c.tokenExpiry.Sub(c.now()) > c.TokenRefreshMargin {
		return c.token, nil
	}
	requested := c.now()
	form := url.Values{"grant_type": {"client_credentials"}}.Encode()
	basic := base64.StdEncoding.EncodeToString([]byte(c.clientID + ":" + c.clientSecret))
	c.paceStats.tokens.Add(1)
	resp, err := c.auth.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		if err := c.waitForToken(ctx, epToken); err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/token", strings.NewReader(form))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Basic "+basic)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("WM_SVC.NAME", ServiceName)
		req.Header.Set("WM_QOS.CORRELATION_ID", newCorrelationID())
		return req, nil
	})
	if err != nil {
		return "", fmt.Errorf("walmart: get access token: %w", err)
	}
	var tr tokenResponse
	if err := json.Unmarshal(resp.Body, &tr); err != nil || tr.AccessToken == "" {
		return "", connectors.Transient("MalformedResponse", 0, fmt.Errorf("walmart: token response has no access_token"))
	}
	ttl := time.Duration(tr.ExpiresIn) * time.Second
	if ttl <= 0 {
		ttl = 15 * time.Minute
	}
	c.token, c.tokenExpiry = tr.AccessToken, requested.Add(ttl)
	return c.token, nil
}

// get sends a GET to an absolute URL with Walmart's headers and returns the 2xx body. It paces to the
// endpoint's bucket before every attempt, retries what kit.Client retries, and when Walmart rejects the
// access token (expired early, revoked) gets a new one and tries once more.
func (c *Connector) get(ctx context.Context, ep, rawURL string) ([]byte, error) {
	rejected := ""
	for {
		token, err := c.accessToken(ctx, rejected)
		if err != nil {
			return nil, err
		}
		resp, err := c.api.Do(ctx, func(ctx context.Context) (*http.Request, error) {
			if err := c.waitForToken(ctx, ep); err != nil {
				return nil, err
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
			if err != nil {
				return nil, err
			}
			req.Header.Set("WM_SEC.ACCESS_TOKEN", token)
			req.Header.Set("WM_SVC.NAME", ServiceName)
			req.Header.Set("WM_QOS.CORRELATION_ID", newCorrelationID())
			req.Header.Set("Accept", "application/json")
			return req, nil
		})
		if err == nil {
			return resp.Body, nil
		}
		if statusOf(err) == http.StatusUnauthorized && rejected == "" {
			rejected = token
			continue
		}
		return nil, err
	}
}
