// Command manager runs the Tether integration operator: the Integration, FieldMapping and Channel controllers,
// the sync worker pool and the embedded store.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tether/integration-operator/api/v1alpha1"
	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/controllers"
	"github.com/tether/integration-operator/internal/store/sqlite"
)

type options struct {
	metricsAddr, probeAddr, storeDSN, leaderElectionNamespace string
	leaderElect                                               bool
	leaseDuration, renewDeadline, retryPeriod                 time.Duration
	workers                                                   int
	realtime, httpTimeout                                     time.Duration
	oauthAddr, oauthURL, oauthKeySecret                       string
}

func main() {
	var o options
	flag.StringVar(&o.metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to; 0 disables them.")
	flag.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so only one replica reconciles at a time.")
	flag.StringVar(&o.leaderElectionNamespace, "leader-election-namespace", "", "Namespace of the leader election lease (default: the pod's namespace).")
	flag.DurationVar(&o.leaseDuration, "leader-elect-lease-duration", 15*time.Second, "How long a leader's lease lasts without renewal.")
	flag.DurationVar(&o.renewDeadline, "leader-elect-renew-deadline", 10*time.Second, "How long the leader keeps trying to renew before it steps down.")
	flag.DurationVar(&o.retryPeriod, "leader-elect-retry-period", 2*time.Second, "How often candidates try to take the lease.")
	flag.StringVar(&o.storeDSN, "store", "tether.db", "Path of the embedded SQLite store.")
	flag.IntVar(&o.workers, "workers", 4, "How many syncs run at once.")
	flag.DurationVar(&o.realtime, "realtime-interval", time.Minute, "Polling period of integrations with frequency Realtime.")
	flag.DurationVar(&o.httpTimeout, "http-timeout", 60*time.Second, "Timeout of each request to a platform.")
	flag.StringVar(&o.oauthAddr, "oauth-bind-address", ":8082", "Address the OAuth connect endpoint binds to.")
	flag.StringVar(&o.oauthURL, "oauth-external-url", "", "Base URL browsers reach the OAuth endpoint at, for example https://tether.example.com; "+
		"register <url>/oauth/callback at each platform. Empty disables connecting integrations with OAuth.")
	flag.StringVar(&o.oauthKeySecret, "oauth-key-secret", "", "namespace/name of the Secret holding the key that signs connect links "+
		"(created when missing; default: tether-oauth-key in the pod's namespace).")
	zo := zap.Options{}
	zo.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zo)))

	if err := run(ctrl.SetupSignalHandler(), o); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	st, err := sqlite.Open(ctx, o.storeDSN)
	if err != nil {
		return fmt.Errorf("open store %s: %w", o.storeDSN, err)
	}
	defer st.Close()

	keySecret, err := keySecretName(o.oauthKeySecret)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controllers.CacheOptions(cache.Options{}),
		Metrics:                 metricsserver.Options{BindAddress: o.metricsAddr},
		HealthProbeBindAddress:  o.probeAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        "integration-operator.tether.io",
		LeaderElectionNamespace: o.leaderElectionNamespace,
		LeaseDuration:           &o.leaseDuration,
		RenewDeadline:           &o.renewDeadline,
		RetryPeriod:             &o.retryPeriod,
		// A new leader must not start syncing before the old one has certainly stopped writing.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		Store:            st,
		Workers:          o.workers,
		HTTPClient:       &http.Client{Timeout: o.httpTimeout},
		RealtimeInterval: o.realtime,
		OAuth:            controllers.OAuthOptions{ExternalURL: o.oauthURL, BindAddress: o.oauthAddr, KeySecret: keySecret},
	}); err != nil {
		return err
	}
	if o.probeAddr != "0" {
		if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
			return err
		}
		if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
			return err
		}
	}
	ctrl.Log.WithName("setup").Info("starting manager", "store", o.storeDSN, "workers", o.workers, "leaderElect", o.leaderElect)
	return mgr.Start(ctx)
}

// keySecretName parses --oauth-key-secret, defaulting to tether-oauth-key in the pod's namespace.
func keySecretName(flagValue string) (types.NamespacedName, error) {
	if flagValue != "" {
		ns, name, ok := strings.Cut(flagValue, "/")
		if !ok || ns == "" || name == "" {
			return types.NamespacedName{}, fmt.Errorf("--oauth-key-secret must be namespace/name, not %q", flagValue)
		}
		return types.NamespacedName{Namespace: ns, Name: name}, nil
	}
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		if b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace"); err == nil {
			ns = strings.TrimSpace(string(b))
		}
	}
	if ns == "" {
		ns = "default"
	}
	return types.NamespacedName{Namespace: ns, Name: "tether-oauth-key"}, nil
}
