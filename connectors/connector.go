// Package connectors defines what a platform connector is and the registry every platform package joins.
//
// The sync engine and the controllers work only through these types: they never name a platform. A platform
// package (connectors/shopify, ...) implements Connector, describes itself with a Platform and calls Register
// from its init function; the manager imports the platform packages it ships (see connectors/all).
package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/go-logr/logr"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors/sandboxkit"
	"github.com/tether/integration-operator/internal/tether"
)

// Entity is a kind of data a connector reads: the Integration's spec.sync.dataTypes values.
type Entity = v1alpha1.DataType

// Record is one object read from a platform, in the platform's own shape. Data holds the object as JSON decodes
// it (map[string]any, []any, string, float64, bool, nil); field mappings read it by path or CEL expression.
type Record struct {
	// ID is the platform's stable identifier for the object. The store keys records by
	// (integration, entity, ID), so the same object read twice is one record.
	ID string
	// UpdatedAt is the platform's modification time of the object: the incremental cursor.
	UpdatedAt time.Time
	Data      map[string]any
}

// ReadRequest says what to read.
type ReadRequest struct {
	Entity Entity
	// Since is the lower bound: read objects modified after it. The engine has already moved it back by the
	// overlap window. Zero means the whole history the platform keeps.
	Since time.Time
	// Resume is the Page.Resume of the last page the engine committed for an interrupted run of this entity, or
	// empty to start a new run. A connector that gets a Resume it cannot use (an expired page token, a bulk job
	// that is gone) starts over from Since: the store's upserts make reading a page twice harmless.
	Resume string
}

// Page is a batch of records handed to the engine, plus the state that continues the read after it.
type Page struct {
	Records []Record
	// Resume is opaque connector state (a page cursor, a bulk job ID and offset) that continues the read after
	// this page. The engine stores it in the same transaction as the records, so a restart resumes right here.
	Resume string
	// Remaining, when the connector can tell, is the expected time until this entity's read completes (a
	// platform whose limits make a run slow says so in status). Zero means unknown.
	Remaining time.Duration
}

// EmitFunc receives pages in order. It returns once the page is durably stored; an error stops the read.
type EmitFunc func(ctx context.Context, page Page) error

// Connector talks to one external account.
type Connector interface {
	// Check verifies that the endpoint is reachable and the credentials are accepted, without reading data.
	Check(ctx context.Context) error
	// Read reads one entity from req.Since (or req.Resume) to the present, page by page.
	Read(ctx context.Context, req ReadRequest, emit EmitFunc) error
}

// Config is what a connector is built from.
type Config struct {
	// Connection is the Integration's spec.connection, already validated by the API server.
	Connection v1alpha1.Connection
	// Credentials is the data of the Integration's credentials Secret. Connectors must never log, return in an
	// error, or otherwise expose these values.
	Credentials map[string][]byte
	// HTTPClient is the client to use (timeouts set by the engine). Never nil.
	HTTPClient *http.Client
	Log        logr.Logger
	// Tokens, when set, gives the account's OAuth token: for integrations connected with OAuth, and for API
	// credentials that carry a refresh token (see OAuth.Seed). The connector takes its access token from it
	// on every request and calls Renew when the platform rejects one; it never refreshes on its own.
	Tokens Tokens
	// PollInterval, when set, replaces the connector's wait between polls of asynchronous platform jobs
	// (bulk operations, reports). Tests against sandboxes set it short.
	PollInterval time.Duration
}

// Platform describes a connector to the registry: what it can do and how to build it.
type Platform struct {
	// Name is the spec.platform value, for example "Shopify".
	Name v1alpha1.Platform
	// Entities are the data types it can read.
	Entities []Entity
	// CredentialKeys are the keys its credentials Secret must have.
	CredentialKeys []string
	// DefaultMapping maps its records to Tether's; an Integration's FieldMapping overrides it field by field.
	DefaultMapping []v1alpha1.EntityMapping
	// MaxHistory is how far back the platform lets anyone read (Walmart 180 days of orders, eBay and Amazon
	// two years); zero means no limit. A longer spec.sync.historicalData is clamped, and status says so.
	MaxHistory time.Duration
	// OAuth is the platform's authorization-code flow, or nil when it connects only with API credentials.
	OAuth *OAuth
	// New builds a connector for one account.
	New func(cfg Config) (Connector, error)
	// NewSandbox builds the platform's simulator, seeded with a realistic store. The tests, the demo and the
	// benchmarks use it.
	NewSandbox func(opts SandboxOptions) Sandbox
}

