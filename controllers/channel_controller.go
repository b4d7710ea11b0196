package controllers

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/store"
)

// ChannelReconciler keeps each Channel in the store and reports the integrations delivering into it.
type ChannelReconciler struct {
	client.Client
	Store store.Store
}

// +kubebuilder:rbac:groups=integrations.tether.io,resources=channels,verbs=get;list;watch
// +kubebuilder:rbac:groups=integrations.tether.io,resources=channels/status,verbs=get;update;patch

// Reconcile registers the channel in the store and aggregates what its integrations delivered.
func (r *ChannelReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := &v1alpha1.Channel{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopy()
	defer func() {
		if conditions.Acknowledged(obj) {
			obj.Status.ObservedGeneration = obj.Generation
		}
		retErr = errors.Join(retErr, patchStatus(ctx, r.Client, before, obj,
			equality.Semantic.DeepEqual(before.Status, obj.Status), &result))
	}()

	key := req.String()
	name := obj.Spec.DisplayName
	if name == "" {
		name = obj.Name
	}
	if err := r.Store.EnsureChannel(ctx, key, name); err != nil {
		return ctrl.Result{}, fmt.Errorf("store channel %s: %w", key, err)
	}
	list := &v1alpha1.IntegrationList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace), client.MatchingFields{indexChannel: obj.Name}); err != nil {
		return ctrl.Result{}, err
	}
	orders, err := r.Store.ChannelOrders(ctx, key)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("count orders of channel %s: %w", key, err)
	}
	var total int64
	var items []v1alpha1.ChannelIntegration
	for _, it := range list.Items {
		n := orders[client.ObjectKeyFromObject(&it).String()]
		total += n
		items = append(items, v1alpha1.ChannelIntegration{Name: it.Name, Platform: it.Spec.Platform, State: it.Status.State, Orders: n})
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	obj.Status.Integrations = items
	obj.Status.Orders = total
	conditions.MarkReady(obj, v1alpha1.ReasonIntegrationsReporting,
		fmt.Sprintf("%d integration(s) delivered %d orders", len(items), total))
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler. It relies on the Integration index on the resolved channel.
func (r *ChannelReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Channel{}).
		Watches(&v1alpha1.Integration{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: o.(*v1alpha1.Integration).ChannelName()}}}
		})).
		Named("channel").
		Complete(r)
}
