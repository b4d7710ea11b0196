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
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/mapping"
)

// FieldMappingReconciler compiles FieldMappings and reports whether they compile and who uses them.
type FieldMappingReconciler struct {
	client.Client
}

// +kubebuilder:rbac:groups=integrations.tether.io,resources=fieldmappings,verbs=get;list;watch
// +kubebuilder:rbac:groups=integrations.tether.io,resources=fieldmappings/status,verbs=get;update;patch

// Reconcile compiles the mapping, over the platform's defaults when it names a platform.
func (r *FieldMappingReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	obj := &v1alpha1.FieldMapping{}
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

	list := &v1alpha1.IntegrationList{}
	if err := r.List(ctx, list, client.InNamespace(obj.Namespace), client.MatchingFields{indexFieldMapping: obj.Name}); err != nil {
		return ctrl.Result{}, err
	}
	users := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		users = append(users, it.Name)
	}
	sort.Strings(users)
	obj.Status.Integrations = users

	var defaults []v1alpha1.EntityMapping
	if obj.Spec.Platform != "" {
		p, ok := connectors.Lookup(obj.Spec.Platform)
		if !ok {
			conditions.MarkStalled(obj, v1alpha1.ReasonUnsupportedPlatform,
				fmt.Sprintf("spec.platform: no connector for %s in this operator build; available: %s", obj.Spec.Platform, platformNames()))
			return ctrl.Result{}, nil
		}
		defaults = p.DefaultMapping
	}
	if _, err := mapping.Compile(defaults, obj.Spec.Entities); err != nil {
		conditions.MarkStalled(obj, v1alpha1.ReasonInvalidFieldMapping, err.Error())
		return ctrl.Result{}, nil
	}
	conditions.MarkReady(obj, v1alpha1.ReasonCompiled, fmt.Sprintf("All rules compile; used by %d integration(s)", len(users)))
	return ctrl.Result{}, nil
}

// SetupWithManager registers the reconciler. It relies on the Integration index on spec.fieldMappingRef.
func (r *FieldMappingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.FieldMapping{}).
		Watches(&v1alpha1.Integration{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []ctrl.Request {
			if ref := o.(*v1alpha1.Integration).Spec.FieldMappingRef; ref != nil {
				return []ctrl.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: ref.Name}}}
			}
			return nil
		})).
		Named("fieldmapping").
		Complete(r)
}
