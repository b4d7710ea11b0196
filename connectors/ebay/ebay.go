package ebay

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

const (
	// DefaultEndpoint is eBay's production API host; spec.connection.endpoint overrides it.
	DefaultEndpoint = "https://api.ebay.com"

	// CredentialClientID is the credentials Secret key holding the application's App ID (Client ID).
	CredentialClientID = "clientID"
	// CredentialClientSecret is the key holding the application's Cert ID (Client Secret).
	CredentialClientSecret = "clientSecret"
	// CredentialRefreshToken is the key holding the seller's OAuth refresh token (valid about 18 months).
	CredentialRefreshToken = "refreshToken"

	// MaxHistory is how far back getOrders reaches: eBay keeps two years of orders.
	MaxHistory = 2 * 365 * 24 * time.Hour

	// MaxOrdersPerPage is getOrders' largest limit; a larger one is an error, not a clamp.
	MaxOrdersPerPage = 200
	// MaxInventoryItemsPerPage is getInventoryItems' largest limit.
	MaxInventoryItemsPerPage = 200

	// ScopeFulfillment and ScopeInventory are the read-only OAuth scopes the connector asks for.
	ScopeFulfillment = "https://api.ebay.com/oauth/api_scope/sell.fulfillment.readonly"
	ScopeInventory   = "https://api.ebay.com/oauth/api_scope/sell.inventory.readonly"

	ordersPath         = "/sell/fulfillment/v1/order"
	inventoryItemsPath = "/sell/inventory/v1/inventory_item"
	locationsPath      = "/sell/inventory/v1/location"
	tokenPath          = "/identity/v1/oauth2/token"

	userAgent = "tether-integration-operator (connectors/ebay)"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformEBay,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialClientID, CredentialClientSecret, CredentialRefreshToken},
		DefaultMapping: DefaultMapping(),
		MaxHistory:     MaxHistory,
		OAuth:          OAuth,
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// PageSizes are the limit parameters of the paged reads.
type PageSizes struct {
	Orders         int // getOrders limit, 1..200 (default 200)
	InventoryItems int // getInventoryItems limit, 1..200 (default 200)
	Locations      int // getInventoryLocations limit (default 100)
}

// Connector reads one eBay seller account. The exported fields tune it; New sets their defaults.
type Connector struct {
	// PageSizes are the page sizes of the paged reads.
	PageSizes PageSizes
	// CatchUpAfter: an order pass that took longer than this is followed by a pass over the orders modified
	// since it began. getOrders pages by offset in creation order, so an order modified during a long pass is
	// not seen again by that pass; the catch-up pass reads it, keeping the run's high-water mark honest.
	CatchUpAfter time.Duration
	// ClockSkew is how far before our own clock a filter bound is set, for the difference between our clock
	// and eBay's lastModifiedDate stamps.
	ClockSkew time.Duration
	base      string
	client    *kit.Client
	pacer     *kit.AdaptivePacer
	tokens    connectors.Tokens
	log       logr.Logger
	now       func() time.Time
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials.
func New(cfg connectors.Config) (*Connector, error) {
	if cfg.Tokens == nil {
		for _, key := range []string{CredentialClientID, CredentialClientSecret, CredentialRefreshToken} {
			if strings.TrimSpace(string(cfg.Credentials[key])) == "" {
				return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
					fmt.Errorf("ebay: the credentials Secret has no %q key (%s)", key, credentialWhat[key]))
			}
		}
	}
	base := strings.TrimRight(cfg.Connection.Endpoint, "/")
	if base == "" {
		base = DefaultEndpoint
	}
	if !strings.HasPrefix(base, "https://") && !strings.HasPrefix(base, "http://") {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("ebay: connection.endpoint %q is not an http(s) URL", cfg.Connection.Endpoint))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Connector{
		PageSizes:    PageSizes{Orders: MaxOrdersPerPage, InventoryItems: MaxInventoryItemsPerPage, Locations: 100},
		CatchUpAfter: time.Minute,
		ClockSkew:    2 * time.Minute,
		base:         base,
		log:          cfg.Log,
		now:          time.Now,
		pacer:        kit.NewAdaptivePacer(),
	}
	c.client = &kit.Client{
		HTTP:     hc,
		Platform: "ebay",
		Pacer:    c.pacer,
		Check:    checkAPIResponse,
	}
	// The access token comes from the operator's keeper (an account connected with OAuth), else from a keeper
	// seeded with the API credentials' refresh token.
	c.tokens = connectors.TokensFor(cfg, OAuth)
	return c, nil
}

var credentialWhat = map[string]string{
	CredentialClientID:     "the application's App ID (Client ID)",
	CredentialClientSecret: "the application's Cert ID (Client Secret)",
	CredentialRefreshToken: "the seller's OAuth refresh token",
	CredentialRuName:       "the app's RuName, from the User Tokens page of the developer account",
}

// Stats are the counters of a connector's API traffic (token requests excluded).
type Stats struct {
	kit.Stats
	// Rate is the request rate the connector paces itself to now; zero while it has not been throttled.
	Rate float64
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	return Stats{Stats: c.client.Stats(), Rate: c.pacer.Rate()}
}

// Check asks getOrders for one order of the last 90 days (its default window): one cheap call that proves
// the refresh token, the client credentials and the fulfillment scope.
func (c *Connector) Check(ctx context.Context) error {
	var out struct {
		Total int `json:"total"`
	}
	if err := c.get(ctx, ordersPath+"?limit=1", &out); err != nil {
		return fmt.Errorf("ebay: check: %w", err)
	}
	return nil
}

// resumeState is the Page.Resume token. For orders it holds the pass's lower bound, when the pass began and
// the offset of the next page; for inventory items the next page number and the page size it counts in; for
// locations the offset of the next page.
type resumeState struct {
	Since     time.Time `json:"since,omitzero"`
	PassStart time.Time `json:"passStart,omitzero"`
	Offset    int       `json:"offset"`
	Limit     int       `json:"limit,omitempty"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	var tok *resumeState
	if req.Resume != "" {
		var r resumeState
		if err := json.Unmarshal([]byte(req.Resume), &r); err != nil || r.Offset < 0 {
			c.log.Info("ignoring an unreadable resume token; reading from since", "entity", req.Entity)
		} else {
			tok = &r
		}
	}
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readOrders(ctx, req.Since, tok, emit)
	case v1alpha1.DataProducts:
		return c.readInventoryItems(ctx, productRecords, tok, emit)
	case v1alpha1.DataInventory:
		return c.readInventoryItems(ctx, levelRecords, tok, emit)
	case v1alpha1.DataLocations:
		return c.readLocations(ctx, tok, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("ebay: entity %q is not supported", req.Entity))
}
