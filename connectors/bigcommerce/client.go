package bigcommerce

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// The rate-limit headers BigCommerce sends with every response.
const (
	headerRequestsLeft  = "X-Rate-Limit-Requests-Left"
	headerRequestsQuota = "X-Rate-Limit-Requests-Quota"
	headerTimeResetMs   = "X-Rate-Limit-Time-Reset-Ms"
	headerTimeWindowMs  = "X-Rate-Limit-Time-Window-Ms"
)

// get sends an authenticated GET for path (under /stores/{hash}) with the query and decodes a JSON body into
// out. A 204 No Content leaves out untouched. It returns the response headers.
func (c *Connector) get(ctx context.Context, path string, query url.Values, out any) error {
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	renewed := false
	for {
		token, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		header := http.Header{
			"X-Auth-Token": {token},
			"Accept":       {"application/json"},
			"Content-Type": {"application/json"},
			"User-Agent":   {userAgent},
		}
		_, err = c.client.GetJSON(ctx, u, header, out)
		if err != nil && c.tokens != nil && !renewed && ctx.Err() == nil && statusOf(err) == http.StatusUnauthorized {
			// BigCommerce tokens do not expire, but the app may have been reinstalled since the token was
			// read: Renew hands out the current token, or reports the grant gone.
			renewed = true
			if _, err := c.tokens.Renew(ctx, token); err != nil {
				return err
			}
			continue
		}
		return c.finish(ctx, err)
	}
}

// accessToken is the token for the next request: the OAuth token when the integration has one, otherwise
// the API account's.
func (c *Connector) accessToken(ctx context.Context) (string, error) {
	if c.tokens == nil {
		return c.token, nil
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return "", err
	}
	return tok.AccessToken, nil
}

func (c *Connector) finish(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		// A cancelled run is not a platform failure, whatever stage it stopped in.
		return ctx.Err()
	}
	return err
}

// apiError is an error response in one of BigCommerce's two shapes: v3's problem object
// {"status":401,"title":"...","type":"..."} or v2's list [{"status":401,"message":"..."}].
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message) }

// statusOf returns the HTTP status of a BigCommerce error response inside err, or 0.
func statusOf(err error) int {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Status
	}
	return 0
}

// errorMessage reads the message out of a v3 or v2 error body, falling back to the start of the body.
func errorMessage(body []byte) string {
	var v3 struct {
		Title  string         `json:"title"`
		Errors map[string]any `json:"errors"`
	}
	if err := json.Unmarshal(body, &v3); err == nil && v3.Title != "" {
		msg := v3.Title
		for k, v := range v3.Errors {
			msg += fmt.Sprintf("; %s: %v", k, v)
		}
		return msg
	}
	var v2 []struct {
		Message string `json:"message"`
	}
	if err := json.Unmarshal(body, &v2); err == nil && len(v2) > 0 {
		msgs := make([]string, 0, len(v2))
		for _, e := range v2 {
			if e.Message != "" {
				msgs = append(msgs, e.Message)
			}
		}
		if len(msgs) > 0 {
			return strings.Join(msgs, "; ")
		}
	}
	return kit.Snippet(body)
}

// checkResponse classifies every non-2xx response with BigCommerce's own message: 401/403 are rejected
// credentials (the token was revoked, or lacks a scope), 429 waits for the window to reset, 5xx are
// retried, and other 4xx are requests retrying will not fix. Error text never holds the token: it is only
// ever in a header.
func checkResponse(resp *http.Response, body []byte) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	ae := &apiError{Status: resp.StatusCode, Message: errorMessage(body)}
	if ae.Message == "" {
		ae.Message = http.StatusText(resp.StatusCode)
	}
	err := fmt.Errorf("%s %s: %w", resp.Request.Method, resp.Request.URL.Path, ae)
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return connectors.Auth("Unauthorized", err)
	case resp.StatusCode == http.StatusForbidden:
		return connectors.Auth("MissingScope", err)
	case resp.StatusCode == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", resetAfter(resp), err)
	case resp.StatusCode >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), err)
	}
	return connectors.Terminal("RequestRejected", err)
}

