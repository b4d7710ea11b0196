package amazon

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
	// CredentialClientID is the credentials Secret key holding the LWA client identifier of the SP-API app.
	CredentialClientID = "clientID"
	// CredentialClientSecret is the Secret key holding the LWA client secret of the SP-API app.
	CredentialClientSecret = "clientSecret"
	// CredentialRefreshToken is the Secret key holding the refresh token the seller's authorisation issued.
	CredentialRefreshToken = "refreshToken"

	// APIVersionV0 selects the Orders API v0 (getOrders and getOrderItems); it is the default.
	APIVersionV0 = "v0"
	// APIVersion20260101 selects the Orders API 2026-01-01 (searchOrders, items inline).
	APIVersion20260101 = "2026-01-01"

	// MaxHistory is how far back Amazon returns orders: two years.
	MaxHistory = 730 * 24 * time.Hour
	// inventoryHistory is how far back getInventorySummaries accepts a startDateTime (18 months), with a
	// margin for clock skew. An older Since reads every summary instead.
	inventoryHistory = 540 * 24 * time.Hour
	// updatedBeforeLag is how far before now the orders window ends: Amazon rejects a LastUpdatedBefore less
	// than two minutes in the past; the extra 30 seconds absorb clock skew.
	updatedBeforeLag = 2*time.Minute + 30*time.Second

	defaultTokenURL = "https://api.amazon.com/auth/o2/token"
	userAgent       = "tether-integration-operator/1.0 (Language=Go; connectors/amazon)"
)

// regionEndpoints are the SP-API hosts of the selling regions.
var regionEndpoints = map[string]string{
	"NA": "https://sellingpartnerapi-na.amazon.com",
	"EU": "https://sellingpartnerapi-eu.amazon.com",
	"FE": "https://sellingpartnerapi-fe.amazon.com",
}

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformAmazon,
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

// Connector reads one seller account in one region. The exported fields tune it; New sets their defaults.
type Connector struct {
	// Rates are the per-operation usage plans the client paces itself to. They default to Amazon's
	// documented defaults (DefaultRates); a seller with a raised plan may set higher ones.
	Rates map[Operation]Rate
	// OrdersPerPage is how many orders (with their items) make one emitted page in v0 mode: a page is
	// checkpointed after its orders' items are fetched, so a smaller page loses less work to a crash.
	OrdersPerPage int
	// MaxRetries, RetryBaseDelay and MaxRetryDelay bound the retries of 429, 5xx and network failures.
	MaxRetries     int
	RetryBaseDelay time.Duration
	MaxRetryDelay  time.Duration

	base         string
	apiVersion   string
	marketplaces []string
	tokens       connectors.Tokens
	http         *http.Client
	log          logr.Logger

	mu      sync.Mutex
	clients map[Operation]*opClient
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials. The LWA access token comes from
// cfg.Tokens (an account connected with OAuth), else from a Keeper seeded with the API credentials' refresh
// token (a self-authorised app).
func New(cfg connectors.Config) (*Connector, error) {
	if cfg.Tokens == nil {
		for _, key := range []string{CredentialClientID, CredentialClientSecret, CredentialRefreshToken} {
			if strings.TrimSpace(string(cfg.Credentials[key])) == "" {
				return nil, connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
					fmt.Errorf("amazon: the credentials Secret has no %q key (%s)", key, credentialHelp[key]))
			}
		}
	}
	tokens := connectors.TokensFor(cfg, OAuth)
	conn := cfg.Connection
	if len(conn.MarketplaceIDs) == 0 {
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("amazon: connection.marketplaceIDs is required (for example ATVPDKIKX0DER for amazon.com)"))
	}
	base := strings.TrimRight(conn.Endpoint, "/")
	if base == "" {
		var ok bool
		if base, ok = regionEndpoints[strings.ToUpper(conn.Region)]; !ok {
			return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
				fmt.Errorf("amazon: connection.region %q is not one of NA, EU, FE", conn.Region))
		}
	}
	version := conn.APIVersion
	switch version {
	case "":
		version = APIVersionV0
	case APIVersionV0, APIVersion20260101:
	default:
		return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("amazon: connection.apiVersion %q is not %q or %q", version, APIVersionV0, APIVersion20260101))
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Connector{
		Rates:          DefaultRates(),
		OrdersPerPage:  100,
		MaxRetries:     6,
		RetryBaseDelay: 500 * time.Millisecond,
		MaxRetryDelay:  30 * time.Second,
		base:           base,
		apiVersion:     version,
		marketplaces:   append([]string(nil), conn.MarketplaceIDs...),
		http:           hc,
		tokens:         tokens,
		log:            cfg.Log,
	}
	return c, nil
}

var credentialHelp = map[string]string{
	CredentialClientID:      "the LWA client identifier of the SP-API app",
	CredentialClientSecret:  "the LWA client secret of the SP-API app",
	CredentialRefreshToken:  "the refresh token from the seller's authorisation of the app",
	CredentialApplicationID: "the SP-API app's application ID, amzn1.sp.solution.…",
}

// Check signs in and asks getOrders for one order of the last few minutes: the cheapest call the orders role
// allows, paced by the getOrders limiter like every other.
func (c *Connector) Check(ctx context.Context) error {
	before := time.Now().Add(-updatedBeforeLag)
	q := ordersQuery(c.marketplaces, before.Add(-time.Hour), before, 1)
	var out getOrdersResponse
	if err := c.get(ctx, OpGetOrders, "/orders/v0/orders", q, &out); err != nil {
		return fmt.Errorf("amazon: check: %w", err)
	}
	return nil
}

// resumeState is the Page.Resume token.
type resumeState struct {
	// Since is the lower bound the run started with (after clamping to what Amazon allows).
	Since time.Time `json:"since"`
	// Before is the orders window's upper bound, fixed for the run.
	Before time.Time `json:"before,omitzero"`
	// Token is the platform's page token that fetches the page being read ("" = the first page).
	Token string `json:"token,omitempty"`
	// Seen are the orders of that page already emitted (v0 mode emits a page of 100 in parts).
	Seen []string `json:"seen,omitempty"`
	// Market is the index of the marketplace being read (FBA entities).
	Market int `json:"market,omitempty"`
	// Done says the read finished with this page.
	Done bool `json:"done,omitempty"`
	// Read counts the records emitted so far, for the remaining-time estimate.
	Read int `json:"read,omitempty"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	tok := connectors.DecodeResume[resumeState](c.log, req)
	if tok != nil && tok.Done {
		return nil
	}
	switch req.Entity {
	case v1alpha1.DataOrders:
		if c.apiVersion == APIVersion20260101 {
			return c.searchOrders(ctx, req.Since, tok, emit)
		}
		return c.readOrdersV0(ctx, req.Since, tok, emit)
	case v1alpha1.DataProducts, v1alpha1.DataInventory:
		return c.readSummaries(ctx, req.Entity, req.Since, tok, emit)
	case v1alpha1.DataLocations:
		return c.readLocations(ctx, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("amazon: entity %q is not supported", req.Entity))
}

// clampOrdersSince moves since forward to what Amazon keeps (two years, with a minute's margin).
func clampOrdersSince(since, now time.Time) time.Time {
	oldest := now.Add(-MaxHistory + time.Minute)
	if since.Before(oldest) {
		return oldest
	}
	return since
}

// isoTime formats a time the way SP-API examples do: UTC, seconds, Z.
func isoTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }
