package woocommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

const (
	// CredentialConsumerKey is the credentials Secret key holding the REST API consumer key (ck_…).
	CredentialConsumerKey = "consumerKey"
	// CredentialConsumerSecret is the credentials Secret key holding the REST API consumer secret (cs_…).
	CredentialConsumerSecret = "consumerSecret"

	// APIPath is where the REST API v3 lives below the store URL (pretty permalinks required).
	APIPath = "/wp-json/wc/v3"
	// MaxPageSize is the largest per_page WooCommerce accepts; more is a 400 rest_invalid_param.
	MaxPageSize = 100
	// DefaultLocationID is the ID of the one stock location a WooCommerce store has. Core WooCommerce keeps a
	// single stock number per product or variation, so the connector reports one synthetic warehouse.
	DefaultLocationID = "default"

	platformName = "woocommerce"
	userAgent    = "tether-integration-operator (connectors/woocommerce)"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformWooCommerce,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialConsumerKey, CredentialConsumerSecret},
		DefaultMapping: DefaultMapping(),
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// Connector reads one WooCommerce store. The exported fields tune it; New sets their defaults.
type Connector struct {
	// PageSize is the per_page of every list request (default and maximum 100).
	PageSize int

	client   *kit.Client
	pacer    *kit.AdaptivePacer
	api      *url.URL // the REST API root, …/wp-json/wc/v3
	storeURL string
	key      string
	secret   string
	oauth    bool // sign with OAuth 1.0a: the API is served over plain HTTP
	// keysInQuery sends the key and secret as consumer_key/consumer_secret query parameters instead of
	// Basic auth: set once an HTTPS store answered a Basic request as anonymous (its web server strips the
	// Authorization header), as WooCommerce's documentation advises.
	keysInQuery atomic.Bool
	log         logr.Logger
	now         func() time.Time
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials. The API root is
// connection.storeURL + /wp-json/wc/v3; connection.endpoint replaces the store URL (or, when it already ends
// in /wp-json/…, the whole API root).
func New(cfg connectors.Config) (*Connector, error) {
	creds := map[string]string{}
	for _, k := range []string{CredentialConsumerKey, CredentialConsumerSecret} {
		v := strings.TrimSpace(string(cfg.Credentials[k]))
		if v == "" {
			return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
				fmt.Errorf("woocommerce: the credentials Secret has no %q key (WooCommerce > Settings > Advanced > REST API)", k))
		}
		creds[k] = v
	}
	store := strings.TrimRight(cfg.Connection.StoreURL, "/")
	base := store
	if cfg.Connection.Endpoint != "" {
		base = strings.TrimRight(cfg.Connection.Endpoint, "/")
	}
	if base == "" {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("woocommerce: connection.storeURL is required (for example https://shop.example.com)"))
	}
	if !strings.Contains(base, "/wp-json") {
		base += APIPath
	}
	api, err := url.Parse(base)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("woocommerce: %q is not an http(s) URL", base))
	}
	if store == "" {
		store = api.Scheme + "://" + api.Host
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	p := &kit.AdaptivePacer{Floor: pacerFloor}
	c := &Connector{
		PageSize: MaxPageSize,
		pacer:    p,
		api:      api,
		storeURL: store,
		key:      creds[CredentialConsumerKey],
		secret:   creds[CredentialConsumerSecret],
		oauth:    api.Scheme == "http",
		log:      cfg.Log,
		now:      time.Now,
	}
	if c.oauth {
		signed := *hc
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		signed.Transport = &oauthTransport{base: base, c: c}
		hc = &signed
	} else {
		keyed := *hc
		base := hc.Transport
		if base == nil {
			base = http.DefaultTransport
		}
		keyed.Transport = &queryKeyTransport{base: base, c: c}
		hc = &keyed
	}
	c.client = &kit.Client{
		HTTP:     hc,
		Platform: platformName,
		Pacer:    p,
		Check:    checkResponse,
	}
	return c, nil
}

// SetRetryBackoff bounds the exponential backoff between retries of a failed request (defaults 500ms and 30s).
func (c *Connector) SetRetryBackoff(base, max time.Duration) {
	c.client.BaseBackoff, c.client.MaxBackoff = base, max
}

// SetMaxRequestRate caps the request rate (requests per second; zero or negative removes the cap). Without
// a cap the connector runs unpaced until the store answers 429, then paces itself to the rate the store
// admits (kit.AdaptivePacer).
func (c *Connector) SetMaxRequestRate(perSecond float64) {
	c.pacer.SetMax(perSecond)
}

// Stats are the connector's request counters.
type Stats struct {
	kit.Stats
	// Rate is the pace at the end, in requests per second; zero while unpaced.
	Rate float64
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	return Stats{Stats: c.client.Stats(), Rate: c.pacer.Rate()}
}

// Check lists one order, the cheapest authenticated call that needs the permission the sync needs.
func (c *Connector) Check(ctx context.Context) error {
	q := url.Values{"per_page": {"1"}, "_fields": {"id"}}
	if _, err := c.list(ctx, "/orders", q); err != nil {
		return fmt.Errorf("woocommerce: check: %w", err)
	}
	return nil
}

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	tok := c.startToken(req)
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.scan(ctx, ordersScan, tok, emit)
	case v1alpha1.DataProducts:
		return c.scan(ctx, productsScan, tok, emit)
	case v1alpha1.DataInventory:
		return c.scan(ctx, inventoryScan, tok, emit)
	case v1alpha1.DataLocations:
		return c.readLocations(ctx, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("woocommerce: entity %q is not supported", req.Entity))
}

// resumeToken is the Page.Resume of a scan: the modified_after bound of the next request (GMT, WooCommerce's
// "2006-01-02T15:04:05" form; empty for the whole history), the page within that query, and the IDs already
// emitted whose modification time is the second right after the bound.
type resumeToken struct {
	Entity string  `json:"entity"`
	After  string  `json:"after,omitempty"`
	Page   int     `json:"page"`
	Seen   []int64 `json:"seen,omitempty"`
}

func (t resumeToken) String() string { return connectors.EncodeResume(t) }

// startToken is where a read starts: the Resume token when it is readable and for this entity, else Since
// (inventory is read in full every run: stock changes made by orders do not reliably move date_modified).
func (c *Connector) startToken(req connectors.ReadRequest) resumeToken {
	entity := string(req.Entity)
	if req.Resume != "" {
		var t resumeToken
		if err := json.Unmarshal([]byte(req.Resume), &t); err == nil && t.Entity == entity && t.Page >= 1 && validAfter(t.After) {
			return t
		}
		c.log.Info("ignoring a resume token this connector cannot use; reading from since", "entity", entity)
	}
	t := resumeToken{Entity: entity, Page: 1}
	if !req.Since.IsZero() && req.Entity != v1alpha1.DataInventory {
		t.After = formatGMT(req.Since)
	}
	return t
}

// gmtLayout is how WooCommerce writes *_gmt dates and how the connector sends modified_after.
const gmtLayout = "2006-01-02T15:04:05"

func formatGMT(t time.Time) string { return t.UTC().Truncate(time.Second).Format(gmtLayout) }

func parseGMT(v any) (time.Time, error) {
	s, _ := v.(string)
	t, err := time.Parse(gmtLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("date %q is not a WooCommerce GMT date", s)
	}
	return t.UTC(), nil
}

func validAfter(s string) bool {
	if s == "" {
		return true
	}
	_, err := time.Parse(gmtLayout, s)
	return err == nil
}

// pacerFloor is the slowest pace the connector falls back to after 429s.
const pacerFloor = 0.5
