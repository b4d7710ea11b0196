package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/oauth"
)

// linkRenewal is how long before its expiry the connect link in status is replaced.
const linkRenewal = 15 * time.Minute

// revocationGiveUp is how long a deleted Integration waits for a platform that fails to revoke its tokens
// before the token Secret is deleted anyway (with a warning event).
const revocationGiveUp = 10 * time.Minute

// userSecret reads the Integration's credentials Secret straight from the API server: the manager caches only
// the Secrets it owns.
func (r *IntegrationReconciler) userSecret(ctx context.Context, obj *v1alpha1.Integration) (*corev1.Secret, error) {
	s := &corev1.Secret{}
	err := r.Reader.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: obj.Spec.Auth.SecretRef.Name}, s)
	return s, err
}

// finalize runs when an Integration is being deleted: it revokes the tokens the operator keeps for it where
// the platform supports revocation, deletes its token Secret and lets the deletion finish.
func (r *IntegrationReconciler) finalize(ctx context.Context, obj *v1alpha1.Integration) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(obj, oauth.Finalizer) {
		return ctrl.Result{}, nil
	}
	log := ctrl.LoggerFrom(ctx)
	platform, _ := connectors.Lookup(obj.Spec.Platform)
	var creds map[string][]byte
	if s, err := r.userSecret(ctx, obj); err == nil {
		creds = s.Data
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	revoked, err := r.OAuth.Disconnect(ctx, log, obj, platform, creds)
	if err != nil {
		if r.now().Sub(obj.DeletionTimestamp.Time) < revocationGiveUp {
			log.Info("revocation failed; retrying", "error", err.Error())
			return ctrl.Result{RequeueAfter: 15 * time.Second}, nil
		}
		r.event(obj, corev1.EventTypeWarning, "RevocationFailed",
			fmt.Sprintf("Could not revoke the tokens at %s for %s; deleting them anyway. Revoke the app's access in the platform's admin: %v",
				obj.Spec.Platform, revocationGiveUp, err))
		if err := r.OAuth.Secrets.Delete(ctx, obj); err != nil {
			return ctrl.Result{}, err
		}
	} else if revoked {
		r.event(obj, corev1.EventTypeNormal, "TokensRevoked", fmt.Sprintf("Revoked the tokens at %s and deleted Secret %s", obj.Spec.Platform, oauth.TokenSecretName(obj)))
	} else if creds == nil && platform.OAuth != nil && platform.OAuth.Revoke != nil {
		r.event(obj, corev1.EventTypeWarning, "RevocationSkipped",
			fmt.Sprintf("Secret %q with the app's credentials is gone, so the tokens could not be revoked at %s; they were deleted. Revoke the app's access in the platform's admin.",
				obj.Spec.Auth.SecretRef.Name, obj.Spec.Platform))
	}
	patch := client.MergeFrom(obj.DeepCopy())
	controllerutil.RemoveFinalizer(obj, oauth.Finalizer)
	if err := r.Patch(ctx, obj, patch); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// ensureFinalizer adds the revocation finalizer before any token is kept for obj.
func (r *IntegrationReconciler) ensureFinalizer(ctx context.Context, obj *v1alpha1.Integration) error {
	if controllerutil.ContainsFinalizer(obj, oauth.Finalizer) {
		return nil
	}
	patch := client.MergeFrom(obj.DeepCopy())
	controllerutil.AddFinalizer(obj, oauth.Finalizer)
	// The patch returns the object with a new resourceVersion; status is patched from it later.
	return r.Patch(ctx, obj, patch)
}

// showConnectLink puts a connect link in status (renewing it before it expires) and returns when to renew it
// next. Without an OAuth endpoint the integration says how to configure one.
func (r *IntegrationReconciler) showConnectLink(obj *v1alpha1.Integration) (time.Duration, error) {
	auth := obj.Status.Authorization
	if auth == nil {
		auth = &v1alpha1.AuthorizationStatus{}
	}
	if r.OAuth == nil || r.OAuth.Server == nil {
		return 0, fmt.Errorf("the operator runs without an OAuth endpoint: start the manager with --oauth-external-url (see the README) to connect %s with OAuth", obj.Spec.Platform)
	}
	auth.RedirectURI = r.OAuth.Server.CallbackURL()
	auth.TokenSecretName = ""
	now := r.now()
	if auth.ConnectURL == "" || auth.ConnectURLExpiresAt == nil || auth.ConnectURLExpiresAt.Sub(now) < linkRenewal ||
		!r.OAuth.Server.LinkMatches(auth.ConnectURL, obj) {
		link, exp, err := r.OAuth.Server.ConnectURL(obj)
		if err != nil {
			return 0, err
		}
		auth.ConnectURL = link
		auth.ConnectURLExpiresAt = &metav1.Time{Time: exp}
	}
	obj.Status.Authorization = auth
	return auth.ConnectURLExpiresAt.Sub(now) - linkRenewal + time.Second, nil
}

// showConnected replaces the connect link with the token Secret's name once the account is connected.
func (r *IntegrationReconciler) showConnected(obj *v1alpha1.Integration) {
	auth := &v1alpha1.AuthorizationStatus{TokenSecretName: oauth.TokenSecretName(obj)}
	if r.OAuth != nil && r.OAuth.Server != nil && obj.Spec.Auth.Type == v1alpha1.AuthOAuth {
		auth.RedirectURI = r.OAuth.Server.CallbackURL()
	}
	obj.Status.Authorization = auth
}

// authorizationRequired marks obj as waiting for an admin to connect it, with the link to do so.
func (r *IntegrationReconciler) authorizationRequired(obj *v1alpha1.Integration, why string) (time.Duration, string) {
	renew, err := r.showConnectLink(obj)
	if err != nil {
		msg := err.Error()
		conditions.MarkConnected(obj, false, v1alpha1.ReasonAuthorizationRequired, msg)
		conditions.MarkStalled(obj, v1alpha1.ReasonAuthorizationRequired, msg)
		return 0, msg
	}
	msg := fmt.Sprintf("%s; open status.authorization.connectURL in a browser to connect the %s account (kubectl get integration %s -n %s -o jsonpath='{.status.authorization.connectURL}')",
		why, obj.Spec.Platform, obj.Name, obj.Namespace)
	conditions.MarkConnected(obj, false, v1alpha1.ReasonAuthorizationRequired, msg)
	conditions.MarkStalled(obj, v1alpha1.ReasonAuthorizationRequired, msg)
	obj.Status.NextSyncTime = nil
	return renew, msg
}

func (r *IntegrationReconciler) event(obj *v1alpha1.Integration, eventType, reason, message string) {
	if r.Recorder != nil {
		r.Recorder.Eventf(obj, nil, eventType, reason, "Reconcile", "%s", message)
	}
}

// mayKeepTokens reports whether the operator may keep tokens for obj: OAuth integrations, and platforms whose
// API credentials carry a refresh token. Those get the revocation finalizer.
func mayKeepTokens(obj *v1alpha1.Integration) bool {
	p, ok := connectors.Lookup(obj.Spec.Platform)
	if !ok || p.OAuth == nil {
		return false
	}
	return obj.Spec.Auth.Type == v1alpha1.AuthOAuth || p.OAuth.Seed != nil
}

func authType(obj *v1alpha1.Integration) v1alpha1.AuthType {
	if obj.Spec.Auth.Type == "" {
		return v1alpha1.AuthAPICredentials
	}
	return obj.Spec.Auth.Type
}

// secretMetadata is the metadata-only view of Secrets the manager watches to requeue integrations whose
// credentials Secret changed.
func secretMetadata() *metav1.PartialObjectMetadata {
	m := &metav1.PartialObjectMetadata{}
	m.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Secret"))
	return m
}

// requeueSecretRefs maps a changed Secret to the Integrations whose spec.auth.secretRef names it.
func (r *IntegrationReconciler) requeueSecretRefs() handler.TypedEventHandler[*metav1.PartialObjectMetadata, reconcile.Request] {
	return handler.TypedEnqueueRequestsFromMapFunc(func(ctx context.Context, o *metav1.PartialObjectMetadata) []reconcile.Request {
		return r.integrationsBy(ctx, indexSecret, o.GetNamespace(), o.GetName())
	})
}

// newSecretMetadataCache builds the metadata-only Secret cache and adds it to the manager.
func newSecretMetadataCache(mgr ctrl.Manager) (cache.Cache, error) {
	c, err := cache.New(mgr.GetConfig(), cache.Options{Scheme: mgr.GetScheme(), Mapper: mgr.GetRESTMapper(),
		ByObject: map[client.Object]cache.ByObject{secretMetadata(): {}}})
	if err != nil {
		return nil, err
	}
	return c, mgr.Add(c)
}
