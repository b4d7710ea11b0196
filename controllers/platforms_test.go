package controllers

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/oauth"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
	"github.com/tether/integration-operator/internal/tether"
)

// killingStore makes the manager that writes through it die, as far as its sync can tell, right after it
// committed a given number of pages.
type killingStore struct {
	store.Store
	after  int64
	pages  atomic.Int64
	killed chan struct{}
	once   sync.Once
}

var errManagerKilled = errors.New("manager killed")

func (s *killingStore) WritePage(ctx context.Context, w store.PageWrite) (store.WriteResult, error) {
	n := s.pages.Add(1)
	if n > s.after {
		s.once.Do(func() { close(s.killed) })
		return store.WriteResult{}, errManagerKilled
	}
	return s.Store.WritePage(ctx, w)
}

// TestEveryPlatformSyncsExactlyOnceAcrossARestart runs each registered connector end to end on the real API
// server: a manager starts the first sync and dies part-way; a new manager on the same store finishes it.
// The integration ends Connected, and its records land in its channel exactly once.
func TestEveryPlatformSyncsExactlyOnceAcrossARestart(t *testing.T) {
	for _, p := range connectors.Platforms() {
		t.Run(string(p.Name), func(t *testing.T) {
			ns := newNamespace(t)
			sb := startSandbox(t, p.Name, connectors.SandboxOptions{Seed: 11, Orders: 600, Products: 30, Locations: 3, Unlimited: true, Fast: true})
			dir := t.TempDir()
			st, err := sqlite.Open(context.Background(), filepath.Join(dir, "tether.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()

			createSecret(t, ns, "shop", sb.secretData())
			in := newIntegration(ns, "shop", p.Name, sb.Connection(sb.URL))
			in.Labels = map[string]string{ownManagerLabel: "true"}
			if err := k8s.Create(context.Background(), in); err != nil {
				t.Fatal(err)
			}

			// The first manager dies after three committed pages.
			first := &killingStore{Store: st, after: 3, killed: make(chan struct{})}
			ctxA, stopA := context.WithCancel(context.Background())
			if err := startManager(ctxA, first, ownManagerLabel); err != nil {
				t.Fatal(err)
			}
			select {
			case <-first.killed:
			case <-time.After(waitLong):
				stopA()
				t.Fatal("the first manager never got past three pages")
			}
			stopA()
			partial, _ := st.Counts(context.Background(), ns+"/shop")
			total := int64(0)
			for _, n := range partial {
				total += n
			}
			if total == 0 {
				t.Fatal("the first manager stored nothing before it died")
			}

			// A new manager on the same store resumes and finishes.
			ctxB, stopB := context.WithCancel(context.Background())
			defer stopB()
			if err := startManager(ctxB, st, ownManagerLabel); err != nil {
				t.Fatal(err)
			}
			obj := waitState(t, ns, "shop", v1alpha1.StateConnected)

			snap, got := storedMatches(t, st, ns+"/shop", sb.Sandbox)
			for id, ch := range snap.OrderChannels {
				if ch != ns+"/shop" {
					t.Fatalf("order %s landed in channel %s, want %s/shop", id, ch, ns)
				}
			}
			if p.OAuth != nil && p.OAuth.Seed != nil {
				// API credentials with a refresh token: the current tokens live in the operator's Secret, and
				// the second manager carried on from what the first one saved there.
				sec, found := tokenSecret(t, obj)
				if !found || sec.Labels[oauth.LabelManagedBy] != oauth.ManagedBy {
					t.Fatalf("no token Secret owned by the operator for %s's refresh-token credentials", p.Name)
				}
				if a := obj.Status.Authorization; a == nil || a.TokenSecretName != sec.Name || a.ConnectURL != "" {
					t.Fatalf("status.authorization = %+v, want the token Secret's name", a)
				}
			}
			if obj.Status.Runs[0].Result != "Succeeded" {
				t.Errorf("last run = %+v", obj.Status.Runs[0])
			}
			t.Logf("%s: %v", p.Name, got)
		})
	}
}

// storedMatches checks that the store holds exactly the Tether records the sandbox's data becomes, for the
// integration key, and returns the snapshot and the counts.
func storedMatches(t *testing.T, st store.Store, key string, sb connectors.Sandbox) (store.Snapshot, map[tether.Kind]int64) {
	t.Helper()
	snap, err := st.Snapshot(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, o := range snap.SalesOrders {
		lines += len(o.Lines)
	}
	got := map[tether.Kind]int64{
		tether.KindSalesOrder: int64(len(snap.SalesOrders)), tether.KindSalesOrderLine: int64(lines),
		tether.KindSKU: int64(len(snap.SKUs)), tether.KindWarehouse: int64(len(snap.Warehouses)),
		tether.KindInventoryLevel: int64(len(snap.InventoryLevels)),
	}
	for kind, n := range sb.Expected() {
		if got[kind] != n {
			t.Errorf("%s: stored %d, the platform has %d", kind, got[kind], n)
		}
	}
	return snap, got
}
