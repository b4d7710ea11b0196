package controllers

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/oauth"
	"github.com/tether/integration-operator/internal/store"
)

// Options configure the controllers.
type Options struct {
	Store            store.Store
	Workers          int
	HTTPClient       *http.Client
	RealtimeInterval time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// OAuth configures the connect endpoint; without an ExternalURL OAuth integrations cannot be connected.
	OAuth OAuthOptions
}

// OAuthOptions configure the OAuth connect endpoint.
type OAuthOptions struct {
	// ExternalURL is the base URL browsers reach the endpoint at; the callback to register at each platform
	// is ExternalURL + "/oauth/callback".
	ExternalURL string
	// BindAddress is where the endpoint listens, unless Listener is set.
	BindAddress string
	Listener    net.Listener
	// KeySecret is the Secret holding the key that seals connect links and states, shared by all replicas;
	// created when missing.
	KeySecret types.NamespacedName
}

// CacheOptions restrict the manager's cache: of Secrets it holds only those the operator owns (labelled
// app.kubernetes.io/managed-by); the users' credentials Secrets are read from the API server when needed and
// watched through metadata alone.
func CacheOptions(base cache.Options) cache.Options {
	if base.ByObject == nil {
		base.ByObject = map[client.Object]cache.ByObject{}
	}
	base.ByObject[&corev1.Secret{}] = cache.ByObject{Label: labels.SelectorFromSet(labels.Set{oauth.LabelManagedBy: oauth.ManagedBy})}
	return base
}

// Setup registers the three reconcilers with the manager, and the OAuth endpoint when configured.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	secrets := &oauth.Secrets{Client: mgr.GetClient(), Reader: mgr.GetAPIReader()}
	om := &oauth.Manager{Secrets: secrets, Keepers: &oauth.Keepers{Secrets: secrets}, HTTPClient: o.HTTPClient}
	if o.OAuth.ExternalURL != "" {
		srv, err := startOAuth(ctx, mgr, o, secrets, om.Keepers)
		if err != nil {
			return err
		}
		om.Server = srv
	}
	ir := &IntegrationReconciler{
		Client:           mgr.GetClient(),
		Reader:           mgr.GetAPIReader(),
		Recorder:         mgr.GetEventRecorder("integration-operator"),
		Engine:           &engine.Engine{Store: o.Store, Now: o.Now},
		Store:            o.Store,
		Workers:          o.Workers,
		HTTPClient:       o.HTTPClient,
		Now:              o.Now,
		RealtimeInterval: o.RealtimeInterval,
		OAuth:            om,
	}
	if err := ir.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&FieldMappingReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&ChannelReconciler{Client: mgr.GetClient(), Store: o.Store}).SetupWithManager(mgr)
}

// startOAuth loads the shared key and adds the endpoint to the manager. It serves on every replica, leader or
// not, so a browser can finish a flow on whichever replica it reaches.
func startOAuth(ctx context.Context, mgr ctrl.Manager, o Options, secrets *oauth.Secrets, keepers *oauth.Keepers) (*oauth.Server, error) {
	if o.OAuth.KeySecret.Name == "" || o.OAuth.KeySecret.Namespace == "" {
		return nil, errors.New("oauth: the key Secret's namespace and name are required")
	}
	direct, err := client.New(mgr.GetConfig(), client.Options{Scheme: mgr.GetScheme()})
	if err != nil {
		return nil, err
	}
	key, err := oauth.LoadOrCreateKey(ctx, direct, o.OAuth.KeySecret)
	if err != nil {
		return nil, err
	}
	keys, err := oauth.NewKeys(key)
	if err != nil {
		return nil, err
	}
	srv := &oauth.Server{ExternalURL: o.OAuth.ExternalURL, Keys: keys, Secrets: secrets, Keepers: keepers,
		HTTPClient: o.HTTPClient, Log: ctrl.Log.WithName("oauth"), Now: o.Now}
	ln := o.OAuth.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", o.OAuth.BindAddress); err != nil {
			return nil, fmt.Errorf("oauth: listen on %s: %w", o.OAuth.BindAddress, err)
		}
	}
	return srv, mgr.Add(&httpServer{ln: ln, h: srv.Handler()})
}

// httpServer serves the OAuth endpoint for the manager's lifetime, on every replica.
type httpServer struct {
	ln net.Listener
	h  http.Handler
}

func (s *httpServer) NeedLeaderElection() bool { return false }

func (s *httpServer) Start(ctx context.Context) error {
	srv := &http.Server{Handler: s.h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
