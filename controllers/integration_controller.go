// Package controllers holds the reconcilers of the three kinds. They know Kubernetes, not wire formats: an
// Integration's sync runs in the engine's worker pool, and Reconcile only schedules it, observes it and
// reports it in status.
package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/tether/integration-operator/api/v1alpha1"
	"github.com/tether/integration-operator/connectors"
	"github.com/tether/integration-operator/internal/conditions"
	"github.com/tether/integration-operator/internal/engine"
	"github.com/tether/integration-operator/internal/mapping"
	"github.com/tether/integration-operator/internal/oauth"
	"github.com/tether/integration-operator/internal/store"
)

const (
	// maxRuns is how many recent runs status keeps.
	maxRuns = 5
	// defaultHistory is how far back a first sync reads when spec.sync.historicalData is not set.
	defaultHistory = 90 * 24 * time.Hour
	// retryBase and retryMax bound the backoff between attempts after a transient failure.
	retryBase = 15 * time.Second
	retryMax  = 5 * time.Minute

	// progressInterval is how often status shows the counters of a running sync.
	progressInterval = 10 * time.Second

	indexSecret       = "spec.auth.secretRef.name"
	indexFieldMapping = "spec.fieldMappingRef.name"
	indexChannel      = "status.channel"
)

// Run triggers recorded in status.runs.
const (
	TriggerSpec      = "Spec"
	TriggerRequested = "Requested"
	TriggerScheduled = "Scheduled"
	TriggerRetry     = "Retry"
)

// IntegrationReconciler reconciles Integrations.
type IntegrationReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Engine   *engine.Engine
	Store    store.Store
	// Workers bounds how many syncs run at once.
	Workers int
	// HTTPClient is handed to connectors.
	HTTPClient *http.Client
	// Reader reads from the API server without the cache: the user's credentials Secrets, which the manager
	// does not cache.
	Reader client.Reader
	// OAuth keeps tokens in the operator's Secrets and serves the connect flow; nil disables both (API
	// credentials with refresh tokens are then refreshed in memory).
	OAuth *oauth.Manager
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// RealtimeInterval is the polling period of Frequency Realtime (one minute when zero).
	RealtimeInterval time.Duration

	// secretMeta caches only the metadata of Secrets: enough to see a referenced Secret change, without
	// holding other Secrets' data in memory.
	secretMeta cache.Cache

	pool    *engine.Pool
	wake    chan event.GenericEvent
	ctx     context.Context
	pending sync.Map // key -> pendingRun: why the running job was started
	// blocked remembers, per integration, the inputs (generation, Secret and FieldMapping versions) under which
	// a run failed for a reason retrying cannot fix, so it is retried only when one of them changes.
	blocked sync.Map
	// revokedWhy remembers, per integration, why its OAuth grant stopped working, for the message shown
	// until it is connected again.
	revokedWhy sync.Map
}

type pendingRun struct {
	trigger   string
	requested string
	inputs    string
}

