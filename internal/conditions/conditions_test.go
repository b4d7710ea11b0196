package conditions

import (
	"testing"

	"github.com/tether/integration-operator/api/v1alpha1"
)

func TestStateFollowsTheStatusTable(t *testing.T) {
	tests := []struct {
		name   string
		paused bool
		mark   func(in *v1alpha1.Integration)
		want   v1alpha1.State
	}{
		{"new object is pending", false, func(*v1alpha1.Integration) {}, v1alpha1.StatePending},
		{"first connect is pending", false, func(in *v1alpha1.Integration) {
			MarkProgressing(in, v1alpha1.ReasonProgressing, "connecting")
			MarkConnectedUnknown(in, v1alpha1.ReasonProgressing, "checking")
		}, v1alpha1.StatePending},
		{"synced is connected", false, func(in *v1alpha1.Integration) {
			MarkReady(in, v1alpha1.ReasonConnected, "synced")
			MarkConnected(in, true, v1alpha1.ReasonConnected, "ok")
		}, v1alpha1.StateConnected},
		{"paused", true, func(in *v1alpha1.Integration) {
			MarkConnected(in, true, v1alpha1.ReasonConnected, "ok")
			MarkReady(in, v1alpha1.ReasonPaused, "paused")
		}, v1alpha1.StatePaused},
		{"transient failure is an error", false, func(in *v1alpha1.Integration) {
			MarkConnected(in, true, v1alpha1.ReasonConnected, "ok")
			MarkRetrying(in, v1alpha1.ReasonSyncFailed, "HTTP 503")
		}, v1alpha1.StateError},
		{"invalid configuration is an error", false, func(in *v1alpha1.Integration) {
			MarkStalled(in, v1alpha1.ReasonInvalidFieldMapping, "bad rule")
		}, v1alpha1.StateError},
		{"revoked credentials disconnect", false, func(in *v1alpha1.Integration) {
			MarkConnected(in, false, v1alpha1.ReasonTokenRevoked, "revoked")
			MarkStalled(in, v1alpha1.ReasonTokenRevoked, "revoked")
		}, v1alpha1.StateDisconnected},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &v1alpha1.Integration{}
			in.Spec.Paused = tt.paused
			tt.mark(in)
			if got := State(in); got != tt.want {
				t.Fatalf("State() = %s, want %s", got, tt.want)
			}
			if IsTrue(in, v1alpha1.ConditionStalled) && IsTrue(in, v1alpha1.ConditionReconciling) {
				t.Fatal("Stalled and Reconciling are both True")
			}
		})
	}
}
