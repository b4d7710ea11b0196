// Package conditions sets the status conditions of the operator's kinds by one set of rules, and derives an
// Integration's one-word state from them, so every controller reports the same way and kstatus, Flux and
// Argo CD read the truth.
package conditions

import (
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether/integration-operator/api/v1alpha1"
)

// Object is a kind with status conditions.
type Object interface {
	GetGeneration() int64
	GetConditions() []metav1.Condition
	SetConditions([]metav1.Condition)
}

func set(obj Object, typ string, status metav1.ConditionStatus, reason, message string) {
	c := obj.GetConditions()
	meta.SetStatusCondition(&c, metav1.Condition{
		Type: typ, Status: status, Reason: reason, Message: message, ObservedGeneration: obj.GetGeneration(),
	})
	obj.SetConditions(c)
}

func remove(obj Object, typ string) {
	c := obj.GetConditions()
	meta.RemoveStatusCondition(&c, typ)
	obj.SetConditions(c)
}

// Get returns the condition of that type, or nil.
func Get(obj Object, typ string) *metav1.Condition {
	return meta.FindStatusCondition(obj.GetConditions(), typ)
}

// IsTrue reports whether the condition is present and True.
func IsTrue(obj Object, typ string) bool {
	return meta.IsStatusConditionTrue(obj.GetConditions(), typ)
}

// MarkProgressing says the object is being worked on for its current generation: Ready=Unknown,
// Reconciling=True, no Stalled.
func MarkProgressing(obj Object, reason, message string) {
	set(obj, v1alpha1.ConditionReady, metav1.ConditionUnknown, reason, message)
	set(obj, v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	remove(obj, v1alpha1.ConditionStalled)
}

// MarkReady says the object is reconciled: Ready=True, no Reconciling, no Stalled.
func MarkReady(obj Object, reason, message string) {
	set(obj, v1alpha1.ConditionReady, metav1.ConditionTrue, reason, message)
	remove(obj, v1alpha1.ConditionReconciling)
	remove(obj, v1alpha1.ConditionStalled)
}

// MarkRetrying says the last attempt failed and will be retried: Ready=False, Reconciling=True, no Stalled.
func MarkRetrying(obj Object, reason, message string) {
	set(obj, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	set(obj, v1alpha1.ConditionReconciling, metav1.ConditionTrue, reason, message)
	remove(obj, v1alpha1.ConditionStalled)
}

// MarkStalled says the object cannot progress until something changes: Ready=False, Stalled=True, no
// Reconciling.
func MarkStalled(obj Object, reason, message string) {
	set(obj, v1alpha1.ConditionReady, metav1.ConditionFalse, reason, message)
	set(obj, v1alpha1.ConditionStalled, metav1.ConditionTrue, reason, message)
	remove(obj, v1alpha1.ConditionReconciling)
}

// MarkConnected sets the Connected condition.
func MarkConnected(obj Object, connected bool, reason, message string) {
	status := metav1.ConditionFalse
	if connected {
		status = metav1.ConditionTrue
	}
	set(obj, v1alpha1.ConditionConnected, status, reason, message)
}

// MarkConnectedUnknown says the connection has not been checked yet for this generation.
func MarkConnectedUnknown(obj Object, reason, message string) {
	set(obj, v1alpha1.ConditionConnected, metav1.ConditionUnknown, reason, message)
}

// Acknowledged reports whether the current generation may be recorded as observed: only when Ready=True or
// Stalled=True, as kstatus expects.
func Acknowledged(obj Object) bool {
	for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionStalled} {
		if c := Get(obj, typ); c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == obj.GetGeneration() {
			return true
		}
	}
	return false
}

// State derives an Integration's state from its conditions and spec.paused. It is the only place the state is
// computed.
func State(in *v1alpha1.Integration) v1alpha1.State {
	ready := Get(in, v1alpha1.ConditionReady)
	connected := Get(in, v1alpha1.ConditionConnected)
	switch {
	case ready == nil:
		return v1alpha1.StatePending
	case ready.Status == metav1.ConditionTrue && ready.Reason == v1alpha1.ReasonPaused:
		if in.Spec.Paused {
			return v1alpha1.StatePaused
		}
		return v1alpha1.StatePending // unpaused, not yet resumed
	case ready.Status == metav1.ConditionTrue:
		return v1alpha1.StateConnected
	case connected != nil && connected.Status == metav1.ConditionFalse:
		return v1alpha1.StateDisconnected
	case ready.Status == metav1.ConditionFalse:
		return v1alpha1.StateError
	default:
		return v1alpha1.StatePending
	}
}
