package etsy

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/connectors/kit"
)

// Credential keys of the Integration's Secret.
const (
	// CredentialKeystring is the app's keystring (its OAuth client_id), from etsy.com/developers/your-apps.
	CredentialKeystring = "keystring"
	// CredentialSharedSecret is the app's shared secret, shown next to the keystring.
	CredentialSharedSecret = "sharedSecret"
	// CredentialRefreshToken is the OAuth refresh token the shop owner's consent produced, for API
	// credentials minted outside the operator (see Flow.Seed). OAuth integrations do not need it.
	CredentialRefreshToken = "refreshToken"
	// CredentialShopID optionally names the shop; without it the connector asks GET /users/{user_id}/shops.
	CredentialShopID = "shopID"
)

const (
	// DefaultEndpoint is the Open API host. The API lives under /v3/application and the token endpoint under
	// /v3/public/oauth/token on the same host.
	DefaultEndpoint = "https://api.etsy.com"
	apiPrefix       = "/v3/application"
	tokenPath       = "/v3/public/oauth/token"
	// maxPageSize is the largest limit Etsy accepts on its list endpoints.
	maxPageSize = 100
	// minTimestamp is the smallest timestamp filter Etsy accepts (2000-01-01, the OpenAPI minimum).
	minTimestamp = 946684800

	platformName = "etsy"
	userAgent    = "tether-integration-operator (connectors/etsy)"
)

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformEtsy,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialKeystring, CredentialSharedSecret, CredentialRefreshToken},
		DefaultMapping: DefaultMapping(),
		OAuth:          Flow,
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// Connector reads one Etsy shop. The exported fields tune it; New sets them to their defaults.
type Connector struct {
	// ReceiptPageSize is the limit of receipt pages (1-100, default 100).
	ReceiptPageSize int
	// ListingPageSize is the limit of active-listing pages (1-100, default 25). Every listing costs one more
	// request for its inventory, and a page of records is emitted per listing page.
	ListingPageSize int
	// OpenReceiptWindow is how far back, by creation time, each incremental Orders run re-reads receipts
	// whatever their updated_timestamp, to catch the cancellations, refunds and shipments Etsy does not
	// timestamp (default 30 days; zero or negative turns the re-poll off).
	OpenReceiptWindow time.Duration
	// InventoryReuse is how long a listing's inventory read for Products is reused by an Inventory read of
	// the same connector (and the other way round), saving a request per listing (default 2 minutes; zero
	// turns reuse off).
	InventoryReuse time.Duration
	// MaxRetryWait is the longest retry-after the connector waits out itself; a longer one (a spent daily
	// quota) ends the read with a transient error carrying the advice, for the engine to reschedule.
	MaxRetryWait time.Duration

	apiBase string
	apiKey  string // keystring:shared_secret, the x-api-key header
	// oauth is set when the token comes from the operator's OAuth grant (cfg.Tokens): the shop ID is then
	// the grant's (Token.Extra), not the Secret's.
	oauth   bool
	shopID  int64
	secrets []string // credential values, redacted from every error message
	tokens  connectors.Tokens
	client  *kit.Client
	pacer   *pacer
	log     logr.Logger
	now     func() time.Time

	mu        sync.Mutex
	inventory map[int64]cachedInventory
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials.
func New(cfg connectors.Config) (*Connector, error) {
	get := func(key, what string) (string, error) {
		v := strings.TrimSpace(string(cfg.Credentials[key]))
		if v == "" {
			return "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
				fmt.Errorf("etsy: the credentials Secret has no %q key (%s)", key, what))
		}
		return v, nil
	}
	keystring, err := get(CredentialKeystring, "the app's keystring")
	if err != nil {
		return nil, err
	}
	secret, err := get(CredentialSharedSecret, "the app's shared secret")
	if err != nil {
		return nil, err
	}
	// The access token comes from the operator's token Secret (cfg.Tokens) or, for API credentials, from a
	// Keeper seeded with the Secret's refresh token. Either way refreshes are serialised by that one Keeper,
	// which saves each rotated refresh token before anyone uses it.
	tokens := connectors.TokensFor(cfg, Flow)
	if tokens == nil {
		_, err := get(CredentialRefreshToken, "the shop's OAuth refresh token, or connect the shop with spec.auth.type OAuth")
		return nil, err
	}
	var shopID int64
	if raw := strings.TrimSpace(string(cfg.Credentials[CredentialShopID])); raw != "" && cfg.Tokens == nil {
		shopID, err = strconv.ParseInt(raw, 10, 64)
		if err != nil || shopID <= 0 {
			return nil, connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
				fmt.Errorf("etsy: the credentials Secret's %q key is not a positive shop ID", CredentialShopID))
		}
	}
	host, _ := hosts(cfg.Connection)
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Connector{
		ReceiptPageSize:   maxPageSize,
		ListingPageSize:   25,
		OpenReceiptWindow: 30 * 24 * time.Hour,
		InventoryReuse:    2 * time.Minute,
		MaxRetryWait:      2 * time.Minute,
		apiBase:           host + apiPrefix,
		apiKey:            keystring + ":" + secret,
		oauth:             cfg.Tokens != nil,
		shopID:            shopID,
		secrets:           []string{keystring, secret, strings.TrimSpace(string(cfg.Credentials[CredentialRefreshToken]))},
		tokens:            tokens,
		pacer:             newPacer(),
		log:               cfg.Log,
		now:               time.Now,
		inventory:         map[int64]cachedInventory{},
	}
	c.client = &kit.Client{
		HTTP:        hc,
		Platform:    platformName,
		MaxRetries:  5,
		BaseBackoff: 500 * time.Millisecond,
		MaxBackoff:  30 * time.Second,
		Observe:     c.pacer.observe,
		Check:       c.checkResponse,
		Sleep:       c.sleep,
	}
	return c, nil
}

