package controllers

import (
	"context"
	"errors"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/engine"
)

// TestTransientFailuresEscalateToStalledAfterTheTimeout drives the run observer with a clock: failures retry
// (Error, Reconciling) until spec.timeout has passed since the first one, then the integration is Stalled.
func TestTransientFailuresEscalateToStalledAfterTheTimeout(t *testing.T) {
	// The clock starts now, since condition transition times are stamped with the real time, and then jumps.
	now := time.Now()
	r := &IntegrationReconciler{Now: func() time.Time { return now }}
	obj := &v1alpha1.Integration{Spec: v1alpha1.IntegrationSpec{Platform: v1alpha1.PlatformShopify,
		Timeout: &metav1.Duration{Duration: 10 * time.Minute}}}
	obj.Name, obj.Namespace, obj.Generation = "x", "ns", 1
	conditions.MarkConnected(obj, true, v1alpha1.ReasonConnected, "ok")
	conditions.MarkReady(obj, v1alpha1.ReasonConnected, "synced")

	fail := func() {
		err := connectors.Transient("PlatformUnavailable", 0, errors.New("shopify: HTTP 503"))
		r.observeRun(context.Background(), obj, engine.Result{Start: now, End: now, Err: err,
			Entities: []engine.EntityResult{{Entity: v1alpha1.DataOrders, Err: err}}})
	}
	fail()
	if obj.Status.State = conditions.State(obj); obj.Status.State != v1alpha1.StateError ||
		!conditions.IsTrue(obj, v1alpha1.ConditionReconciling) || conditions.IsTrue(obj, v1alpha1.ConditionStalled) {
		t.Fatalf("after the first failure: state %s, conditions %+v; want Error and Reconciling", obj.Status.State, obj.Status.Conditions)
	}
	// The backoff grows with consecutive failures.
	first := r.retryTime(obj).Sub(now)
	now = now.Add(5 * time.Minute)
	fail()
	if second := r.retryTime(obj).Sub(now); second <= first {
		t.Errorf("backoff did not grow: %s then %s", first, second)
	}
	if conditions.IsTrue(obj, v1alpha1.ConditionStalled) {
		t.Fatal("stalled before the timeout")
	}
	now = now.Add(6 * time.Minute)
	fail()
	ready := conditions.Get(obj, v1alpha1.ConditionReady)
	if !conditions.IsTrue(obj, v1alpha1.ConditionStalled) || conditions.IsTrue(obj, v1alpha1.ConditionReconciling) ||
		ready.Reason != v1alpha1.ReasonRetryTimeoutExceeded {
		t.Fatalf("after 11 minutes of failures: conditions %+v; want Stalled/RetryTimeoutExceeded", obj.Status.Conditions)
	}
	if len(obj.Status.Runs) != 3 || obj.Status.Runs[0].Result != "Failed" {
		t.Fatalf("runs = %+v", obj.Status.Runs)
	}

	// A success clears it all.
	now = now.Add(time.Hour)
	r.observeRun(context.Background(), obj, engine.Result{Start: now, End: now})
	if obj.Status.State = conditions.State(obj); obj.Status.State != v1alpha1.StateConnected || conditions.IsTrue(obj, v1alpha1.ConditionStalled) {
		t.Fatalf("after a success: state %s, conditions %+v", obj.Status.State, obj.Status.Conditions)
	}
}

func TestScheduleComesFromTheLastSyncWithStableJitter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &IntegrationReconciler{Now: func() time.Time { return now }}
	obj := &v1alpha1.Integration{}
	obj.UID = "0b5b7a70-4f57-4e4c-9c1a-3f2a8f6d2b11"
	last := now.Add(-30 * time.Minute)
	obj.Status.LastSyncTime = &metav1.Time{Time: last}
	tests := []struct {
		freq     v1alpha1.Frequency
		interval time.Duration
	}{{v1alpha1.FrequencyHourly, time.Hour}, {v1alpha1.FrequencyDaily, 24 * time.Hour}, {v1alpha1.FrequencyRealtime, time.Minute}}
	for _, tt := range tests {
		obj.Spec.Sync.Frequency = tt.freq
		next := r.nextSync(obj)
		if d := next.Sub(last); d < tt.interval || d > tt.interval+tt.interval/10 {
			t.Errorf("%s: next sync %s after the last, want %s plus at most 10%%", tt.freq, d, tt.interval)
		}
		if again := r.nextSync(obj); !again.Equal(next) {
			t.Errorf("%s: the schedule moved between calls (a restart would reschedule): %s vs %s", tt.freq, next, again)
		}
	}
	other := obj.DeepCopy()
	other.UID = "9f2d1c3e-0000-4000-8000-000000000001"
	other.Spec.Sync.Frequency = v1alpha1.FrequencyDaily
	obj.Spec.Sync.Frequency = v1alpha1.FrequencyDaily
	if r.nextSync(obj).Equal(r.nextSync(other)) {
		t.Error("two integrations synced at the same moment got the same next sync: no jitter")
	}
}

// TestSlowReadsShowWhenTheyExpectToFinish: a connector that can estimate the time left (a platform whose rate
// limits make a run slow) has it shown in status as the read's estimated completion.
func TestSlowReadsShowWhenTheyExpectToFinish(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r := &IntegrationReconciler{Now: func() time.Time { return now }}
	obj := &v1alpha1.Integration{}
	r.showProgress(obj, []engine.EntityResult{
		{Entity: v1alpha1.DataOrders, Read: 120, Written: 120, Resumable: true, Remaining: 95 * time.Minute},
		{Entity: v1alpha1.DataProducts, Read: 40, Written: 40},
	})
	if len(obj.Status.Progress) != 2 {
		t.Fatalf("progress = %+v", obj.Status.Progress)
	}
	orders := obj.Status.Progress[0]
	if orders.EstimatedCompletion == nil || !orders.EstimatedCompletion.Time.Equal(now.Add(95*time.Minute)) || orders.Read != 120 {
		t.Fatalf("orders progress = %+v, want 120 read and completion expected at %s", orders, now.Add(95*time.Minute))
	}
	if obj.Status.Progress[1].EstimatedCompletion != nil {
		t.Fatal("a read with no estimate shows one")
	}
}
