package shopify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tether/integration-operator/connectors"
)

// Stats counts what a Connector did, for benchmarks and diagnostics.
type Stats struct {
	// Requests is the number of HTTP requests sent: GraphQL calls, retries included, and bulk result downloads.
	Requests int64
	// Throttled is the number of THROTTLED responses and HTTP 429s received.
	Throttled int64
	// Retries is the number of requests repeated after a 5xx, a 429, a timeout or a dropped connection.
	Retries int64
	// ThrottleWait is the time spent waiting for the cost bucket to refill.
	ThrottleWait time.Duration
	// BulkOperations is the number of bulk operations started.
	BulkOperations int64
	// QueryCost is the sum of the actual query cost Shopify reported.
	QueryCost float64
}

type stats struct {
	requests, throttled, retries, bulkOps atomic.Int64
	throttleWait                          atomic.Int64
	mu                                    sync.Mutex
	cost                                  float64
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	c.stats.mu.Lock()
	cost := c.stats.cost
	c.stats.mu.Unlock()
	return Stats{
		Requests:       c.stats.requests.Load(),
		Throttled:      c.stats.throttled.Load(),
		Retries:        c.stats.retries.Load(),
		ThrottleWait:   time.Duration(c.stats.throttleWait.Load()),
		BulkOperations: c.stats.bulkOps.Load(),
		QueryCost:      cost,
	}
}

// bucket is the last throttle status Shopify reported.
type bucket struct {
	max, available, rate float64
	at                   time.Time
}

type costExtension struct {
	RequestedQueryCost float64  `json:"requestedQueryCost"`
	ActualQueryCost    *float64 `json:"actualQueryCost"`
	ThrottleStatus     struct {
		MaximumAvailable   float64 `json:"maximumAvailable"`
		CurrentlyAvailable float64 `json:"currentlyAvailable"`
		RestoreRate        float64 `json:"restoreRate"`
	} `json:"throttleStatus"`
}

type responseError struct {
	Message    string `json:"message"`
	Extensions struct {
		Code string `json:"code"`
	} `json:"extensions"`
}

type graphQLResponse struct {
	Data       json.RawMessage `json:"data"`
	Errors     []responseError `json:"errors"`
	Extensions struct {
		Cost *costExtension `json:"cost"`
	} `json:"extensions"`
}

// maxThrottleRetries bounds how often one request is retried after THROTTLED before the read is handed back
// to the engine as a transient failure.
const maxThrottleRetries = 100

// query sends one GraphQL document and decodes its data into out. op names the operation in errors, logs and
// the expected-cost table. It waits for the bucket before sending, retries THROTTLED responses, 429s, 5xx
// and network failures, and classifies every error it returns.
func (c *Connector) query(ctx context.Context, op, doc string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": doc, "variables": vars})
	if err != nil {
		return connectors.Terminal("RequestInvalid", fmt.Errorf("%s: encode request: %w", op, err))
	}
	failures, throttles := 0, 0
	renewed := false
	for {
		if err := c.waitForBudget(ctx, op); err != nil {
			return err
		}
		token, err := c.accessToken(ctx)
		if err != nil {
			return err
		}
		status, header, respBody, err := c.post(ctx, body, token)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if failures >= c.MaxRetries {
				return connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("%s: %w", op, err))
			}
			failures++
			if err := c.backoff(ctx, failures); err != nil {
				return err
			}
			continue
		}
		switch {
		case status == http.StatusUnauthorized && c.tokens != nil && !renewed:
			// The OAuth access token expired or was replaced: renew it once and send the request again.
			renewed = true
			if _, err := c.tokens.Renew(ctx, token); err != nil {
				return err
			}
			continue
		case status == http.StatusUnauthorized || status == http.StatusForbidden:
			return connectors.Auth("Unauthorized", fmt.Errorf("%s: HTTP %d: access token rejected: %s", op, status, snippet(respBody)))
		case status == http.StatusTooManyRequests:
			c.stats.throttled.Add(1)
			retryAfter := parseRetryAfter(header.Get("Retry-After"))
			if failures >= c.MaxRetries {
				return connectors.Transient("RateLimited", retryAfter, fmt.Errorf("%s: HTTP 429 after %d retries", op, failures))
			}
			failures++
			c.stats.retries.Add(1)
			wait := retryAfter
			if wait <= 0 {
				wait = c.backoffDelay(failures)
			}
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		case status >= 500:
			if failures >= c.MaxRetries {
				return connectors.Transient("PlatformUnavailable", parseRetryAfter(header.Get("Retry-After")),
					fmt.Errorf("%s: HTTP %d after %d retries: %s", op, status, failures, snippet(respBody)))
			}
			failures++
			if err := c.backoff(ctx, failures); err != nil {
				return err
			}
			continue
		case status != http.StatusOK:
			return connectors.Terminal("RequestRejected", fmt.Errorf("%s: HTTP %d: %s", op, status, snippet(respBody)))
		}

		var resp graphQLResponse
		if err := json.Unmarshal(respBody, &resp); err != nil {
			// A 200 with a body that does not decode is a truncated response: retry it like a dropped connection.
			if failures >= c.MaxRetries {
				return connectors.Transient("PlatformUnavailable", 0, fmt.Errorf("%s: decode response: %w", op, err))
			}
			failures++
			if err := c.backoff(ctx, failures); err != nil {
				return err
			}
			continue
		}
		c.observe(op, resp.Extensions.Cost)
		if code := errorCode(resp.Errors); code == "THROTTLED" {
			c.stats.throttled.Add(1)
			throttles++
			wait := c.throttleDelay(resp.Extensions.Cost)
			if throttles > maxThrottleRetries {
				return connectors.Transient("Throttled", wait, fmt.Errorf("%s: still throttled after %d retries", op, throttles-1))
			}
			c.log.V(1).Info("throttled by Shopify, waiting for the cost bucket", "operation", op, "wait", wait)
			c.stats.throttleWait.Add(int64(wait))
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			continue
		} else if code == "INTERNAL_SERVER_ERROR" && failures < c.MaxRetries {
			failures++
			if err := c.backoff(ctx, failures); err != nil {
				return err
			}
			continue
		}
		if len(resp.Errors) > 0 {
			msgs := make([]string, len(resp.Errors))
			for i, e := range resp.Errors {
				msgs[i] = e.Message
			}
			err := fmt.Errorf("%s: %s", op, strings.Join(msgs, "; "))
			switch errorCode(resp.Errors) {
			case "ACCESS_DENIED":
				return connectors.Auth("AccessDenied", err)
			case "INTERNAL_SERVER_ERROR":
				return connectors.Transient("PlatformUnavailable", 0, err)
			}
			return connectors.Terminal("QueryFailed", err)
		}
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(resp.Data, out); err != nil {
			return connectors.Terminal("UnexpectedResponse", fmt.Errorf("%s: decode data: %w", op, err))
		}
		return nil
	}
}

