// Package connectortest is the test support the platform connector packages share: it finds the shared specs
// folder, serves a sandbox on a loopback server, and collects what a connector's Read emits. Only tests import
// it.
package connectortest

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/tether"
)

// SpecsRoot is the shared specs folder: $TETHER_SPECS_DIR, or ../../../shared/specs seen from a connector
// package (the folder next to the repository). It does not check that the folder exists; SpecsDir does.
func SpecsRoot() string {
	if d := os.Getenv("TETHER_SPECS_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "shared", "specs")
}

// SpecsDir returns the path of parts under the shared specs folder (a file or a folder; ".." reaches the
// shared material next to it). When that path is missing the test fails if CI=true, so CI never passes
// without the conformance checks, and is skipped elsewhere, saying how to point it at the specs.
func SpecsDir(t testing.TB, parts ...string) string {
	t.Helper()
	root := SpecsRoot()
	p := filepath.Join(append([]string{root}, parts...)...)
	if _, err := os.Stat(p); err == nil {
		return p
	}
	msg := p + " not found (the shared specs folder is " + root + "; set TETHER_SPECS_DIR to point at it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Serve serves h on a loopback HTTP server that closes when the test ends.
func Serve(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// ServeTLS is Serve over HTTPS; the server's Client trusts its certificate.
func ServeTLS(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewTLSServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Registered looks up a registered platform, failing the test when it is not registered and reporting each of
// entities it does not list.
func Registered(t testing.TB, name v1alpha1.Platform, entities ...connectors.Entity) connectors.Platform {
	t.Helper()
	p, ok := connectors.Lookup(name)
	if !ok {
		t.Fatal(string(name) + " is not registered")
	}
	for _, e := range entities {
		if !p.Supports(e) {
			t.Errorf("platform does not list %s", e)
		}
	}
	return p
}

// ErrCrash is what the emit function of a Read with ReadOptions.CrashAfter returns: a process dying after a
// commit.
var ErrCrash = errors.New("simulated crash")

// Result is everything a Read emitted.
type Result struct {
	Pages   []connectors.Page
	Records []connectors.Record
	// ByID holds the last record emitted for each ID.
	ByID map[string]connectors.Record
}

// LastResume is the Resume of the last page emitted.
func (r Result) LastResume() string { return r.Pages[len(r.Pages)-1].Resume }

// MaxUpdated is the latest UpdatedAt of the records (zero for none).
func MaxUpdated(records []connectors.Record) time.Time {
	var m time.Time
	for _, r := range records {
		if r.UpdatedAt.After(m) {
			m = r.UpdatedAt
		}
	}
	return m
}

// DefaultReadTimeout bounds a Read whose ReadOptions set no Timeout.
const DefaultReadTimeout = 60 * time.Second

// ReadOptions tune ReadWith.
type ReadOptions struct {
	// CrashAfter > 0 makes the emit function return ErrCrash once it has taken that many pages.
	CrashAfter int
	// OnPage, when set, runs after each page is taken (n counts the pages so far), before a crash.
	OnPage func(n int, p connectors.Page)
	// Timeout bounds the Read; zero is DefaultReadTimeout.
	Timeout time.Duration
}

// Read runs a Read and collects what it emits; crashAfter > 0 makes emit fail after that many pages.
func Read(t testing.TB, c connectors.Connector, req connectors.ReadRequest, crashAfter int) (Result, error) {
	t.Helper()
	return ReadWith(t, c, req, ReadOptions{CrashAfter: crashAfter})
}

// ReadWith runs a Read as o says and collects what it emits, also when the Read fails.
func ReadWith(t testing.TB, c connectors.Connector, req connectors.ReadRequest, o ReadOptions) (Result, error) {
	t.Helper()
	timeout := o.Timeout
	if timeout == 0 {
		timeout = DefaultReadTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	res := Result{ByID: map[string]connectors.Record{}}
	err := c.Read(ctx, req, func(_ context.Context, p connectors.Page) error {
		res.Pages = append(res.Pages, p)
		res.Records = append(res.Records, p.Records...)
		for _, r := range p.Records {
			res.ByID[r.ID] = r
		}
		if o.OnPage != nil {
			o.OnPage(len(res.Pages), p)
		}
		if o.CrashAfter > 0 && len(res.Pages) >= o.CrashAfter {
			return ErrCrash
		}
		return nil
	})
	return res, err
}

// ReadAll runs a Read to the end, failing the test when it fails.
func ReadAll(t testing.TB, c connectors.Connector, req connectors.ReadRequest) Result {
	t.Helper()
	return MustReadWith(t, c, req, ReadOptions{})
}

// MustReadWith is ReadWith, failing the test when the Read fails.
func MustReadWith(t testing.TB, c connectors.Connector, req connectors.ReadRequest, o ReadOptions) Result {
	t.Helper()
	res, err := ReadWith(t, c, req, o)
	if err != nil {
		t.Fatalf("Read %s: %v", req.Entity, err)
	}
	return res
}

// Clock is a settable time source for sandboxes and connectors, so a test can move "now" past the seeded data.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a Clock at start.
func NewClock(start time.Time) *Clock { return &Clock{t: start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// ReadKinds reads each entity through c and counts the Tether records they map to under the platform's default
// mapping, failing the test when a page is emitted twice (a record ID seen twice). onFirstPage, when set, runs
// in the emit of each entity's first page (to expire a token or change data mid-read).
func ReadKinds(t testing.TB, c connectors.Connector, defaults []v1alpha1.EntityMapping, entities []connectors.Entity, onFirstPage func()) map[tether.Kind]int64 {
	t.Helper()
	m, err := mapping.Compile(defaults, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b tether.Batch
	for _, entity := range entities {
		res := MustReadWith(t, c, connectors.ReadRequest{Entity: entity}, ReadOptions{
			OnPage: func(n int, _ connectors.Page) {
				if n == 1 && onFirstPage != nil {
					onFirstPage()
				}
			},
		})
		if len(res.Records) != len(res.ByID) {
			t.Fatalf("%s: %d records emitted for %d IDs: a page was read twice", entity, len(res.Records), len(res.ByID))
		}
		if err := m.Apply(entity, res.Records, &b); err != nil {
			t.Fatalf("map %s: %v", entity, err)
		}
	}
	lines := 0
	for _, o := range b.SalesOrders {
		lines += len(o.Lines)
	}
	return map[tether.Kind]int64{tether.KindSalesOrder: int64(len(b.SalesOrders)), tether.KindSalesOrderLine: int64(lines),
		tether.KindSKU: int64(len(b.SKUs)), tether.KindWarehouse: int64(len(b.Warehouses)),
		tether.KindInventoryLevel: int64(len(b.InventoryLevels))}
}

// AssertKinds reports every kind whose count differs from the sandbox's.
func AssertKinds(t testing.TB, got, want map[tether.Kind]int64) {
	t.Helper()
	for kind, n := range want {
		if got[kind] != n {
			t.Errorf("%s: read %d, the sandbox has %d", kind, got[kind], n)
		}
	}
}