// +kubebuilder:rbac:groups=integrations.tether.io,resources=integrations,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=integrations.tether.io,resources=integrations/finalizers,verbs=update
// +kubebuilder:rbac:groups=integrations.tether.io,resources=integrations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=integrations.tether.io,resources=channels,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=integrations.tether.io,resources=fieldmappings,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *IntegrationReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Reconcile reads top to bottom: fetch, observe a finished run, check inputs, pause, schedule; one deferred
// patch writes status.
func (r *IntegrationReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, retErr error) {
	log := ctrl.LoggerFrom(ctx)
	key := req.String()

	obj := &v1alpha1.Integration{}
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		if apierrors.IsNotFound(err) {
			r.pool.Forget(key)
			r.pending.Delete(key)
			r.blocked.Delete(key)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !obj.DeletionTimestamp.IsZero() {
		r.pool.Forget(key)
		r.revokedWhy.Delete(key)
		return r.finalize(ctx, obj)
	}
	if r.OAuth != nil && mayKeepTokens(obj) && !controllerutil.ContainsFinalizer(obj, oauth.Finalizer) {
		// Before any token is kept, make sure deleting the Integration revokes it.
		if err := r.ensureFinalizer(ctx, obj); err != nil {
			if apierrors.IsConflict(err) {
				return ctrl.Result{RequeueAfter: staleRequeue}, nil
			}
			return ctrl.Result{}, err
		}
	}

	before := obj.DeepCopy()
	var taken *engine.Result
	var takenPending any
	defer func() {
		obj.Status.State = conditions.State(obj)
		if conditions.Acknowledged(obj) {
			obj.Status.ObservedGeneration = obj.Generation
		}
		unchanged := equality.Semantic.DeepEqual(before.Status, obj.Status)
		err := patchStatus(ctx, r.Client, before, obj, unchanged, &result)
		if taken != nil && (err != nil || result.RequeueAfter == staleRequeue) {
			// The run's report was not written: keep it for the next attempt.
			r.pool.Keep(key, *taken)
			if takenPending != nil {
				r.pending.Store(key, takenPending)
			}
		}
		if err != nil {
			retErr = errors.Join(retErr, err)
			return
		}
		if !unchanged && result.RequeueAfter != staleRequeue {
			r.recordTransition(before, obj)
		}
		if a := obj.Status.Authorization; a != nil && a.ConnectURLExpiresAt != nil && result.RequeueAfter != staleRequeue {
			// Renew the connect link before it expires.
			renew := max(a.ConnectURLExpiresAt.Sub(r.now())-linkRenewal+time.Second, time.Second)
			if result.RequeueAfter == 0 || renew < result.RequeueAfter {
				result.RequeueAfter = renew
			}
		}
	}()

	// A finished run is reported first, whatever happens next. Should its report not be written, it is put
	// back to be reported on the next attempt.
	if res, ok := r.pool.Take(key); ok {
		taken = &res
		takenPending, _ = r.pending.Load(key)
		r.observeRun(ctx, obj, res)
	}

	channel := obj.ChannelName()
	obj.Status.Channel = channel

	if obj.Spec.Paused {
		if running, _ := r.pool.Running(key); running {
			r.pool.Cancel(key)
			if res, ok := r.pool.Take(key); ok {
				r.observeRun(ctx, obj, res)
			}
		}
		obj.Status.NextSyncTime = nil
		conditions.MarkReady(obj, v1alpha1.ReasonPaused, "Paused: no syncs and no calls to the platform until spec.paused is false")
		return ctrl.Result{}, nil
	}

	if running, progress := r.pool.Running(key); running {
		// The pool wakes us when the run ends; until then refresh the counters now and then.
		if r.generationPending(obj) {
			conditions.MarkProgressing(obj, v1alpha1.ReasonProgressing, fmt.Sprintf("Connecting to %s and syncing this generation", obj.Spec.Platform))
		}
		r.showProgress(obj, progress)
		return ctrl.Result{RequeueAfter: progressInterval}, nil
	}

	job, inputs, err := r.prepare(ctx, obj)
	if err != nil {
		var be *blockedError
		if errors.As(err, &be) {
			if be.authorize {
				why := be.message
				if v, ok := r.revokedWhy.Load(key); ok {
					why = v.(string)
				}
				r.authorizationRequired(obj, why)
				log.V(1).Info("integration waits for an admin to connect it")
				return ctrl.Result{}, nil
			}
			be.apply(obj)
			log.V(1).Info("integration blocked", "reason", be.reason, "message", be.message)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}

	trigger, wait := r.due(obj, key, inputs)
	if trigger == "" {
		return ctrl.Result{RequeueAfter: wait}, nil
	}

	if trigger == TriggerSpec {
		conditions.MarkProgressing(obj, v1alpha1.ReasonProgressing, fmt.Sprintf("Connecting to %s and syncing this generation", obj.Spec.Platform))
		if conditions.Get(obj, v1alpha1.ConditionConnected) == nil {
			conditions.MarkConnectedUnknown(obj, v1alpha1.ReasonProgressing, "Checking the credentials")
		}
	}
	requested := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]
	r.pending.Store(key, pendingRun{trigger: trigger, requested: requested, inputs: inputs})
	r.pool.Start(r.ctx, key, func(ctx context.Context, progress func(engine.EntityResult)) engine.Result {
		job.Progress = progress
		return r.Engine.Run(ctx, job)
	})
	log.V(1).Info("sync started", "trigger", trigger)
	return ctrl.Result{}, nil
}

// generationPending reports whether the current generation has not been handled yet.
func (r *IntegrationReconciler) generationPending(obj *v1alpha1.Integration) bool {
	ready := conditions.Get(obj, v1alpha1.ConditionReady)
	return ready == nil || ready.ObservedGeneration != obj.Generation ||
		(ready.Status == metav1.ConditionTrue && ready.Reason == v1alpha1.ReasonPaused)
}

// due decides whether a sync starts now, and why; otherwise how long until the next one.
func (r *IntegrationReconciler) due(obj *v1alpha1.Integration, key, inputs string) (trigger string, wait time.Duration) {
	now := r.now()
	if r.generationPending(obj) {
		return TriggerSpec, 0
	}
	if ready := conditions.Get(obj, v1alpha1.ConditionReady); ready != nil && ready.Status == metav1.ConditionUnknown {
		// Status says a run is under way, but none runs here: the process that ran it is gone. Resume now.
		return TriggerSpec, 0
	}
	if ready := conditions.Get(obj, v1alpha1.ConditionReady); ready != nil && preflightReasons[ready.Reason] {
		// The inputs were blocked before and prepare now found them fine: the fix is in.
		return TriggerSpec, 0
	}
	if v := obj.Annotations[v1alpha1.ReconcileRequestAnnotation]; v != "" && v != obj.Status.LastHandledReconcileAt {
		return TriggerRequested, 0
	}
	if failed, ok := r.blocked.Load(key); ok {
		if failed.(string) != inputs {
			r.blocked.Delete(key)
			return TriggerSpec, 0
		}
	}
	next := r.nextSync(obj)
	if ready := conditions.Get(obj, v1alpha1.ConditionReady); ready != nil && ready.Status == metav1.ConditionFalse &&
		!conditions.IsTrue(obj, v1alpha1.ConditionStalled) {
		// A transient failure: retry with backoff from the last failed run.
		if retry := r.retryTime(obj); retry.Before(next) {
			next = retry
			if !now.Before(next) {
				return TriggerRetry, 0
			}
		}
	}
	obj.Status.NextSyncTime = &metav1.Time{Time: next.Truncate(time.Second)}
	if !now.Before(next) {
		return TriggerScheduled, 0
	}
	return "", next.Sub(now)
}

// Interval is the period between scheduled syncs.
func (r *IntegrationReconciler) Interval(obj *v1alpha1.Integration) time.Duration {
	if obj.Spec.Sync.Interval != nil && obj.Spec.Sync.Interval.Duration > 0 {
		return obj.Spec.Sync.Interval.Duration
	}
	switch obj.Spec.Sync.Frequency {
	case v1alpha1.FrequencyRealtime:
		if r.RealtimeInterval > 0 {
			return r.RealtimeInterval
		}
		return time.Minute
	case v1alpha1.FrequencyDaily:
		return 24 * time.Hour
	default:
		return time.Hour
	}
}

// nextSync is the persisted last sync time plus the interval plus a jitter fixed per object (a tenth of the
// interval at most), so a restart does not start every integration at once and the schedule is stable.
func (r *IntegrationReconciler) nextSync(obj *v1alpha1.Integration) time.Time {
	interval := r.Interval(obj)
	last := r.now()
	if obj.Status.LastSyncTime != nil {
		last = obj.Status.LastSyncTime.Time
	}
	sum := sha256.Sum256([]byte(obj.UID))
	jitter := time.Duration(binary.BigEndian.Uint64(sum[:8]) % uint64(interval/10+1))
	return last.Add(interval + jitter)
}

// retryTime is when a failed run is retried: exponential backoff on the number of consecutive failed runs.
func (r *IntegrationReconciler) retryTime(obj *v1alpha1.Integration) time.Time {
	failures := 0
	var last time.Time
	for _, run := range obj.Status.Runs {
		if run.Result != "Failed" {
			break
		}
		if failures == 0 && run.CompletionTime != nil {
			last = run.CompletionTime.Time
		}
		failures++
	}
	if failures == 0 {
		return r.now()
	}
	backoff := retryBase << min(failures-1, 8)
	if backoff > retryMax {
		backoff = retryMax
	}
	return last.Add(backoff)
}

// preflightReasons are the Ready reasons set by problems prepare finds before any call to the platform.
var preflightReasons = map[string]bool{
	v1alpha1.ReasonUnsupportedPlatform:   true,
	v1alpha1.ReasonInvalidConfiguration:  true,
	v1alpha1.ReasonChannelNotFound:       true,
	v1alpha1.ReasonFieldMappingNotFound:  true,
	v1alpha1.ReasonInvalidFieldMapping:   true,
	v1alpha1.ReasonCredentialsNotFound:   true,
	v1alpha1.ReasonAuthorizationRequired: true,
}

// blockedError is a problem with the Integration's inputs found before any call to the platform.
type blockedError struct {
	reason, message string
	// disconnected marks credentials problems; stalled marks problems only a change can fix. Neither means
	// the integration waits for a dependency to appear.
	disconnected, stalled bool
	// authorize marks an OAuth integration waiting for an admin to connect it.
	authorize bool
}

func (e *blockedError) Error() string { return e.message }

func (e *blockedError) apply(obj *v1alpha1.Integration) {
	switch {
	case e.disconnected:
		conditions.MarkConnected(obj, false, e.reason, e.message)
		conditions.MarkStalled(obj, e.reason, e.message)
	case e.stalled:
		conditions.MarkStalled(obj, e.reason, e.message)
	default:
		conditions.MarkRetrying(obj, e.reason, e.message)
	}
	obj.Status.NextSyncTime = nil
}

// prepare gathers what a run needs (connector, mapping, channel) from the Integration's inputs, and a
// fingerprint of those inputs. Problems come back as *blockedError.
func (r *IntegrationReconciler) prepare(ctx context.Context, obj *v1alpha1.Integration) (engine.Job, string, error) {
	var job engine.Job
	platform, ok := connectors.Lookup(obj.Spec.Platform)
	if !ok {
		return job, "", &blockedError{reason: v1alpha1.ReasonUnsupportedPlatform, stalled: true,
			message: fmt.Sprintf("spec.platform: no connector for %s in this operator build; available: %s", obj.Spec.Platform, platformNames())}
	}
	var unsupported []string
	for _, dt := range dataTypes(obj) {
		if !platform.Supports(dt) {
			unsupported = append(unsupported, string(dt))
		}
	}
	if len(unsupported) > 0 {
		return job, "", &blockedError{reason: v1alpha1.ReasonInvalidConfiguration, stalled: true,
			message: fmt.Sprintf("spec.sync.dataTypes: %s does not provide %s; remove them (it provides %s)",
				obj.Spec.Platform, strings.Join(unsupported, ", "), joinTypes(platform.Entities))}
	}

	// Channel: the referenced one must exist; without a reference the integration gets its own.
	channel := &v1alpha1.Channel{}
	channelKey := types.NamespacedName{Namespace: obj.Namespace, Name: obj.ChannelName()}
	if err := r.Get(ctx, channelKey, channel); err != nil {
		if !apierrors.IsNotFound(err) {
			return job, "", err
		}
		if obj.Spec.ChannelRef != nil {
			return job, "", &blockedError{reason: v1alpha1.ReasonChannelNotFound,
				message: fmt.Sprintf("spec.channelRef: Channel %q not found in namespace %s; create it or remove channelRef", channelKey.Name, obj.Namespace)}
		}
		channel = &v1alpha1.Channel{
			ObjectMeta: metav1.ObjectMeta{Name: channelKey.Name, Namespace: obj.Namespace,
				Labels: map[string]string{"integrations.tether.io/created-for": obj.Name}},
			Spec: v1alpha1.ChannelSpec{DisplayName: obj.Name, Type: "Online"},
		}
		if err := r.Create(ctx, channel); err != nil && !apierrors.IsAlreadyExists(err) {
			return job, "", fmt.Errorf("create channel %s: %w", channelKey, err)
		}
	}
	displayName := channel.Spec.DisplayName
	if displayName == "" {
		displayName = channel.Name
	}
	if err := r.Store.EnsureChannel(ctx, channelKey.String(), displayName); err != nil {
		return job, "", fmt.Errorf("store channel %s: %w", channelKey, err)
	}

	// Field mapping: the connector's defaults, overridden by the referenced FieldMapping.
	var overrides []v1alpha1.EntityMapping
	mappingVersion := ""
	if ref := obj.Spec.FieldMappingRef; ref != nil {
		fm := &v1alpha1.FieldMapping{}
		if err := r.Get(ctx, types.NamespacedName{Namespace: obj.Namespace, Name: ref.Name}, fm); err != nil {
			if apierrors.IsNotFound(err) {
				return job, "", &blockedError{reason: v1alpha1.ReasonFieldMappingNotFound,
					message: fmt.Sprintf("spec.fieldMappingRef: FieldMapping %q not found in namespace %s", ref.Name, obj.Namespace)}
			}
			return job, "", err
		}
		if fm.Spec.Platform != "" && fm.Spec.Platform != obj.Spec.Platform {
			return job, "", &blockedError{reason: v1alpha1.ReasonInvalidFieldMapping, stalled: true,
				message: fmt.Sprintf("spec.fieldMappingRef: FieldMapping %q is for platform %s, not %s", ref.Name, fm.Spec.Platform, obj.Spec.Platform)}
		}
		overrides = fm.Spec.Entities
		mappingVersion = fmt.Sprintf("%s@%d", fm.UID, fm.Generation)
	}
	m, err := mapping.Compile(platform.DefaultMapping, overrides)
	if err != nil {
		return job, "", &blockedError{reason: v1alpha1.ReasonInvalidFieldMapping, stalled: true,
			message: fmt.Sprintf("field mapping does not compile, nothing was synced: %v", err)}
	}

	// Credentials: the user's Secret, read only, straight from the API server.
	secretName := obj.Spec.Auth.SecretRef.Name
	secret, err := r.userSecret(ctx, obj)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return job, "", &blockedError{reason: v1alpha1.ReasonCredentialsNotFound, disconnected: true,
				message: fmt.Sprintf("spec.auth.secretRef: Secret %q not found in namespace %s", secretName, obj.Namespace)}
		}
		return job, "", err
	}
	keys := platform.CredentialKeys
	if obj.Spec.Auth.Type == v1alpha1.AuthOAuth && platform.OAuth != nil {
		keys = platform.OAuth.AppKeys
	}
	if missing := oauth.MissingKeys(secret.Data, keys); len(missing) > 0 {
		msg := fmt.Sprintf("spec.auth.secretRef: Secret %q has no %s; add the key(s) %s needs for auth type %s",
			secretName, strings.Join(missing, ", "), obj.Spec.Platform, authType(obj))
		if obj.Spec.Auth.Type == v1alpha1.AuthOAuth && platform.OAuth != nil && platform.OAuth.Seed != nil {
			if _, ok := platform.OAuth.Seed(secret.Data); ok {
				msg += ", or set spec.auth.type to APICredentials to use the refresh token the Secret holds"
			}
		}
		return job, "", &blockedError{reason: v1alpha1.ReasonCredentialsNotFound, disconnected: true, message: msg}
	}

	var tokens connectors.Tokens
	tokenVersion := ""
	if r.OAuth != nil && oauth.Kept(obj, platform, secret.Data) {
		tokens, tokenVersion, err = r.OAuth.Tokens(ctx, ctrl.LoggerFrom(ctx), obj, platform, secret.Data)
		switch {
		case errors.Is(err, oauth.ErrAuthorizationRequired):
			return job, "", &blockedError{reason: v1alpha1.ReasonAuthorizationRequired, authorize: true,
				message: fmt.Sprintf("The %s account is not connected yet", obj.Spec.Platform)}
		case errors.Is(err, oauth.ErrNotOwned):
			return job, "", &blockedError{reason: v1alpha1.ReasonInvalidConfiguration, stalled: true, message: err.Error()}
		case err != nil:
			return job, "", err
		}
		r.showConnected(obj)
	} else {
		obj.Status.Authorization = nil
	}

	conn, err := platform.New(connectors.Config{
		Connection:  obj.ConnectionOrEmpty(),
		Credentials: secret.Data,
		Tokens:      tokens,
		HTTPClient:  r.HTTPClient,
		Log:         ctrl.LoggerFrom(ctx).WithName(string(obj.Spec.Platform)),
	})
	if err != nil {
		if class, reason := connectors.Classify(err); class == connectors.ClassAuth {
			return job, "", &blockedError{reason: reason, disconnected: true, message: err.Error()}
		}
		return job, "", &blockedError{reason: v1alpha1.ReasonInvalidConfiguration, stalled: true, message: err.Error()}
	}

	job = engine.Job{
		Integration:  client.ObjectKeyFromObject(obj).String(),
		Channel:      channelKey.String(),
		Connector:    conn,
		Mapping:      m,
		Entities:     orderEntities(dataTypes(obj)),
		HistoryStart: r.historyStart(obj, platform),
		Overlap:      5 * time.Minute,
	}
	if obj.Spec.Sync.OverlapWindow != nil {
		job.Overlap = obj.Spec.Sync.OverlapWindow.Duration
	}
	if obj.Spec.Deduplication != nil {
		job.SKUKey = obj.Spec.Deduplication.SKUKey
	}
	inputs := fmt.Sprintf("%d/%s/%s/%s", obj.Generation, secret.ResourceVersion, mappingVersion, tokenVersion)
	return job, inputs, nil
}

