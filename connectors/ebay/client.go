package ebay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// apiError is one entry of eBay's REST error body: {"errors":[{errorId, domain, category, message, ...}]}.
type apiError struct {
	ErrorID     int    `json:"errorId"`
	Domain      string `json:"domain"`
	Category    string `json:"category"`
	Message     string `json:"message"`
	LongMessage string `json:"longMessage"`
}

type apiErrors struct {
	Errors []apiError `json:"errors"`
}

// errorSummary renders eBay's error body as "errorId 1001 (OAuth): Invalid access token; ...", or a snippet of
// the body when it is not eBay's shape.
func errorSummary(body []byte) string {
	var e apiErrors
	if err := json.Unmarshal(body, &e); err != nil || len(e.Errors) == 0 {
		return kit.Snippet(body)
	}
	parts := make([]string, 0, len(e.Errors))
	for _, x := range e.Errors {
		msg := x.Message
		if x.LongMessage != "" && x.LongMessage != x.Message {
			msg += " - " + x.LongMessage
		}
		parts = append(parts, fmt.Sprintf("errorId %d (%s): %s", x.ErrorID, x.Domain, msg))
	}
	return strings.Join(parts, "; ")
}

// errTokenRejected marks a 401 from an API call: the access token expired early or was revoked, and a fresh
// one may still be accepted.
var errTokenRejected = errors.New("access token rejected")

// checkAPIResponse classifies a Sell API response from eBay's error body.
func checkAPIResponse(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	if status >= 200 && status < 300 {
		return nil
	}
	where := resp.Request.Method + " " + resp.Request.URL.Path
	detail := errorSummary(body)
	switch {
	case status == http.StatusUnauthorized:
		return connectors.Auth("Unauthorized", fmt.Errorf("ebay: %s: HTTP 401: %s: %w", where, detail, errTokenRejected))
	case status == http.StatusForbidden:
		return connectors.Auth("AccessDenied", fmt.Errorf("ebay: %s: HTTP 403 (is the %s or %s scope granted?): %s",
			where, ScopeFulfillment, ScopeInventory, detail))
	case status == http.StatusTooManyRequests:
		return connectors.Transient("RateLimited", kit.RetryAfterHeader(resp), fmt.Errorf("ebay: %s: HTTP 429: %s", where, detail))
	case status >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), fmt.Errorf("ebay: %s: HTTP %d: %s", where, status, detail))
	}
	return connectors.Terminal("RequestRejected", fmt.Errorf("ebay: %s: HTTP %d: %s", where, status, detail))
}

// get sends an authenticated GET for path (with its query) and decodes the JSON body into out. A 401 on a
// cached access token drops the token and retries once with a new one.
func (c *Connector) get(ctx context.Context, pathAndQuery string, out any) error {
	for attempt := 0; ; attempt++ {
		token, fresh, err := c.tokens.token(ctx)
		if err != nil {
			return err
		}
		header := http.Header{}
		header.Set("Authorization", "Bearer "+token)
		header.Set("User-Agent", userAgent)
		_, err = c.client.GetJSON(ctx, c.base+pathAndQuery, header, out)
		if err != nil && errors.Is(err, errTokenRejected) && !fresh && attempt == 0 {
			c.tokens.invalidate(token)
			continue
		}
		return err
	}
}

// pacer keeps the request rate under eBay's short-term throttle. eBay publishes only daily quotas and sends no
// rate headers; its one signal is HTTP 429 (errorId 2001). The pacer starts unpaced (or at a set rate). On the
// first 429 it measures: for a second the client's retries with backoff keep the API at its limit, and the
// successes in that second are the rate the API admits; the pacer then paces a little under it. While paced,
// a 429 lowers the pace by a tenth (at most once a second), and every second without one after two quiet
// seconds raises it by 2%, so the pace follows the limit: additive increase, multiplicative decrease.
type pacer struct {
	limiter *rate.Limiter

	mu           sync.Mutex
	measuring    bool      // a first 429 started a measurement
	measureStart time.Time // when it started
	measured     int       // successes since
	lastThrottle time.Time
	lastChange   time.Time
	min          rate.Limit
	now          func() time.Time
}

func newPacer() *pacer {
	return &pacer{limiter: rate.NewLimiter(rate.Inf, 1), min: 0.5, now: time.Now}
}

// setRate paces to r requests per second from the start (r <= 0: unpaced until throttled).
func (p *pacer) setRate(r float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r <= 0 {
		p.limiter.SetLimit(rate.Inf)
		return
	}
	p.limiter.SetLimit(rate.Limit(r))
}

// rate is the current pace in requests per second, zero when unpaced.
func (p *pacer) rate() float64 {
	l := p.limiter.Limit()
	if l == rate.Inf {
		return 0
	}
	return float64(l)
}

func (p *pacer) observe(resp *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	cur := p.limiter.Limit()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if p.measuring && now.Sub(p.lastThrottle) > 10*time.Second {
			p.measuring = false // a stray 429 long ago: measure afresh
		}
		p.lastThrottle = now
		switch {
		case cur != rate.Inf:
			if now.Sub(p.lastChange) >= time.Second {
				p.limiter.SetLimitAt(now, max(cur*0.9, p.min))
				p.lastChange = now
			}
		case !p.measuring:
			p.measuring, p.measureStart, p.measured = true, now, 0
		case now.Sub(p.measureStart) >= time.Second:
			admitted := float64(p.measured) / now.Sub(p.measureStart).Seconds()
			p.limiter.SetLimitAt(now, max(rate.Limit(admitted*0.95), p.min))
			p.measuring, p.lastChange = false, now
		}
	case resp.StatusCode < 300:
		if p.measuring {
			p.measured++
		}
		if cur != rate.Inf && now.Sub(p.lastThrottle) >= 2*time.Second && now.Sub(p.lastChange) >= time.Second {
			p.limiter.SetLimitAt(now, cur*1.02)
			p.lastChange = now
		}
	}
}

// remaining estimates how long n more requests take at the current pace; zero when unpaced.
func (p *pacer) remaining(n int) time.Duration {
	r := p.rate()
	if r <= 0 || n <= 0 {
		return 0
	}
	return time.Duration(float64(n) / r * float64(time.Second))
}
