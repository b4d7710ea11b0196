// Package e2e runs the manager as a real process against a real API server and a platform sandbox, and does
// to it what production does: SIGKILL at random moments, and two replicas with leader election.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/controlplane"
	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
)

var (
	k8s        client.Client
	kubeconfig string
	managerBin string
	workDir    string
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	root, _ := filepath.Abs(filepath.Join("..", ".."))
	var err error
	workDir, err = os.MkdirTemp("", "tether-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(workDir)

	managerBin = filepath.Join(workDir, "manager")
	if err := controlplane.BuildManager(context.Background(), root, managerBin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	cp, err := controlplane.Start(root, filepath.Join(workDir, "kubeconfig"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer cp.Stop()
	kubeconfig, k8s = cp.Kubeconfig, cp.Client
	return m.Run()
}

// manager is one manager process.
type manager struct {
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

// exited reports whether the process has ended.
func (m *manager) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

func startManager(t *testing.T, storePath string, args ...string) *manager {
	t.Helper()
	logPath := filepath.Join(t.TempDir(), "manager.log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(managerBin, append([]string{"--store", storePath, "--metrics-bind-address", "0",
		"--health-probe-bind-address", "0", "--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m := &manager{cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(m.done) }()
	t.Cleanup(func() {
		m.kill()
		f.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("manager log (last 3000 bytes):\n%s", tail(b, 3000))
			}
		}
	})
	return m
}

func (m *manager) kill() {
	if !m.exited() {
		_ = m.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-m.done
}

func (m *manager) stop() {
	if !m.exited() {
		_ = m.cmd.Process.Signal(syscall.SIGTERM)
	}
	<-m.done
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// platformFixture is a sandbox on loopback and the uninterrupted run's result to compare with.
type platformFixture struct {
	platform connectors.Platform
	sb       connectors.Sandbox
	url      string
	want     store.Snapshot
}

func newPlatformFixture(t *testing.T, platform v1alpha1.Platform, orders int) *platformFixture {
	t.Helper()
	p, ok := connectors.Lookup(platform)
	if !ok {
		t.Fatalf("%s is not registered", platform)
	}
	sb := p.NewSandbox(connectors.SandboxOptions{Seed: 3, Orders: orders, Products: 60, Locations: 3, Unlimited: true, Fast: true})
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	f := &platformFixture{platform: p, sb: sb, url: srv.URL}

	// The uninterrupted run, in process.
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "ref.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	conn, err := p.New(connectors.Config{Connection: sb.Connection(srv.URL), Credentials: sb.Credentials(), HTTPClient: srv.Client()})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mapping.Compile(p.DefaultMapping, nil)
	if err != nil {
		t.Fatal(err)
	}
	res := (&engine.Engine{Store: st}).Run(context.Background(), engine.Job{Integration: "ref/ref", Channel: "ref/ref",
		Connector: conn, Mapping: m, Entities: p.Entities, HistoryStart: time.Now().Add(-4 * 365 * 24 * time.Hour)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if f.want, err = st.Snapshot(context.Background(), "ref/ref"); err != nil {
		t.Fatal(err)
	}
	return f
}

// apply creates a namespace with the sandbox's Secret and an Integration for it.
func (f *platformFixture) apply(t *testing.T) (ns string) {
	t.Helper()
	ctx := context.Background()
	n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-"}}
	if err := k8s.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: n.Name, Name: "shop"}, Data: f.sb.Credentials()}
	if err := k8s.Create(ctx, s); err != nil {
		t.Fatal(err)
	}
	conn := f.sb.Connection(f.url)
	in := &v1alpha1.Integration{
		ObjectMeta: metav1.ObjectMeta{Namespace: n.Name, Name: "shop"},
		Spec: v1alpha1.IntegrationSpec{Platform: f.platform.Name, Connection: &conn,
			Auth: v1alpha1.Auth{SecretRef: v1alpha1.LocalObjectReference{Name: "shop"}},
			Sync: v1alpha1.SyncSpec{HistoricalData: &v1alpha1.HistoricalData{Duration: &metav1.Duration{Duration: 3 * 365 * 24 * time.Hour}}}},
	}
	if err := k8s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	return n.Name
}

func getIntegration(t *testing.T, ns string) *v1alpha1.Integration {
	t.Helper()
	obj := &v1alpha1.Integration{}
	if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, obj); err != nil {
		t.Fatal(err)
	}
	return obj
}

// waitConnected waits until the integration has finished a sync of its generation.
func waitConnected(t *testing.T, ns string, timeout time.Duration) *v1alpha1.Integration {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		obj := &v1alpha1.Integration{}
		if err := k8s.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, obj); err != nil {
			t.Fatal(err)
		}
		if obj.Status.State == v1alpha1.StateConnected && obj.Status.ObservedGeneration == obj.Generation {
			return obj
		}
		if time.Now().After(deadline) {
			r := conditions.Get(obj, v1alpha1.ConditionReady)
			t.Fatalf("integration %s/shop not Connected after %s: state %q, Ready %+v", ns, timeout, obj.Status.State, r)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// check compares what the store holds for the integration with the uninterrupted run.
func (f *platformFixture) check(t *testing.T, storePath, ns string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.Snapshot(context.Background(), ns+"/shop")
	if err != nil {
		t.Fatal(err)
	}
	for id, ch := range got.OrderChannels {
		if ch != ns+"/shop" {
			t.Fatalf("order %s in channel %s", id, ch)
		}
	}
	got.OrderChannels, f.want.OrderChannels = nil, nil
	if !reflect.DeepEqual(got, f.want) {
		t.Fatalf("store differs from an uninterrupted run: %d/%d orders, %d/%d SKUs, %d/%d warehouses, %d/%d levels",
			len(got.SalesOrders), len(f.want.SalesOrders), len(got.SKUs), len(f.want.SKUs),
			len(got.Warehouses), len(f.want.Warehouses), len(got.InventoryLevels), len(f.want.InventoryLevels))
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestSIGKILLAtRandomMomentsLosesAndDuplicatesNothing kills the manager process at random moments of a first
// sync, restarts it, and checks the store equals an uninterrupted run every time. TETHER_CRASH_TRIALS sets the
// number of trials (50 by default; use more locally).
func TestSIGKILLAtRandomMomentsLosesAndDuplicatesNothing(t *testing.T) {
	trials := envInt("TETHER_CRASH_TRIALS", 50)
	f := newPlatformFixture(t, v1alpha1.PlatformShopify, 1500)
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	killedMidSync := 0
	for i := 0; i < trials; i++ {
		storePath := filepath.Join(t.TempDir(), "tether.db")
		ns := f.apply(t)
		before := f.sb.Requests()
		m := startManager(t, storePath)
		// Kill it at a random moment after its sync has begun calling the platform.
		deadline := time.Now().Add(time.Minute)
		for f.sb.Requests() == before && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rnd.IntN(700)) * time.Millisecond)
		m.kill()
		if getIntegration(t, ns).Status.LastSyncTime == nil {
			killedMidSync++
		}
		m = startManager(t, storePath)
		waitConnected(t, ns, 2*time.Minute)
		m.stop()
		f.check(t, storePath, ns)
		_ = k8s.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
	}
	t.Logf("%d trials passed, %d of them killed before the first sync finished", trials, killedMidSync)
	if killedMidSync < trials*3/4 {
		t.Fatalf("only %d of %d kills landed mid-sync: the trial timing no longer exercises crashes", killedMidSync, trials)
	}
}

// TestLeaderFailoverFinishesTheSync runs two replicas with leader election, kills the leader mid-sync, and
// checks the other takes over and the store equals an uninterrupted run.
func TestLeaderFailoverFinishesTheSync(t *testing.T) {
	f := newPlatformFixture(t, v1alpha1.PlatformShopify, 1500)
	storePath := filepath.Join(t.TempDir(), "tether.db")
	ns := f.apply(t)
	args := []string{"--leader-elect", "--leader-election-namespace", "default", "--leader-elect-lease-duration", "3s",
		"--leader-elect-renew-deadline", "2s", "--leader-elect-retry-period", "500ms"}
	a := startManager(t, storePath, args...)
	b := startManager(t, storePath, args...)

	// Wait until one of them holds the lease and has started syncing, then kill that one.
	deadline := time.Now().Add(time.Minute)
	var leader, follower *manager
	for leader == nil {
		if time.Now().After(deadline) {
			t.Fatal("no leader started syncing")
		}
		if a.exited() || b.exited() {
			t.Fatal("a replica exited before the failover")
		}
		for _, m := range []*manager{a, b} {
			if logHas(m.log, "Successfully acquired lease") {
				leader = m
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	follower = a
	if leader == a {
		follower = b
	}
	// The leader is syncing once the sandbox sees its requests.
	for f.sb.Requests() < 3 {
		if time.Now().After(deadline) {
			t.Fatal("the leader never called the platform")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if follower.exited() {
		t.Fatal("the follower exited before the failover")
	}
	leader.kill()
	if obj := getIntegration(t, ns); obj.Status.LastSyncTime != nil {
		t.Fatal("the leader finished its sync before it was killed: the test no longer exercises a failover mid-sync")
	}
	obj := waitConnected(t, ns, 2*time.Minute)
	if !logHas(follower.log, "Successfully acquired lease") {
		t.Fatalf("the integration is %s but the follower never became leader", obj.Status.State)
	}
	follower.stop()
	f.check(t, storePath, ns)
}

func logHas(path, s string) bool {
	b, err := os.ReadFile(path)
	return err == nil && bytes.Contains(b, []byte(s))
}