// SetRetryBackoff sets the bounds of the exponential backoff between retries of 5xx, 429 and network
// failures (defaults 500ms and 30s) and how often a request is retried (default 5).
func (c *Connector) SetRetryBackoff(base, max time.Duration, retries int) {
	c.client.BaseBackoff, c.client.MaxBackoff, c.client.MaxRetries = base, max, retries
}

// Check asks GET /users/{user_id}/shops, the cheapest call that needs both the API key and the OAuth token,
// and resolves the shop ID.
func (c *Connector) Check(ctx context.Context) error {
	_, err := c.shop(ctx)
	return err
}

// resumeState is the Page.Resume token.
//
// Orders: Phase "modified" pages by update time: the next request asks min_last_modified=Time with
// offset Offset, and drops the receipts in Seen (those already emitted whose updated_timestamp is Time).
// Phase "open" re-reads the receipts created since Created, sorted by creation, from Offset.
// Products and Inventory: Offset is the next active-listing offset and Last the last listing read, which
// the next page overlaps to detect listings that moved. Locations has a single page and no state.
type resumeState struct {
	Phase   string    `json:"phase,omitempty"`
	Since   time.Time `json:"since"`
	Time    int64     `json:"time,omitempty"`
	Offset  int       `json:"offset,omitempty"`
	Seen    []int64   `json:"seen,omitempty"`
	Created int64     `json:"created,omitempty"`
	Last    int64     `json:"last,omitempty"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

const (
	phaseModified = "modified"
	phaseOpen     = "open"
	phaseListings = "listings"
)

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	tok := connectors.DecodeResume[resumeState](c.log, req)
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readReceipts(ctx, req.Since, tok, emit)
	case v1alpha1.DataProducts:
		return c.readListings(ctx, tok, emit, productRecords)
	case v1alpha1.DataInventory:
		return c.readListings(ctx, tok, emit, levelRecords)
	case v1alpha1.DataLocations:
		return c.readShop(ctx, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("etsy: entity %q is not supported", req.Entity))
}

// Stats counts what a Connector did, for benchmarks and diagnostics.
type Stats struct {
	kit.Stats
	// PaceWait is the time spent waiting for the per-second quota before sending.
	PaceWait time.Duration
}

// Stats returns the counters so far.
func (c *Connector) Stats() Stats {
	return Stats{Stats: c.client.Stats(), PaceWait: c.pacer.waited()}
}
