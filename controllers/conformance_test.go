package controllers

import (
	"context"
	"fmt"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/internal/conditions"
)

// statusChecker watches every Integration the suite's controllers write and holds each status against the
// API conventions and kstatus: once there are conditions Ready is among them, Reconciling and Stalled are never
// both True, observedGeneration only moves to a generation whose Ready or Stalled is True, and state is what
// the conditions say.
type statusChecker struct {
	mu         sync.Mutex
	violations []string
	seen       int
	lastGen    map[string]int64
}

func startStatusChecker(ctx context.Context, cfg *rest.Config, c client.Client) (*statusChecker, error) {
	wc, err := client.NewWithWatch(cfg, client.Options{Scheme: c.Scheme()})
	if err != nil {
		return nil, err
	}
	w, err := wc.Watch(ctx, &v1alpha1.IntegrationList{})
	if err != nil {
		return nil, err
	}
	sc := &statusChecker{lastGen: map[string]int64{}}
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type != watch.Added && ev.Type != watch.Modified {
				continue
			}
			if in, ok := ev.Object.(*v1alpha1.Integration); ok {
				sc.check(in)
			}
		}
	}()
	return sc, nil
}

func (sc *statusChecker) check(in *v1alpha1.Integration) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	sc.seen++
	key := in.Namespace + "/" + in.Name
	bad := func(format string, args ...any) {
		sc.violations = append(sc.violations, fmt.Sprintf("%s (generation %d, resourceVersion %s): ", key, in.Generation, in.ResourceVersion)+fmt.Sprintf(format, args...))
	}
	if len(in.Status.Conditions) == 0 {
		return
	}
	ready := conditions.Get(in, v1alpha1.ConditionReady)
	if ready == nil {
		bad("conditions without Ready: %+v", in.Status.Conditions)
		return
	}
	if conditions.IsTrue(in, v1alpha1.ConditionReconciling) && conditions.IsTrue(in, v1alpha1.ConditionStalled) {
		bad("Reconciling and Stalled both True")
	}
	if prev, ok := sc.lastGen[key]; in.Status.ObservedGeneration != prev || !ok {
		if in.Status.ObservedGeneration >= 0 && in.Status.ObservedGeneration != prev {
			acked := false
			for _, typ := range []string{v1alpha1.ConditionReady, v1alpha1.ConditionStalled} {
				if c := conditions.Get(in, typ); c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == in.Status.ObservedGeneration {
					acked = true
				}
			}
			if !acked {
				bad("observedGeneration moved to %d without Ready or Stalled True for it: %+v", in.Status.ObservedGeneration, in.Status.Conditions)
			}
		}
		sc.lastGen[key] = in.Status.ObservedGeneration
	}
	// The state is derived with the spec it was computed for: judge it once the controller has caught up.
	if want := conditions.State(in); ready.ObservedGeneration == in.Generation && in.Status.State != want {
		bad("state %q, but the conditions say %q", in.Status.State, want)
	}
}

func (sc *statusChecker) result() (seen int, violations []string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.seen, append([]string(nil), sc.violations...)
}