func errorCode(errs []responseError) string {
	for _, e := range errs {
		if e.Extensions.Code != "" {
			return e.Extensions.Code
		}
	}
	return ""
}

// accessToken is the token for the next request: the OAuth token when the integration has one, otherwise
// the static Admin API token.
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

// post sends one GraphQL request. Only a transport failure (or a body cut short) is returned as an error.
func (c *Connector) post(ctx context.Context, body []byte, token string) (int, http.Header, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Shopify-Access-Token", token)
	c.stats.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, b, nil
}

// observe records the bucket state and the operation's requested cost from a response.
func (c *Connector) observe(op string, cost *costExtension) {
	if cost == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ts := cost.ThrottleStatus
	if ts.MaximumAvailable > 0 {
		c.bucket = bucket{max: ts.MaximumAvailable, available: ts.CurrentlyAvailable, rate: ts.RestoreRate, at: time.Now()}
	}
	if cost.RequestedQueryCost > 0 {
		c.expected[op] = cost.RequestedQueryCost
	}
	if cost.ActualQueryCost != nil {
		c.stats.mu.Lock()
		c.stats.cost += *cost.ActualQueryCost
		c.stats.mu.Unlock()
	}
}

// waitForBudget sleeps until the bucket, as last reported and refilled since at the restore rate, holds the
// operation's expected cost. Before the first response of an operation nothing is known and nothing waits.
func (c *Connector) waitForBudget(ctx context.Context, op string) error {
	c.mu.Lock()
	need, b := c.expected[op], c.bucket
	c.mu.Unlock()
	if need <= 0 || b.rate <= 0 || b.max <= 0 {
		return nil
	}
	need = min(need, b.max)
	avail := min(b.max, b.available+time.Since(b.at).Seconds()*b.rate)
	if avail >= need {
		return nil
	}
	wait := time.Duration((need - avail) / b.rate * float64(time.Second))
	c.stats.throttleWait.Add(int64(wait))
	return sleep(ctx, wait)
}

// throttleDelay is how long a THROTTLED request must wait for the bucket to hold its requested cost.
func (c *Connector) throttleDelay(cost *costExtension) time.Duration {
	if cost == nil || cost.ThrottleStatus.RestoreRate <= 0 {
		return time.Second
	}
	short := cost.RequestedQueryCost - cost.ThrottleStatus.CurrentlyAvailable
	if short <= 0 {
		short = 1
	}
	return time.Duration(short/cost.ThrottleStatus.RestoreRate*float64(time.Second)) + 10*time.Millisecond
}

func (c *Connector) backoffDelay(attempt int) time.Duration {
	d := c.RetryBaseDelay << min(attempt-1, 16)
	if d > c.MaxRetryDelay || d <= 0 {
		d = c.MaxRetryDelay
	}
	// Full jitter: spread retries of many integrations over the whole window.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (c *Connector) backoff(ctx context.Context, attempt int) error {
	c.stats.retries.Add(1)
	return sleep(ctx, c.backoffDelay(attempt))
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func parseRetryAfter(v string) time.Duration {
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

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
