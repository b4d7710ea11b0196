package controllers

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tether/integration-operator/api/v1alpha1"
	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/internal/store"
	"github.com/tether/integration-operator/internal/store/sqlite"
)

// The suite runs every controller test against one real kube-apiserver and etcd (built by hack/ into bin/k8s)
// and one manager with a real SQLite store.
var (
	k8s       client.Client
	testEnv   *envtest.Environment
	testStore store.Store
	cfg       *rest.Config
	// oauthURL is the external URL of the suite manager's OAuth endpoint.
	oauthURL string
)

func TestMain(m *testing.M) {
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		assets, _ := filepath.Abs(filepath.Join("..", "bin", "k8s"))
		if _, err := os.Stat(filepath.Join(assets, "kube-apiserver")); err != nil {
			fmt.Fprintln(os.Stderr, "controllers: no kube-apiserver in bin/k8s; run `make test` (it builds the control plane) or hack/control-plane.sh")
			return 1
		}
		os.Setenv("KUBEBUILDER_ASSETS", assets)
	}
	// Everything is logged at debug level into the secret scan; stderr gets it too with TEST_DEBUG set.
	var logOut io.Writer = secrets
	if os.Getenv("TEST_DEBUG") != "" {
		logOut = io.MultiWriter(secrets, os.Stderr)
	}
	ctrl.SetLogger(zap.New(zap.UseDevMode(true), zap.WriteTo(logOut), zap.Level(zapcore.Level(-5))))

	testEnv = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = testEnv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "controllers: start envtest:", err)
		return 1
	}
	defer testEnv.Stop()

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)

	dir, err := os.MkdirTemp("", "tether-envtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	testStore, err = sqlite.Open(ctx, filepath.Join(dir, "tether.db"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "controllers: open store:", err)
		return 1
	}
	defer testStore.Close()

	// The suite's manager leaves alone the Integrations a test runs its own managers for.
	if err := startManager(ctx, testStore, "!"+ownManagerLabel); err != nil {
		fmt.Fprintln(os.Stderr, "controllers:", err)
		return 1
	}
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	checker, err := startStatusChecker(ctx, cfg, k8s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controllers: status checker:", err)
		return 1
	}
	code := m.Run()
	leaks, err := secrets.scan(ctx, k8s)
	if err != nil {
		fmt.Fprintln(os.Stderr, "controllers: secret scan:", err)
		code = 1
	}
	for _, l := range leaks {
		fmt.Fprintln(os.Stderr, "secret scan:", l)
	}
	fmt.Printf("secret scan: %d credential values looked for in the controllers' debug logs, events and statuses, %d found\n", len(secrets.values), len(leaks))
	if len(leaks) > 0 {
		code = 1
	}
	seen, violations := checker.result()
	for _, v := range violations {
		fmt.Fprintln(os.Stderr, "status conformance:", v)
	}
	fmt.Printf("status conformance: %d Integration statuses checked, %d violations\n", seen, len(violations))
	if len(violations) > 0 && code == 0 {
		code = 1
	}
	return code
}

// ownManagerLabel marks Integrations that a test reconciles with managers of its own.
const ownManagerLabel = "test.tether.io/own-manager"

// startManager runs a manager with the three controllers on the suite's API server until ctx ends. selector
// picks the Integrations it reconciles.
func startManager(ctx context.Context, st store.Store, selector string) error {
	sel, err := labels.Parse(selector)
	if err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:     scheme,
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Cache:      CacheOptions(cache.Options{ByObject: map[client.Object]cache.ByObject{&v1alpha1.Integration{}: {Label: sel}}}),
		Controller: config.Controller{SkipNameValidation: ptr(true)},
	})
	if err != nil {
		return fmt.Errorf("new manager: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	external := "http://" + ln.Addr().String() + "/tether"
	if oauthURL == "" {
		oauthURL = external
	}
	if err := Setup(ctx, mgr, Options{Store: st, Workers: 4, HTTPClient: &http.Client{Timeout: 20 * time.Second},
		RealtimeInterval: 2 * time.Second, OAuth: OAuthOptions{ExternalURL: external, Listener: ln,
			KeySecret: types.NamespacedName{Namespace: "default", Name: "tether-oauth-key"}}}); err != nil {
		return fmt.Errorf("setup: %w", err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "controllers: manager stopped:", err)
		}
	}()
	return nil
}

func ptr[T any](v T) *T { return &v }

// newNamespace creates a namespace for one test.
func newNamespace(t *testing.T) string {
	t.Helper()
	ns := &corev1.Namespace{}
	ns.GenerateName = "t-"
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	return ns.Name
}

// eventually polls cond until it holds or the timeout passes: tests wait on outcomes, never on the clock.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for {
		ok, detail := cond()
		if ok {
			return
		}
		last = detail
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s; last seen: %s", timeout, what, last)
		}
		<-tick.C
	}
}

// kstatusOf computes the kstatus of an object as Flux and kubectl see it.
func kstatusOf(t *testing.T, obj client.Object) status.Status {
	t.Helper()
	raw, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	u := &unstructured.Unstructured{Object: raw}
	gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
	if err != nil {
		t.Fatal(err)
	}
	u.SetGroupVersionKind(gvk)
	res, err := status.Compute(u)
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}
