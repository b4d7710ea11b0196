package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// wcError is the body of every WooCommerce (WP REST) error response.
type wcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Data    struct {
		Status int `json:"status"`
	} `json:"data"`
}

// checkResponse classifies WooCommerce's own error bodies. 429 and 5xx fall through to kit's rules (retried
// with backoff and Retry-After).
func checkResponse(resp *http.Response, body []byte) error {
	status := resp.StatusCode
	if status < 400 || status == http.StatusTooManyRequests || status >= 500 {
		return nil
	}
	var e wcError
	_ = json.Unmarshal(body, &e)
	where := resp.Request.Method + " " + resp.Request.URL.Path
	detail := e.Code
	if e.Message != "" {
		detail += ": " + e.Message
	}
	if detail == "" {
		detail = kit.Snippet(body)
	}
	err := fmt.Errorf("woocommerce: %s: HTTP %d %s", where, status, detail)
	switch {
	case strings.Contains(e.Message, "nonce has already been used"):
		// A retried request reused a nonce: a new attempt is signed with a new one.
		return connectors.Transient("NonceReused", 0, err)
	case strings.Contains(e.Message, "Invalid timestamp"):
		return connectors.Transient("ClockSkew", 0, fmt.Errorf("%w (this host's clock differs from the store's by more than 15 minutes)", err))
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return connectors.Auth("Unauthorized", err)
	case status == http.StatusNotFound && e.Code == "rest_no_route":
		return connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("%w (is WooCommerce active at this store URL, with pretty permalinks on?)", err))
	case status == http.StatusNotFound:
		return connectors.Terminal("NotFound", err)
	}
	return connectors.Terminal("RequestRejected", err)
}

// listing is one page of a collection.
type listing struct {
	items []map[string]any
	// total and totalPages are X-WP-Total and X-WP-TotalPages; -1 when the response had none (a proxy can
	// strip them).
	total, totalPages int
}

// list GETs one page of a collection below the API root.
func (c *Connector) list(ctx context.Context, path string, q url.Values) (listing, error) {
	resp, err := c.get(ctx, path, q)
	if err != nil {
		return listing{}, err
	}
	out := listing{total: headerInt(resp.Header, "X-WP-Total"), totalPages: headerInt(resp.Header, "X-WP-TotalPages")}
	if err := json.Unmarshal(resp.Body, &out.items); err != nil {
		return listing{}, connectors.Transient("MalformedResponse", 0,
			fmt.Errorf("woocommerce: GET %s: the response is not a JSON list: %w (%s)", path, err, kit.Snippet(resp.Body)))
	}
	return out, nil
}

// get sends a GET, authenticated per attempt: HTTP Basic over HTTPS, a fresh OAuth 1.0a signature over HTTP
// (added by oauthTransport). When an HTTPS store answers a Basic request as anonymous, its web server
// dropped the Authorization header: the connector switches to query-string keys for good and retries once.
func (c *Connector) get(ctx context.Context, path string, q url.Values) (*kit.Response, error) {
	resp, err := c.send(ctx, path, q)
	if err != nil && !c.oauth && !c.keysInQuery.Load() && authorizationIgnored(err) {
		c.keysInQuery.Store(true)
		c.log.Info("the store answered a Basic-authenticated request as anonymous (its web server strips the Authorization header); sending the key as query-string parameters over HTTPS from now on")
		return c.send(ctx, path, q)
	}
	return resp, err
}

// authorizationIgnored reports whether a 401 says the request arrived without credentials: WooCommerce's
// anonymous answer, or its "Consumer key is missing." when the header was mangled.
func authorizationIgnored(err error) bool {
	if class, _ := connectors.Classify(err); class != connectors.ClassAuth {
		return false
	}
	msg := err.Error()
	return strings.Contains(msg, "HTTP 401 woocommerce_rest_cannot_view") || strings.Contains(msg, "Consumer key is missing")
}

func (c *Connector) send(ctx context.Context, path string, q url.Values) (*kit.Response, error) {
	return c.client.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		u := *c.api
		u.Path = strings.TrimRight(c.api.Path, "/") + path
		u.RawPath = ""
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, err
		}
		if !c.oauth && !c.keysInQuery.Load() {
			req.SetBasicAuth(c.key, c.secret)
		}
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", userAgent)
		return req, nil
	})
}

func headerInt(h http.Header, name string) int {
	n, err := strconv.Atoi(strings.TrimSpace(h.Get(name)))
	if err != nil {
		return -1
	}
	return n
}

// oauthTransport signs each request it sends with OAuth 1.0a. Signing below the http.Client, rather than in
// the URL the client is given, keeps the signed query (which holds the consumer key) out of the *url.Error
// the client returns for network failures, and signs every retry and redirect afresh.
type oauthTransport struct {
	base http.RoundTripper
	c    *Connector
}

// queryKeyTransport adds consumer_key and consumer_secret to the query once the connector is in
// query-string mode (HTTPS only). Like oauthTransport it works below the http.Client, so the secret never
// reaches a *url.Error.
type queryKeyTransport struct {
	base http.RoundTripper
	c    *Connector
}

func (t *queryKeyTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.c.keysInQuery.Load() || req.URL.Scheme != "https" {
		return t.base.RoundTrip(req)
	}
	r := req.Clone(req.Context())
	u := *req.URL
	q := u.Query()
	q.Set("consumer_key", t.c.key)
	q.Set("consumer_secret", t.c.secret)
	u.RawQuery = q.Encode()
	r.URL = &u
	r.Header.Del("Authorization")
	return t.base.RoundTrip(r)
}

func (t *oauthTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	u := *req.URL
	signURL(req.Method, &u, t.c.key, t.c.secret, t.c.now())
	r.URL = &u
	return t.base.RoundTrip(r)
}
