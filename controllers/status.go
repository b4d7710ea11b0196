package controllers

import (
	"context"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// staleRequeue is how soon an object whose status write met a newer version is reconciled again.
const staleRequeue = 250 * time.Millisecond

// patchStatus writes obj's status when it differs from before's. The write carries before's resourceVersion:
// the cache can lag behind this controller's own last write, and a status computed from a stale copy must not
// overwrite a newer one. On a conflict the object is requeued to be computed again from a fresh copy.
func patchStatus(ctx context.Context, c client.Client, before, obj client.Object, unchanged bool, result *ctrl.Result) error {
	if unchanged {
		return nil
	}
	err := c.Status().Patch(ctx, obj, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	switch {
	case err == nil, apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		result.RequeueAfter = staleRequeue
		return nil
	default:
		return err
	}
}
