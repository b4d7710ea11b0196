package controllers

import (
	"context"
	"net/http"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/tether/integration-operator/internal/engine"
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
}

// Setup registers the three reconcilers with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	ir := &IntegrationReconciler{
		Client:           mgr.GetClient(),
		Recorder:         mgr.GetEventRecorder("integration-operator"),
		Engine:           &engine.Engine{Store: o.Store, Now: o.Now},
		Store:            o.Store,
		Workers:          o.Workers,
		HTTPClient:       o.HTTPClient,
		Now:              o.Now,
		RealtimeInterval: o.RealtimeInterval,
	}
	if err := ir.SetupWithManager(ctx, mgr); err != nil {
		return err
	}
	if err := (&FieldMappingReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&ChannelReconciler{Client: mgr.GetClient(), Store: o.Store}).SetupWithManager(mgr)
}