// historyStart is how far back a first sync reads: spec.sync.historicalData, shortened to what the platform
// keeps. Status says when it was shortened.
func (r *IntegrationReconciler) historyStart(obj *v1alpha1.Integration, platform connectors.Platform) time.Time {
	h := obj.Spec.Sync.HistoricalData
	start := obj.CreationTimestamp.Add(-defaultHistory)
	switch {
	case h != nil && h.Since != nil:
		start = h.Since.Time
	case h != nil && h.Duration != nil:
		start = obj.CreationTimestamp.Add(-h.Duration.Duration)
	}
	st := &v1alpha1.HistoricalDataStatus{}
	if platform.MaxHistory > 0 {
		// The platform's window moves with the clock; a margin keeps the request inside it.
		earliest := r.now().Add(-platform.MaxHistory).Add(time.Hour)
		if start.Before(earliest) {
			st.LimitedBy = fmt.Sprintf("%s serves at most %s of history; spec.sync.historicalData asked for data from %s",
				platform.Name, humanDuration(platform.MaxHistory), start.UTC().Format(time.RFC3339))
			start = earliest
		}
	}
	st.Start = metav1.Time{Time: start.UTC().Truncate(time.Second)}
	if cur := obj.Status.HistoricalData; cur == nil || cur.LimitedBy != st.LimitedBy || (st.LimitedBy == "" && !cur.Start.Equal(&st.Start)) {
		obj.Status.HistoricalData = st
	}
	return start
}

