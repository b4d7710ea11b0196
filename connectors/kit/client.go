// Package kit is what connectors share on the wire: requests retried with backoff and the platform's own
// retry advice, pacing to a rate limit, and HTTP failures classified for the state machine. Platform quirks
// stay in the platform packages; they plug in through the hooks here.
package kit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/tether/integration-operator/connectors"
)

// maxBody bounds how much of a response is read: pages are small; a larger body is a broken response.
const maxBody = 64 << 20

// Client sends requests for one connector, retrying transient failures. The zero value is not usable; set
// HTTP and Platform.
type Client struct {
	HTTP *http.Client
	// Platform names the platform in errors, for example "woocommerce".
	Platform string
	// MaxRetries is how many times a transient failure is retried (default 5).
	MaxRetries int
	// BaseBackoff and MaxBackoff bound the exponential backoff with full jitter (defaults 500ms and 30s).
	BaseBackoff, MaxBackoff time.Duration
	// Limiter, when set, paces every attempt.
	Limiter *rate.Limiter
	// Pacer, when set, paces every attempt and observes every response (before Observe), for example an
	// AdaptivePacer for a platform whose only rate-limit signal is 429.
	Pacer Pacer
	// RetryAfter reads the platform's advice on when to retry from a response; the default reads the
	// Retry-After header (seconds or an HTTP date).
	RetryAfter func(*http.Response) time.Duration
	// Observe sees every response (headers only; the body is already read), for example to adjust the
	// limiter from rate-limit headers.
	Observe func(*http.Response)
	// Check, when set, classifies a response first: it returns a non-nil error to fail (wrap it with
	// connectors.Transient to have it retried) or nil to fall through to the status-code rules.
	Check func(resp *http.Response, body []byte) error
	// Sleep waits; a context-aware sleep when nil. Tests may replace it.
	Sleep func(ctx context.Context, d time.Duration) error

	requests, retries, rateLimited atomic.Int64
}

// Stats are counters of a client's traffic.
type Stats struct {
	Requests    int64 // attempts sent
	Retries     int64 // attempts that were retries
	RateLimited int64 // responses that said slow down (429 or the platform's equivalent)
}

// Stats returns the counters so far.
func (c *Client) Stats() Stats {
	return Stats{Requests: c.requests.Load(), Retries: c.retries.Load(), RateLimited: c.rateLimited.Load()}
}

// Response is a completed response with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// Do sends the request newReq builds (called again for each attempt) and returns a 2xx response, or a
// classified error: 401/403 auth, 429 and 5xx transient after retries, other 4xx terminal.
func (c *Client) Do(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	maxRetries := c.MaxRetries
	if maxRetries == 0 {
		maxRetries = 5
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			c.retries.Add(1)
		}
		if c.Limiter != nil {
			if err := c.Limiter.Wait(ctx); err != nil {
				return nil, err
			}
		}
		if c.Pacer != nil {
			if err := c.Pacer.Wait(ctx); err != nil {
				return nil, err
			}
		}
		resp, err := c.once(ctx, newReq)
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		class, _ := connectors.Classify(err)
		if class != connectors.ClassTransient || attempt >= maxRetries {
			return nil, err
		}
		lastErr = err
		wait := c.backoff(attempt)
		if advice := connectors.RetryAfter(err); advice > wait {
			wait = advice
		}
		if err := c.sleep(ctx, wait); err != nil {
			return nil, errors.Join(err, lastErr)
		}
	}
}

func (c *Client) once(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	req, err := newReq(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, connectors.Terminal("InvalidRequest", fmt.Errorf("%s: build request: %w", c.Platform, err))
	}
	c.requests.Add(1)
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// Network failures (resets, timeouts, refused connections) are transient. The URL is left out: some
		// platforms carry credentials in the query string.
		return nil, connectors.Transient("NetworkError", 0, fmt.Errorf("%s: %s %s: %w", c.Platform, req.Method, req.URL.Path, unwrapURLError(err)))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, connectors.Transient("NetworkError", 0, fmt.Errorf("%s: read %s: %w", c.Platform, req.URL.Path, err))
	}
	if c.Pacer != nil {
		c.Pacer.Observe(resp)
	}
	if c.Observe != nil {
		c.Observe(resp)
	}
	if c.Check != nil {
		if err := c.Check(resp, body); err != nil {
			if cls, _ := connectors.Classify(err); cls == connectors.ClassTransient && resp.StatusCode == http.StatusTooManyRequests {
				c.rateLimited.Add(1)
			}
			return nil, err
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return &Response{Response: resp, Body: body}, nil
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		c.rateLimited.Add(1)
	}
	retryAfter := c.retryAfter(resp)
	return nil, connectors.HTTPStatusError(c.Platform, resp.StatusCode, retryAfter,
		fmt.Sprintf("%s %s: %s", req.Method, req.URL.Path, Snippet(body)))
}

// GetJSON sends a GET to url with the headers and decodes the 2xx JSON body into out. It returns the response
// headers.
func (c *Client) GetJSON(ctx context.Context, url string, header http.Header, out any) (http.Header, error) {
	resp, err := c.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		for k, v := range header {
			req.Header[k] = v
		}
		if req.Header.Get("Accept") == "" {
			req.Header.Set("Accept", "application/json")
		}
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if out != nil && len(resp.Body) > 0 {
		if err := json.Unmarshal(resp.Body, out); err != nil {
			return resp.Header, connectors.Transient("MalformedResponse", 0, fmt.Errorf("%s: decode %s: %w", c.Platform, resp.Request.URL.Path, err))
		}
	}
	return resp.Header, nil
}

func (c *Client) backoff(attempt int) time.Duration {
	base, max := c.BaseBackoff, c.MaxBackoff
	if base == 0 {
		base = 500 * time.Millisecond
	}
	if max == 0 {
		max = 30 * time.Second
	}
	d := base << min(attempt, 16)
	if d > max || d <= 0 {
		d = max
	}
	// Full jitter: clients that failed together do not retry together.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *Client) retryAfter(resp *http.Response) time.Duration {
	if c.RetryAfter != nil {
		return c.RetryAfter(resp)
	}
	return RetryAfterHeader(resp)
}

func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RetryAfterHeader reads a Retry-After header in seconds or as an HTTP date.
func RetryAfterHeader(resp *http.Response) time.Duration {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// Snippet is the start of a response body for an error message, on one line.
func Snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 300 {
		s = s[:300] + "..."
	}
	return s
}

// unwrapURLError drops the URL a *url.Error carries: some platforms put credentials in the query string, and
// no credential may reach an error message.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