// resetAfter is BigCommerce's advice on when to retry: the time until the rate-limit window resets.
func resetAfter(resp *http.Response) time.Duration {
	if ms, err := strconv.ParseInt(resp.Header.Get(headerTimeResetMs), 10, 64); err == nil && ms >= 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return kit.RetryAfterHeader(resp)
}

// pacer spaces requests so the store's quota lasts until its window resets. BigCommerce counts requests per
// store in fixed windows (150 per 30 s on Standard and Plus plans) and tells every response how many are left
// and when the window resets; the quota is shared with every other app on the store, so the pacer trusts
// the latest headers over its own count. Within a window it spreads the remaining requests evenly over the
// time left, which runs at the plan's ceiling when this connector is alone and yields when others spend.
type pacer struct {
	mu       sync.Mutex
	known    bool
	left     int           // requests this client may still send in the window
	quota    int           // requests per window
	window   time.Duration // window length
	resetAt  time.Time     // when the window resets
	next     time.Time     // earliest next send, spacing the remaining requests
	inflight int
	wait     time.Duration // total time spent waiting
}

// acquire waits until a request may be sent and counts it as in flight.
func (p *pacer) acquire(ctx context.Context) error {
	for {
		p.mu.Lock()
		now := time.Now()
		if !p.known {
			p.inflight++
			p.mu.Unlock()
			return nil
		}
		if !now.Before(p.resetAt) {
			// The window is over: the next request opens a new one with the full quota.
			p.left, p.resetAt, p.next = p.quota, now.Add(p.window), now
		}
		var d time.Duration
		switch {
		case p.left <= 0:
			d = p.resetAt.Sub(now) + time.Millisecond
		case now.Before(p.next):
			d = p.next.Sub(now)
		default:
			interval := p.resetAt.Sub(now) / time.Duration(p.left)
			p.left--
			p.inflight++
			p.next = now.Add(interval)
			p.mu.Unlock()
			return nil
		}
		p.wait += d
		p.mu.Unlock()
		if err := kit.Sleep(ctx, d); err != nil {
			return err
		}
	}
}

// release ends a request and learns the window from its response's headers, when it has them.
func (p *pacer) release(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if resp == nil {
		return
	}
	h := resp.Header
	left, errL := strconv.Atoi(h.Get(headerRequestsLeft))
	quota, errQ := strconv.Atoi(h.Get(headerRequestsQuota))
	reset, errR := strconv.ParseInt(h.Get(headerTimeResetMs), 10, 64)
	window, errW := strconv.ParseInt(h.Get(headerTimeWindowMs), 10, 64)
	if errL != nil || errQ != nil || errR != nil || errW != nil || quota <= 0 || window <= 0 {
		return
	}
	now := time.Now()
	// Requests still in flight were sent before this answer and are likely not counted in it yet.
	p.left = max(0, left-p.inflight)
	p.quota, p.window = quota, time.Duration(window)*time.Millisecond
	p.resetAt = now.Add(time.Duration(reset) * time.Millisecond)
	p.known = true
}

func (p *pacer) waited() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wait
}

// estimate is how long n more requests take at the store's quota, or 0 when no limit is known.
func (p *pacer) estimate(n int) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.known || p.quota <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(float64(n) / float64(p.quota) * float64(p.window))
}

// pacedTransport runs every attempt (retries included) through the pacer.
type pacedTransport struct {
	next  http.RoundTripper
	pacer *pacer
}

func (t *pacedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.pacer.acquire(req.Context()); err != nil {
		return nil, err
	}
	resp, err := t.next.RoundTrip(req)
	t.pacer.release(resp)
	return resp, err
}