// humanDuration prints whole days as days.
func humanDuration(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	}
	return d.String()
}

func dataTypes(obj *v1alpha1.Integration) []v1alpha1.DataType {
	if len(obj.Spec.Sync.DataTypes) > 0 {
		return obj.Spec.Sync.DataTypes
	}
	return []v1alpha1.DataType{v1alpha1.DataOrders, v1alpha1.DataProducts, v1alpha1.DataLocations, v1alpha1.DataInventory}
}

// orderEntities puts data types in dependency order: warehouses and SKUs before the stock and orders that
// refer to them.
func orderEntities(in []v1alpha1.DataType) []v1alpha1.DataType {
	rank := map[v1alpha1.DataType]int{v1alpha1.DataLocations: 0, v1alpha1.DataProducts: 1, v1alpha1.DataInventory: 2,
		v1alpha1.DataOrders: 3, v1alpha1.DataPurchaseOrders: 4}
	out := append([]v1alpha1.DataType(nil), in...)
	sort.SliceStable(out, func(i, j int) bool { return rank[out[i]] < rank[out[j]] })
	return out
}

func platformNames() string {
	var names []string
	for _, p := range connectors.Platforms() {
		names = append(names, string(p.Name))
	}
	return strings.Join(names, ", ")
}

func joinTypes(ts []v1alpha1.DataType) string {
	s := make([]string, len(ts))
	for i, t := range ts {
		s[i] = string(t)
	}
	return strings.Join(s, ", ")
}

