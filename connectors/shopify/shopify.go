// Package shopify reads a Shopify store's orders, products, locations and inventory through the Admin GraphQL
// API for the sync engine, and ships a faithful in-process simulator of that API (Sandbox) to test against.
//
// The connector pages with Relay cursors sorted by updatedAt, filters incremental runs with
// `updated_at:>'since'`, paces itself by the calculated-query-cost bucket Shopify reports on every response,
// and backfills long histories of orders and products with bulk operations, streaming their JSONL results.
package shopify

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
)

const (
	// DefaultAPIVersion is the Admin API version the connector is written and tested against.
	DefaultAPIVersion = "2025-01"
	// CredentialAccessToken is the credentials Secret key holding the Admin API access token.
	CredentialAccessToken = "accessToken"

	userAgent = "tether-integration-operator (connectors/shopify)"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformShopify,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialAccessToken},
		DefaultMapping: DefaultMapping(),
		OAuth:          OAuth,
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// PageSizes are the `first` arguments of the paginated queries. The defaults keep every query's requested cost
// under Shopify's 1000-point single-query ceiling.
type PageSizes struct {
	Orders          int // orders per page (default 20)
	OrderLineItems  int // line items fetched with each order (default 10); more are paged per order
	LineItems       int // line items per follow-up page (default 100)
	Products        int // products per page (default 50)
	ProductVariants int // variants fetched with each product (default 10); more are paged per product
	Variants        int // variants per follow-up page (default 100)
	Locations       int // locations per page (default 100)
	InventoryLevels int // inventory levels per page (default 150)
}

// Connector reads one Shopify store. The exported fields tune it; New sets them to their defaults.
type Connector struct {
	// BulkThreshold: an Orders or Products read whose Since is zero or older than this runs a bulk operation
	// instead of paging. Zero or negative disables bulk reads.
	BulkThreshold time.Duration
	// CatchUpMargin is how far before a bulk operation's start the paginated catch-up after it begins, to pick
	// up records changed while the operation ran.
	CatchUpMargin time.Duration
	// BulkPollInterval is the first wait between bulk operation polls; it grows by half each poll up to
	// BulkMaxPollInterval.
	BulkPollInterval    time.Duration
	BulkMaxPollInterval time.Duration
	// BulkPageSize is the number of records per emitted page when streaming bulk results.
	BulkPageSize int
	// MaxRetries is how often a request is retried after a 5xx, a 429 or a network failure before a
	// transient error is returned; RetryBaseDelay and MaxRetryDelay bound the exponential backoff.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration
	// PageSizes are the page sizes of the paginated queries.
	PageSizes PageSizes

	endpoint string
	// token is the static Admin API access token (API-credentials mode); tokens, when set, gives the OAuth
	// token instead.
	token  string
	tokens connectors.Tokens
	http   *http.Client
	log    logr.Logger

	mu       sync.Mutex
	bucket   bucket
	expected map[string]float64
	stats    stats
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials: the Admin API access token of
// the credentials Secret, or, for an integration connected with OAuth, the token cfg.Tokens gives.
func New(cfg connectors.Config) (*Connector, error) {
	tokens := connectors.TokensFor(cfg, OAuth)
	raw, ok := cfg.Credentials[CredentialAccessToken]
	token := strings.TrimSpace(string(raw))
	if tokens == nil && (!ok || token == "") {
		return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("shopify: the credentials Secret has no %q key (the Admin API access token)", CredentialAccessToken))
	}
	base := strings.TrimRight(cfg.Connection.Endpoint, "/")
	if base == "" {
		if cfg.Connection.ShopDomain == "" {
			return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
				fmt.Errorf("shopify: connection.shopDomain is required (for example acme.myshopify.com)"))
		}
		base = "https://" + cfg.Connection.ShopDomain
	}
	version := cfg.Connection.APIVersion
	if version == "" {
		version = DefaultAPIVersion
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	poll, maxPoll := time.Second, 30*time.Second
	if cfg.PollInterval > 0 {
		poll, maxPoll = cfg.PollInterval, 10*cfg.PollInterval
	}
	return &Connector{
		BulkThreshold:       30 * 24 * time.Hour,
		CatchUpMargin:       5 * time.Minute,
		BulkPollInterval:    poll,
		BulkMaxPollInterval: maxPoll,
		BulkPageSize:        250,
		MaxRetries:          5,
		RetryBaseDelay:      500 * time.Millisecond,
		MaxRetryDelay:       30 * time.Second,
		PageSizes: PageSizes{Orders: 20, OrderLineItems: 10, LineItems: 100, Products: 50, ProductVariants: 10,
			Variants: 100, Locations: 100, InventoryLevels: 150},
		endpoint: base + "/admin/api/" + version + "/graphql.json",
		token:    token,
		tokens:   tokens,
		http:     hc,
		log:      cfg.Log,
		expected: map[string]float64{},
	}, nil
}

const checkQuery = `query Check { shop { name } }`

// Check runs the cheapest query there is, `{ shop { name } }`.
func (c *Connector) Check(ctx context.Context) error {
	var out struct {
		Shop struct {
			Name string `json:"name"`
		} `json:"shop"`
	}
	return c.query(ctx, "shop", checkQuery, nil, &out)
}

// resumeState is the Page.Resume token. A paginated read stores the lower bound of its pass and the cursor
// after the last emitted page (and, for inventory, the location being read); a bulk read stores the bulk
// operation's ID, the number of JSONL lines consumed, and the Since it was started for.
type resumeState struct {
	Since    time.Time `json:"since"`
	Cursor   string    `json:"cursor,omitempty"`
	Location string    `json:"location,omitempty"`
	Bulk     string    `json:"bulk,omitempty"`
	Offset   int64     `json:"offset"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	tok := connectors.DecodeResume[resumeState](c.log, req)
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readBulkable(ctx, ordersSpec, req, tok, emit)
	case v1alpha1.DataProducts:
		return c.readBulkable(ctx, productsSpec, req, tok, emit)
	case v1alpha1.DataLocations:
		cursor := ""
		if tok != nil {
			cursor = tok.Cursor
		}
		return c.readLocations(ctx, cursor, emit)
	case v1alpha1.DataInventory:
		if tok != nil {
			return c.readInventory(ctx, tok.Since, tok.Location, tok.Cursor, emit)
		}
		return c.readInventory(ctx, req.Since, "", "", emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("shopify: entity %q is not supported", req.Entity))
}

// readBulkable reads Orders or Products: continuing a bulk operation or a paginated pass when resuming,
// otherwise by bulk operation for long histories and by pages for recent changes.
func (c *Connector) readBulkable(ctx context.Context, spec *entitySpec, req connectors.ReadRequest, tok *resumeState, emit connectors.EmitFunc) error {
	switch {
	case tok != nil && tok.Bulk != "":
		return c.continueBulk(ctx, spec, *tok, emit)
	case tok != nil:
		return c.paginate(ctx, spec, tok.Since, tok.Cursor, emit)
	case c.BulkThreshold > 0 && (req.Since.IsZero() || time.Since(req.Since) > c.BulkThreshold):
		return c.bulkRead(ctx, spec, req.Since, emit)
	}
	return c.paginate(ctx, spec, req.Since, "", emit)
}

func searchSince(since time.Time) string {
	if since.IsZero() {
		return ""
	}
	return fmt.Sprintf("updated_at:>'%s'", since.UTC().Truncate(time.Second).Format(time.RFC3339))
}