// SandboxOptions size and tune a sandbox.
type SandboxOptions struct {
	// Seed makes the data deterministic.
	Seed uint64
	// Orders, Products and Locations size the store; zero takes the sandbox's defaults (a few thousand
	// orders, a couple of hundred products, a handful of locations).
	Orders, Products, Locations int
	// Unlimited turns the platform's rate limit off, for benchmarks of the rest of the pipeline.
	Unlimited bool
	// Fast makes asynchronous platform jobs (bulk operations, reports) finish at once, for tests.
	Fast bool
}

// Sandbox is a platform simulator: an http.Handler that speaks the platform's API over seeded data and
// enforces what the platform enforces.
type Sandbox interface {
	http.Handler
	// Credentials is Secret data the sandbox accepts.
	Credentials() map[string][]byte
	// Connection is the spec.connection that points an Integration at the sandbox served at endpoint.
	Connection(endpoint string) v1alpha1.Connection
	// Expected counts the Tether records the sandbox's current data becomes, per kind, for the entities
	// the platform provides.
	Expected() map[tether.Kind]int64
	// Requests counts the API requests it has received.
	Requests() int64
	// TouchOrders changes n existing orders, moving their modification time forward.
	TouchOrders(n int)
}

// OAuthSandbox is implemented by the sandboxes of platforms with an OAuth flow: they include the platform's
// authorization server (consent page, token endpoint with the platform's lifetimes and rotation, revocation
// where the platform has it), served by the same handler.
type OAuthSandbox interface {
	Sandbox
	// AppCredentials is the user's Secret data for an OAuth integration: the registered app's keys
	// (Platform.OAuth.AppKeys).
	AppCredentials() map[string][]byte
	// RegisterRedirect registers the operator's callback URL with the app, as an admin does in the
	// platform's developer console.
	RegisterRedirect(callbackURL string)
	// Login is the merchant's username and password on the consent page.
	Login() (username, password string)
	// Auth is the sandbox's authorization server, for tests to expire, revoke and count tokens.
	Auth() *sandboxkit.AuthServer
}

var (
	mu       sync.RWMutex
	registry = map[v1alpha1.Platform]Platform{}
)

// Register adds a platform. It panics on a duplicate name: that is a programming error found at start-up.
func Register(p Platform) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[p.Name]; dup {
		panic(fmt.Sprintf("connectors: platform %q registered twice", p.Name))
	}
	registry[p.Name] = p
}

// Lookup returns the registered platform with that name.
func Lookup(name v1alpha1.Platform) (Platform, bool) {
	mu.RLock()
	defer mu.RUnlock()
	p, ok := registry[name]
	return p, ok
}

// Platforms lists the registered platforms by name.
func Platforms() []Platform {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Platform, 0, len(registry))
	for _, p := range registry {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Supports reports whether the platform reads the entity.
func (p Platform) Supports(e Entity) bool {
	for _, x := range p.Entities {
		if x == e {
			return true
		}
	}
	return false
}

// EncodeResume writes a connector's resume state as the opaque Page.Resume string (JSON).
func EncodeResume(state any) string {
	b, err := json.Marshal(state)
	if err != nil {
		panic(fmt.Sprintf("connectors: resume state %T does not encode: %v", state, err))
	}
	return string(b)
}

// DecodeResume reads the resume state EncodeResume wrote, or returns nil when req.Resume is empty or
// unreadable (a checkpoint from another version, say): the read then starts over from req.Since, which the
// store's upserts make harmless.
func DecodeResume[T any](log logr.Logger, req ReadRequest) *T {
	if req.Resume == "" {
		return nil
	}
	var state T
	if err := json.Unmarshal([]byte(req.Resume), &state); err != nil {
		log.Info("ignoring an unreadable resume token; reading from since", "entity", req.Entity, "error", err.Error())
		return nil
	}
	return &state
}