// observeRun records a finished run in status and sets the conditions its outcome calls for.
func (r *IntegrationReconciler) observeRun(ctx context.Context, obj *v1alpha1.Integration, res engine.Result) {
	key := client.ObjectKeyFromObject(obj).String()
	pr := pendingRun{trigger: TriggerScheduled}
	if v, ok := r.pending.LoadAndDelete(key); ok {
		pr = v.(pendingRun)
	}
	if pr.requested != "" {
		obj.Status.LastHandledReconcileAt = pr.requested
	}
	read, written, skipped := res.Totals()
	run := v1alpha1.SyncRun{
		StartTime: metav1.Time{Time: res.Start.Truncate(time.Second)}, Trigger: pr.trigger,
		Read: read, Written: written, Skipped: skipped, Result: "Succeeded",
	}
	if !res.End.IsZero() {
		run.CompletionTime = &metav1.Time{Time: res.End.Truncate(time.Second)}
	}
	r.showProgress(obj, res.Entities)

	switch {
	case res.Err == nil:
		r.revokedWhy.Delete(key)
		obj.Status.LastSyncTime = run.CompletionTime
		conditions.MarkConnected(obj, true, v1alpha1.ReasonConnected, fmt.Sprintf("%s accepted the credentials", obj.Spec.Platform))
		conditions.MarkReady(obj, v1alpha1.ReasonConnected, fmt.Sprintf("Synced %d records (%d written, %d unchanged)", read, written, skipped))
		r.blocked.Delete(key)
	case errors.Is(res.Err, context.Canceled):
		run.Result = "Cancelled"
		run.Message = "cancelled (paused or stopped); the next run resumes from the last saved page"
	default:
		run.Result = "Failed"
		run.Message = res.Err.Error()
		class, reason := connectors.Classify(res.Err)
		switch class {
		case connectors.ClassAuth:
			if obj.Spec.Auth.Type == v1alpha1.AuthOAuth && r.OAuth != nil &&
				(reason == v1alpha1.ReasonTokenRevoked || reason == v1alpha1.ReasonAuthorizationRequired) {
				// The grant is dead (revoked, expired, or rotated away): drop it and ask for a new connection.
				why := fmt.Sprintf("%s no longer accepts the connection (%s)", obj.Spec.Platform, res.Err)
				r.revokedWhy.Store(key, why)
				if err := r.OAuth.Secrets.Delete(ctx, obj); err != nil {
					ctrl.LoggerFrom(ctx).Error(err, "delete the token Secret of a revoked grant")
				}
				r.OAuth.Keepers.Forget(obj.UID)
				r.authorizationRequired(obj, why)
				break
			}
			conditions.MarkConnected(obj, false, reason, res.Err.Error())
			conditions.MarkStalled(obj, reason, fmt.Sprintf("%s rejected the credentials in Secret %q; update the Secret: %v",
				obj.Spec.Platform, obj.Spec.Auth.SecretRef.Name, res.Err))
			r.blocked.Store(key, pr.inputs)
		case connectors.ClassTerminal:
			conditions.MarkStalled(obj, reason, res.Err.Error())
			r.blocked.Store(key, pr.inputs)
		default:
			if len(res.Entities) > 0 {
				// The run got past the connection check, so the credentials work.
				conditions.MarkConnected(obj, true, v1alpha1.ReasonConnected, fmt.Sprintf("%s accepted the credentials", obj.Spec.Platform))
			}
			since := r.now()
			if ready := conditions.Get(obj, v1alpha1.ConditionReady); ready != nil && ready.Status == metav1.ConditionFalse &&
				ready.Reason == v1alpha1.ReasonSyncFailed {
				since = ready.LastTransitionTime.Time
			}
			timeout := 10 * time.Minute
			if obj.Spec.Timeout != nil {
				timeout = obj.Spec.Timeout.Duration
			}
			if r.now().Sub(since) >= timeout {
				conditions.MarkStalled(obj, v1alpha1.ReasonRetryTimeoutExceeded,
					fmt.Sprintf("sync has failed for longer than spec.timeout (%s); retrying at the scheduled interval: %v", timeout, res.Err))
			} else {
				conditions.MarkRetrying(obj, v1alpha1.ReasonSyncFailed, fmt.Sprintf("Sync failed, retrying: %v", res.Err))
			}
		}
		log := ctrl.LoggerFrom(ctx)
		log.Info("sync failed", "error", res.Err.Error())
	}
	obj.Status.Runs = append([]v1alpha1.SyncRun{run}, obj.Status.Runs...)
	if len(obj.Status.Runs) > maxRuns {
		obj.Status.Runs = obj.Status.Runs[:maxRuns]
	}
}

