package bigcommerce

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

const (
	// CredentialAccessToken is the credentials Secret key holding the store API account's access token, sent
	// as X-Auth-Token.
	CredentialAccessToken = "accessToken"
	// DefaultBaseURL is BigCommerce's API gateway; the store's API lives under /stores/{store_hash}/.
	DefaultBaseURL = "https://api.bigcommerce.com"

	// maxPageSize is the largest page v2 orders, v2 order products and v3 catalog products return; a larger
	// limit is cut to it, which would make a short page look like the last one.
	maxPageSize = 250
	// maxInventoryPageSize is the inventory items endpoint's payload limit.
	maxInventoryPageSize = 1000
	// defaultOrdersPage keeps a rate-limited page of orders (one request each for its lines) under a minute.
	defaultOrdersPage = 200

	userAgent = "tether-integration-operator (connectors/bigcommerce)"
	platform  = "bigcommerce"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformBigCommerce,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialAccessToken},
		DefaultMapping: DefaultMapping(),
		OAuth:          OAuth,
		// BigCommerce keeps every order; there is no history limit to clamp to.
		MaxHistory: 0,
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// PageSizes are the limit parameters of the paginated endpoints.
type PageSizes struct {
	// Orders per page (default 200, maximum 250). Every order costs a request for its lines, so a page takes
	// about 40 s on a Standard plan; a smaller page checkpoints more often for 1/limit more requests.
	Orders        int
	OrderProducts int // order products per page of one order's lines (default and maximum 250)
	Products      int // catalog products per page, each with all its variants (default and maximum 250)
	Locations     int // locations per page (default 250)
	Inventory     int // inventory items per page, each with all its locations (default 250, maximum 1000)
}

// Connector reads one BigCommerce store. The exported fields tune it; New sets them to their defaults.
type Connector struct {
	// PageSizes are the page sizes of the list endpoints.
	PageSizes PageSizes
	// LineWorkers is how many orders' line lists are fetched at once. The rate-limit pacer spaces the
	// requests either way; concurrency only hides latency.
	LineWorkers int

	base string // https://api.bigcommerce.com/stores/{hash}
	// token is the store API account's access token; tokens, when set, gives the app's OAuth token instead.
	token  string
	tokens connectors.Tokens
	client *kit.Client
	pacer  *pacer
	log    logr.Logger
}

var _ connectors.Connector = (*Connector)(nil)

// sharedTransport keeps enough idle connections for the line workers of several connectors; the default
// transport keeps two per host and would reconnect for every other request.
var sharedTransport = func() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 16
	return t
}()

var storeHashPattern = regexp.MustCompile(`^[a-z0-9]{1,32}$`)

// New builds a connector from the Integration's connection and credentials: the store API account's access
// token, or, for an integration connected with OAuth (the app install flow), the token cfg.Tokens gives.
func New(cfg connectors.Config) (*Connector, error) {
	tokens := connectors.TokensFor(cfg, OAuth)
	raw, ok := cfg.Credentials[CredentialAccessToken]
	token := strings.TrimSpace(string(raw))
	if tokens == nil && (!ok || token == "") {
		return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("bigcommerce: the credentials Secret has no %q key (the store API account's access token)", CredentialAccessToken))
	}
	hash := cfg.Connection.StoreHash
	if hash == "" {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("bigcommerce: connection.storeHash is required (the part after /stores/ in the API path)"))
	}
	if !storeHashPattern.MatchString(hash) {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("bigcommerce: connection.storeHash %q is not a store hash (lower-case letters and digits)", hash))
	}
	base := strings.TrimRight(cfg.Connection.Endpoint, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	next := hc.Transport
	if next == nil {
		next = sharedTransport
	}
	p := &pacer{}
	paced := *hc
	paced.Transport = &pacedTransport{next: next, pacer: p}
	c := &Connector{
		PageSizes:   PageSizes{Orders: defaultOrdersPage, OrderProducts: maxPageSize, Products: maxPageSize, Locations: maxPageSize, Inventory: maxPageSize},
		LineWorkers: 4,
		base:        base + "/stores/" + hash,
		token:       token,
		tokens:      tokens,
		pacer:       p,
		log:         cfg.Log,
	}
	c.client = &kit.Client{
		HTTP:       &paced,
		Platform:   platform,
		RetryAfter: resetAfter,
		Check:      checkResponse,
	}
	return c, nil
}

// Stats counts what a Connector did, for benchmarks and diagnostics.
type Stats struct {
	kit.Stats
	// PaceWait is the time requests waited for the store's rate-limit window.
	PaceWait time.Duration
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	return Stats{Stats: c.client.Stats(), PaceWait: c.pacer.waited()}
}

// SetRetryDelays bounds the backoff between retries (tests shorten it).
func (c *Connector) SetRetryDelays(base, max time.Duration) {
	c.client.BaseBackoff, c.client.MaxBackoff = base, max
}

// Check reads the store's profile, GET /v2/store: one cheap authenticated call.
func (c *Connector) Check(ctx context.Context) error {
	var store struct {
		ID     string `json:"id"`
		Domain string `json:"domain"`
	}
	if err := c.get(ctx, "/v2/store", nil, &store); err != nil {
		return fmt.Errorf("bigcommerce: check store: %w", err)
	}
	return nil
}

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	var tok *resumeToken
	if req.Resume != "" {
		var r resumeToken
		if err := json.Unmarshal([]byte(req.Resume), &r); err != nil || r.Entity != string(req.Entity) {
			c.log.Info("ignoring a resume token this connector cannot use; reading from since", "entity", req.Entity)
		} else {
			tok = &r
		}
	}
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readOrders(ctx, req.Since, tok, emit)
	case v1alpha1.DataProducts:
		return c.readProducts(ctx, req.Since, tok, emit)
	case v1alpha1.DataLocations:
		return c.readLocations(ctx, tok, emit)
	case v1alpha1.DataInventory:
		return c.readInventory(ctx, tok, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("bigcommerce: entity %q is not supported", req.Entity))
}

// resumeToken is the Page.Resume token. Incremental reads (orders, products) keep the moving lower bound, the
// page within it and the IDs already emitted at or after the bound; full reads (locations, inventory) keep
// the next page number.
type resumeToken struct {
	Entity string    `json:"entity"`
	Bound  time.Time `json:"bound,omitzero"`
	Page   int       `json:"page"`
	// Seen maps the IDs already emitted whose modification time is at or after Bound to that time (Unix
	// seconds), so the page that re-reads them skips them.
	Seen map[string]int64 `json:"seen,omitempty"`
}

func (t resumeToken) String() string { return connectors.EncodeResume(t) }

func pageSize(n, max int) int {
	if n <= 0 || n > max {
		return max
	}
	return n
}
