package v1alpha1

// LocalObjectReference names an object in the same namespace.
type LocalObjectReference struct {
	// Name of the referent.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +required
	Name string `json:"name"`
}

// Condition types and reasons shared by the three kinds. Ready, Reconciling and Stalled follow the Kubernetes
// API conventions and kstatus, so Flux, Argo CD and kubectl wait understand them.
const (
	ConditionReady       = "Ready"
	ConditionReconciling = "Reconciling"
	ConditionStalled     = "Stalled"
	// ConditionConnected is True while the platform accepts the integration's credentials.
	ConditionConnected = "Connected"

	ReasonProgressing          = "Progressing"
	ReasonConnected            = "Connected"
	ReasonPaused               = "Paused"
	ReasonSyncing              = "Syncing"
	ReasonSyncFailed           = "SyncFailed"
	ReasonInvalidConfiguration = "InvalidConfiguration"
	ReasonInvalidFieldMapping  = "InvalidFieldMapping"
	ReasonFieldMappingNotFound = "FieldMappingNotFound"
	ReasonMappingFailed        = "MappingFailed"
	ReasonCredentialsNotFound  = "CredentialsNotFound"
	ReasonTokenRevoked         = "TokenRevoked"
	// ReasonAuthorizationRequired: an OAuth integration waits for an admin to open status.authorization.connectURL.
	ReasonAuthorizationRequired = "AuthorizationRequired"
	ReasonUnauthorized          = "Unauthorized"
	ReasonRetryTimeoutExceeded  = "RetryTimeoutExceeded"
	ReasonUnsupportedPlatform   = "UnsupportedPlatform"
	ReasonChannelNotFound       = "ChannelNotFound"
	ReasonCompiled              = "Compiled"
	ReasonReconciled            = "Reconciled"
	ReasonIntegrationsReporting = "IntegrationsReporting"
)

// ReconcileRequestAnnotation asks for an immediate sync when its value changes; the value handled last is
// echoed in status.lastHandledReconcileAt. It is the annotation `flux reconcile` sets.
const ReconcileRequestAnnotation = "reconcile.fluxcd.io/requestedAt"