// showProgress copies per-entity counters into status.
func (r *IntegrationReconciler) showProgress(obj *v1alpha1.Integration, entities []engine.EntityResult) {
	for _, er := range entities {
		p := v1alpha1.EntityProgress{Entity: er.Entity, Read: er.Read, Written: er.Written, Skipped: er.Skipped,
			Resumable: er.Resumable, Total: er.Total}
		if er.Remaining > 0 {
			p.EstimatedCompletion = &metav1.Time{Time: r.now().Add(er.Remaining).Truncate(time.Minute)}
		}
		if !er.Cursor.IsZero() {
			p.Cursor = &metav1.Time{Time: er.Cursor.Truncate(time.Second)}
		}
		found := false
		for i := range obj.Status.Progress {
			if obj.Status.Progress[i].Entity == er.Entity {
				if p.Total == 0 {
					p.Total = obj.Status.Progress[i].Total
				}
				obj.Status.Progress[i] = p
				found = true
			}
		}
		if !found {
			obj.Status.Progress = append(obj.Status.Progress, p)
		}
	}
}

// recordTransition emits an event when the state changes.
func (r *IntegrationReconciler) recordTransition(before, after *v1alpha1.Integration) {
	if r.Recorder == nil || before.Status.State == after.Status.State {
		return
	}
	eventType := corev1.EventTypeNormal
	if after.Status.State == v1alpha1.StateError || after.Status.State == v1alpha1.StateDisconnected {
		eventType = corev1.EventTypeWarning
	}
	reason, message := string(after.Status.State), ""
	if ready := conditions.Get(after, v1alpha1.ConditionReady); ready != nil {
		reason, message = ready.Reason, ready.Message
	}
	from := before.Status.State
	if from == "" {
		from = v1alpha1.StatePending
	}
	r.Recorder.Eventf(after, nil, eventType, reason, "Reconcile", "%s -> %s: %s", from, after.Status.State, message)
}

