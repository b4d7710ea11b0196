// Command manager runs the Tether integration operator: the Integration, FieldMapping and Channel controllers,
// the sync worker pool and the embedded store.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/tether/integration-operator/api/v1alpha1"
	_ "github.com/tether/integration-operator/connectors/all"
	"github.com/tether/integration-operator/controllers"
	"github.com/tether/integration-operator/internal/store/sqlite"
)

func main() {
	var (
		metricsAddr, probeAddr, storeDSN string
		leaderElect                      bool
		workers                          int
		realtime, httpTimeout            time.Duration
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so only one replica reconciles at a time.")
	flag.StringVar(&storeDSN, "store", "tether.db", "Path of the embedded SQLite store.")
	flag.IntVar(&workers, "workers", 4, "How many syncs run at once.")
	flag.DurationVar(&realtime, "realtime-interval", time.Minute, "Polling period of integrations with frequency Realtime.")
	flag.DurationVar(&httpTimeout, "http-timeout", 60*time.Second, "Timeout of each request to a platform.")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))

	if err := run(ctrl.SetupSignalHandler(), metricsAddr, probeAddr, storeDSN, leaderElect, workers, realtime, httpTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "manager:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, metricsAddr, probeAddr, storeDSN string, leaderElect bool, workers int, realtime, httpTimeout time.Duration) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))

	st, err := sqlite.Open(ctx, storeDSN)
	if err != nil {
		return fmt.Errorf("open store %s: %w", storeDSN, err)
	}
	defer st.Close()

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "integration-operator.tether.io",
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		Store:            st,
		Workers:          workers,
		HTTPClient:       &http.Client{Timeout: httpTimeout},
		RealtimeInterval: realtime,
	}); err != nil {
		return err
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "store", storeDSN, "workers", workers)
	return mgr.Start(ctx)
}
