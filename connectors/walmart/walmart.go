package walmart

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
	"github.com/tether/integration-operator/connectors/kit"
)

const (
	// DefaultBaseURL is the Marketplace API of Walmart US, version 3.
	DefaultBaseURL = "https://marketplace.walmartapis.com/v3"
	// CredentialClientID and CredentialClientSecret are the credentials Secret keys holding the API key pair
	// from Seller Center (Settings > API Key Management).
	CredentialClientID     = "clientID"
	CredentialClientSecret = "clientSecret"

	// ServiceName is the WM_SVC.NAME every request carries.
	ServiceName = "Walmart Marketplace"
	// MaxHistory is how far back Walmart lets a seller read orders.
	MaxHistory = 180 * 24 * time.Hour

	// historyMargin keeps the oldest lastModifiedStartDate the connector sends inside Walmart's 180 days
	// despite clock skew and the time a read takes.
	historyMargin = 10 * time.Minute
)

// ShipNodeTypes are the fulfilment channels whose orders the connector reads, one query per type: Walmart
// answers SellerFulfilled orders only when shipNodeType is left out.
var ShipNodeTypes = []string{"SellerFulfilled", "WFSFulfilled", "3PLFulfilled"}

func init() {
	connectors.Register(connectors.Platform{
		Name:           v1alpha1.PlatformWalmart,
		Entities:       []connectors.Entity{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory},
		CredentialKeys: []string{CredentialClientID, CredentialClientSecret},
		DefaultMapping: DefaultMapping(),
		MaxHistory:     MaxHistory,
		New: func(cfg connectors.Config) (connectors.Connector, error) {
			return New(cfg)
		},
		NewSandbox: newRegisteredSandbox,
	})
}

// PageSizes are the limit parameters of the list calls.
type PageSizes struct {
	Orders      int // purchase orders per page (default and Walmart's maximum 200)
	Items       int // items per page (default 100, maximum 200)
	Inventories int // SKUs per multi-node inventory page (default and maximum 50)
}

// Connector reads one Walmart seller account. The exported fields tune it; New sets their defaults.
type Connector struct {
	// PageSizes are the page sizes of the list calls.
	PageSizes PageSizes
	// MaxOrdersPerQuery is the most orders Walmart returns for one query (10,000); a time window holding more
	// is split before it is read.
	MaxOrdersPerQuery int
	// TokenRefreshMargin is how long before its expiry an access token is replaced.
	TokenRefreshMargin time.Duration
	// PaceByHeaders makes every request wait for the endpoint's token bucket, as the last response described
	// it, instead of running into 429s. On by default.
	PaceByHeaders bool
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	base         string
	clientID     string
	clientSecret string
	log          logr.Logger
	api          *kit.Client
	auth         *kit.Client

	tokenSem    chan struct{}
	token       string
	tokenExpiry time.Time

	pace      sync.Mutex
	buckets   map[string]bucketState
	paceStats paceStats
}

var _ connectors.Connector = (*Connector)(nil)

// New builds a connector from the Integration's connection and credentials.
func New(cfg connectors.Config) (*Connector, error) {
	id, err := credential(cfg.Credentials, CredentialClientID, "the Client ID")
	if err != nil {
		return nil, err
	}
	secret, err := credential(cfg.Credentials, CredentialClientSecret, "the Client Secret")
	if err != nil {
		return nil, err
	}
	base, err := baseURL(cfg.Connection.Endpoint)
	if err != nil {
		return nil, err
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	c := &Connector{
		PageSizes:          PageSizes{Orders: 200, Items: 100, Inventories: 50},
		MaxOrdersPerQuery:  10000,
		TokenRefreshMargin: time.Minute,
		PaceByHeaders:      true,
		base:               base,
		clientID:           id,
		clientSecret:       secret,
		log:                cfg.Log,
		tokenSem:           make(chan struct{}, 1),
		buckets:            map[string]bucketState{},
	}
	c.api = &kit.Client{HTTP: hc, Platform: "walmart", RetryAfter: replenishAfter, Observe: c.observe, Check: checkResponse}
	c.auth = &kit.Client{HTTP: hc, Platform: "walmart", RetryAfter: replenishAfter, Observe: c.observe, Check: checkTokenResponse}
	return c, nil
}

func credential(creds map[string][]byte, key, what string) (string, error) {
	v := strings.TrimSpace(string(creds[key]))
	if v == "" {
		return "", connectors.Auth(v1alpha1.ReasonCredentialsNotFound,
			fmt.Errorf("walmart: the credentials Secret has no %q key (%s from Seller Center's API Key Management)", key, what))
	}
	return v, nil
}

// baseURL is the API root, ending in /v3: the connection's endpoint (with or without its /v3) or Walmart's.
func baseURL(endpoint string) (string, error) {
	base := strings.TrimRight(strings.TrimSpace(endpoint), "/")
	if base == "" {
		return DefaultBaseURL, nil
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return "", connectors.Terminal(v1alpha1.ReasonInvalidConfiguration,
			fmt.Errorf("walmart: connection.endpoint %q is not an http(s) URL", endpoint))
	}
	if !strings.HasSuffix(base, "/v3") {
		base += "/v3"
	}
	return base, nil
}

func (c *Connector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check gets an access token and lists the account's ship nodes: one cheap call that needs both.
func (c *Connector) Check(ctx context.Context) error {
	if _, err := c.get(ctx, epShipNodes, c.base+"/settings/shipping/shipnodes"); err != nil && !isNoContent(err) {
		return fmt.Errorf("walmart: check connection: %w", err)
	}
	return nil
}

// resumeState is the Page.Resume token. Orders store the run's window, the ship node type and time window
// being read and the nextCursor after the last emitted page; the other entities store their list cursor.
type resumeState struct {
	Since    time.Time `json:"since,omitzero"`
	End      time.Time `json:"end,omitzero"`
	Node     int       `json:"node,omitempty"`
	WinStart time.Time `json:"winStart,omitzero"`
	WinEnd   time.Time `json:"winEnd,omitzero"`
	Cursor   string    `json:"cursor,omitempty"`
	// Done marks the last page of a read: resuming after it reads nothing more.
	Done bool `json:"done,omitempty"`
}

func (r resumeState) String() string { return connectors.EncodeResume(r) }

// Read reads one entity from req.Since, or continues the read req.Resume describes.
func (c *Connector) Read(ctx context.Context, req connectors.ReadRequest, emit connectors.EmitFunc) error {
	tok := connectors.DecodeResume[resumeState](c.log, req)
	switch req.Entity {
	case v1alpha1.DataOrders:
		return c.readOrders(ctx, req.Since, tok, emit)
	case v1alpha1.DataProducts:
		return c.readItems(ctx, tok, emit)
	case v1alpha1.DataLocations:
		return c.readShipNodes(ctx, tok, emit)
	case v1alpha1.DataInventory:
		return c.readInventories(ctx, tok, emit)
	}
	return connectors.Terminal("UnsupportedEntity", fmt.Errorf("walmart: entity %q is not supported", req.Entity))
}
