package amazon

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

	"golang.org/x/time/rate"

	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// Operation names an SP-API operation; each has its own token bucket.
type Operation string

// The operations the connector calls.
const (
	OpGetOrders             Operation = "getOrders"
	OpGetOrderItems         Operation = "getOrderItems"
	OpSearchOrders          Operation = "searchOrders"
	OpGetInventorySummaries Operation = "getInventorySummaries"
)

// Rate is an operation's usage plan: requests per second and burst.
type Rate struct {
	PerSecond float64
	Burst     int
}

// Interval is the time one request's token takes to refill.
func (r Rate) Interval() time.Duration {
	if r.PerSecond <= 0 {
		return 0
	}
	return time.Duration(float64(time.Second) / r.PerSecond)
}

// DefaultRates are the default usage plans of ordersV0.json, orders_2026-01-01.json and fbaInventory.json.
func DefaultRates() map[Operation]Rate {
	return map[Operation]Rate{
		OpGetOrders:             {PerSecond: 0.0167, Burst: 20},
		OpGetOrderItems:         {PerSecond: 0.5, Burst: 30},
		OpSearchOrders:          {PerSecond: 0.0056, Burst: 20},
		OpGetInventorySummaries: {PerSecond: 2, Burst: 2},
	}
}

// opClient is the HTTP client of one operation, paced by that operation's limiter.
type opClient struct {
	*kit.Client
	mu   sync.Mutex
	rate Rate
}

// Rate is the usage plan the operation is paced to now.
func (oc *opClient) Rate() Rate {
	oc.mu.Lock()
	defer oc.mu.Unlock()
	return oc.rate
}

// observe adopts the rate a successful response reports in x-amzn-RateLimit-Limit: the seller's actual usage
// plan, which may be higher (or lower) than the documented default. 429s and 5xx carry no such header.
func (oc *opClient) observe(resp *http.Response) {
	v := resp.Header.Get("x-amzn-RateLimit-Limit")
	if v == "" || oc.Limiter == nil {
		return
	}
	perSecond, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || perSecond <= 0 {
		return
	}
	oc.mu.Lock()
	defer oc.mu.Unlock()
	if perSecond != oc.rate.PerSecond {
		oc.rate.PerSecond = perSecond
		oc.Limiter.SetLimit(rate.Limit(perSecond))
	}
}

// Stats are the connector's traffic counters, summed over its operations.
type Stats struct {
	kit.Stats
	// ByOperation has each operation's counters.
	ByOperation map[Operation]kit.Stats
	// TokenRefreshes counts LWA grants, when the connector keeps its own token (API credentials outside the
	// operator).
	TokenRefreshes int
}

// Stats returns the traffic counters so far.
func (c *Connector) Stats() Stats {
	s := Stats{ByOperation: map[Operation]kit.Stats{}}
	c.mu.Lock()
	defer c.mu.Unlock()
	for op, oc := range c.clients {
		st := oc.Stats()
		s.ByOperation[op] = st
		s.Requests += st.Requests
		s.Retries += st.Retries
		s.RateLimited += st.RateLimited
	}
	if k, ok := c.tokens.(*connectors.Keeper); ok {
		s.TokenRefreshes = k.Refreshes()
	}
	return s
}

func (c *Connector) client(op Operation) *opClient {
	c.mu.Lock()
	defer c.mu.Unlock()
	if oc, ok := c.clients[op]; ok {
		return oc
	}
	if c.clients == nil {
		c.clients = map[Operation]*opClient{}
	}
	r, ok := c.Rates[op]
	if !ok {
		r = DefaultRates()[op]
	}
	oc := &opClient{rate: r, Client: &kit.Client{
		HTTP:        c.http,
		Platform:    "amazon",
		MaxRetries:  c.MaxRetries,
		BaseBackoff: c.RetryBaseDelay,
		MaxBackoff:  c.MaxRetryDelay,
	}}
	oc.Check = oc.check
	oc.Observe = oc.observe
	if r.PerSecond > 0 {
		// One token less than Amazon's burst: the bucket then always keeps a token in reserve for requests
		// that arrive closer together than they were sent.
		oc.Limiter = rate.NewLimiter(rate.Limit(r.PerSecond), max(r.Burst-1, 1))
	}
	c.clients[op] = oc
	return oc
}

// apiError is an SP-API error response: {"errors":[{"code","message","details"}]}.
type apiError struct {
	Status  int
	Code    string
	Message string
	Path    string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("amazon: %s: HTTP %d %s: %s", e.Path, e.Status, e.Code, e.Message)
}

type errorList struct {
	Errors []struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details string `json:"details"`
	} `json:"errors"`
}

// check classifies SP-API error responses of the operation by status and error code. A 429 carries no rate
// header and no Retry-After, so its retry waits at least until the operation's bucket has a token again.
func (oc *opClient) check(resp *http.Response, body []byte) error {
	return classifySPAPI(oc.Rate(), resp, body)
}

func classifySPAPI(r Rate, resp *http.Response, body []byte) error {
	if resp.StatusCode < 400 {
		return nil
	}
	ae := &apiError{Status: resp.StatusCode, Path: resp.Request.URL.Path}
	var el errorList
	if json.Unmarshal(body, &el) == nil && len(el.Errors) > 0 {
		ae.Code, ae.Message = el.Errors[0].Code, el.Errors[0].Message
	} else {
		ae.Message = kit.Snippet(body)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return connectors.Transient("QuotaExceeded", r.Interval(), ae)
	case resp.StatusCode >= 500:
		return connectors.Transient("PlatformUnavailable", kit.RetryAfterHeader(resp), ae)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return connectors.Auth("Unauthorized", ae)
	}
	return connectors.Terminal("RequestRejected", ae)
}

// isInvalidInput reports whether err is a 400 InvalidInput, which is how Amazon refuses an expired or
// malformed page token.
func isInvalidInput(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && ae.Status == http.StatusBadRequest
}

// isTokenRejected reports whether err is SP-API refusing the access token: 403 (or 401) with the code
// Unauthorized, which is how an expired or revoked LWA token is answered.
func isTokenRejected(err error) bool {
	var ae *apiError
	return errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized) &&
		(ae.Code == "Unauthorized" || ae.Code == "")
}

// get sends an authorised GET for an operation and decodes the JSON answer into out. When SP-API rejects the
// access token (it expired or was revoked early) the token is renewed and the request sent once more before
// the rejection counts as an auth failure.
func (c *Connector) get(ctx context.Context, op Operation, path string, q url.Values, out any) error {
	oc := c.client(op)
	u := c.base + path
	if len(q) > 0 {
		u += "?" + encodeQuery(q)
	}
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		return err
	}
	for attempt := 0; ; attempt++ {
		header := http.Header{
			"X-Amz-Access-Token": {tok.AccessToken},
			"User-Agent":         {userAgent},
			"X-Amz-Date":         {time.Now().UTC().Format("20060102T150405Z")},
		}
		_, err = oc.GetJSON(ctx, u, header, out)
		if err != nil && isTokenRejected(err) && attempt == 0 {
			if tok, err = c.tokens.Renew(ctx, tok.AccessToken); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// encodeQuery encodes query parameters in a stable order with %20 for spaces, percent-encoding every
// reserved character: a NextToken's '+', '/' and '=' must reach Amazon encoded.
func encodeQuery(q url.Values) string {
	return strings.ReplaceAll(q.Encode(), "+", "%20")
}