// SetupWithManager registers the reconciler, its indexes and its watches.
func (r *IntegrationReconciler) SetupWithManager(ctx context.Context, mgr ctrl.Manager) error {
	r.ctx = ctx
	r.wake = make(chan event.GenericEvent, 1024)
	if r.Reader == nil {
		r.Reader = mgr.GetAPIReader()
	}
	meta, err := newSecretMetadataCache(mgr)
	if err != nil {
		return err
	}
	r.secretMeta = meta
	r.pool = engine.NewPool(r.Workers, func(key string) {
		ns, name, _ := strings.Cut(key, "/")
		obj := &v1alpha1.Integration{}
		obj.Namespace, obj.Name = ns, name
		r.wake <- event.GenericEvent{Object: obj}
	})
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &v1alpha1.Integration{}, indexSecret, func(o client.Object) []string {
		return []string{o.(*v1alpha1.Integration).Spec.Auth.SecretRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.Integration{}, indexFieldMapping, func(o client.Object) []string {
		if ref := o.(*v1alpha1.Integration).Spec.FieldMappingRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &v1alpha1.Integration{}, indexChannel, func(o client.Object) []string {
		return []string{o.(*v1alpha1.Integration).ChannelName()}
	}); err != nil {
		return err
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.Integration{}, builder.WithPredicates(predicate.Or(
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestForOwner(mgr.GetScheme(), mgr.GetRESTMapper(), &v1alpha1.Integration{}, handler.OnlyControllerOwner()),
			builder.WithPredicates(predicate.ResourceVersionChangedPredicate{})).
		WatchesRawSource(source.Kind(r.secretMeta, secretMetadata(), r.requeueSecretRefs(), predicate.TypedResourceVersionChangedPredicate[*metav1.PartialObjectMetadata]{})).
		Watches(&v1alpha1.FieldMapping{}, r.requeueBy(indexFieldMapping), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&v1alpha1.Channel{}, r.requeueBy(indexChannel), builder.WithPredicates(predicate.Funcs{
			UpdateFunc: func(event.UpdateEvent) bool { return false },
		})).
		WatchesRawSource(source.Channel(r.wake, &handler.EnqueueRequestForObject{})).
		Named("integration").
		Complete(r)
}

// requeueBy maps an object to the Integrations that refer to it through the index.
func (r *IntegrationReconciler) requeueBy(index string) handler.EventHandler {
	return handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []ctrl.Request {
		return r.integrationsBy(ctx, index, o.GetNamespace(), o.GetName())
	})
}

// integrationsBy lists the Integrations in namespace whose index value is name.
func (r *IntegrationReconciler) integrationsBy(ctx context.Context, index, namespace, name string) []ctrl.Request {
	list := &v1alpha1.IntegrationList{}
	if err := r.List(ctx, list, client.InNamespace(namespace), client.MatchingFields{index: name}); err != nil {
		logr.FromContextOrDiscard(ctx).Error(err, "list integrations", "index", index)
		return nil
	}
	reqs := make([]ctrl.Request, 0, len(list.Items))
	for _, it := range list.Items {
		reqs = append(reqs, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(&it)})
	}
	return reqs
}
