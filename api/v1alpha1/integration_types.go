package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Platform is the external system an Integration connects to.
// +kubebuilder:validation:Enum=Shopify;WooCommerce;BigCommerce;Magento;Amazon;eBay;Walmart;Etsy;NetSuite;QuickBooks;SAP;Xero;ShipBob;Flexport;Custom
type Platform string

const (
	PlatformShopify     Platform = "Shopify"
	PlatformWooCommerce Platform = "WooCommerce"
	PlatformBigCommerce Platform = "BigCommerce"
	PlatformMagento     Platform = "Magento"
	PlatformAmazon      Platform = "Amazon"
	PlatformEBay        Platform = "eBay"
	PlatformWalmart     Platform = "Walmart"
	PlatformEtsy        Platform = "Etsy"
	PlatformNetSuite    Platform = "NetSuite"
	PlatformQuickBooks  Platform = "QuickBooks"
	PlatformSAP         Platform = "SAP"
	PlatformXero        Platform = "Xero"
	PlatformShipBob     Platform = "ShipBob"
	PlatformFlexport    Platform = "Flexport"
	PlatformCustom      Platform = "Custom"
)

// AllPlatforms lists every platform in the order the enum declares them.
var AllPlatforms = []Platform{PlatformShopify, PlatformWooCommerce, PlatformBigCommerce, PlatformMagento,
	PlatformAmazon, PlatformEBay, PlatformWalmart, PlatformEtsy, PlatformNetSuite, PlatformQuickBooks, PlatformSAP,
	PlatformXero, PlatformShipBob, PlatformFlexport, PlatformCustom}

// DataType is a kind of data an Integration syncs.
// +kubebuilder:validation:Enum=Orders;Products;Locations;Inventory;PurchaseOrders
type DataType string

const (
	DataOrders         DataType = "Orders"
	DataProducts       DataType = "Products"
	DataLocations      DataType = "Locations"
	DataInventory      DataType = "Inventory"
	DataPurchaseOrders DataType = "PurchaseOrders"
)

// AuthType is how the operator authenticates to the platform.
// +kubebuilder:validation:Enum=OAuth;APICredentials
type AuthType string

const (
	AuthOAuth          AuthType = "OAuth"
	AuthAPICredentials AuthType = "APICredentials"
)

// Direction says which way data flows.
// +kubebuilder:validation:Enum=OneWay;Bidirectional
type Direction string

const (
	DirectionOneWay        Direction = "OneWay"
	DirectionBidirectional Direction = "Bidirectional"
)

// Frequency is how often the integration syncs.
// +kubebuilder:validation:Enum=Realtime;Hourly;Daily
type Frequency string

const (
	FrequencyRealtime Frequency = "Realtime"
	FrequencyHourly   Frequency = "Hourly"
	FrequencyDaily    Frequency = "Daily"
)

// SKUKey is the identity SKUs are deduplicated by.
// +kubebuilder:validation:Enum=ExternalID;Code
type SKUKey string

const (
	SKUKeyExternalID SKUKey = "ExternalID"
	SKUKeyCode       SKUKey = "Code"
)

// State is the one-word summary of an Integration, derived from its conditions.
// +kubebuilder:validation:Enum=Pending;Connected;Paused;Error;Disconnected
type State string

const (
	StatePending      State = "Pending"
	StateConnected    State = "Connected"
	StatePaused       State = "Paused"
	StateError        State = "Error"
	StateDisconnected State = "Disconnected"
)

// Connection holds the platform-specific address of the account. Which fields a platform requires is checked
// by the API server.
type Connection struct {
	// ShopDomain is the Shopify store's permanent domain, for example `acme.myshopify.com`. Required for Shopify.
	// +kubebuilder:validation:Pattern=`^[a-z0-9][a-z0-9-]*\.myshopify\.com$`
	// +kubebuilder:validation:MaxLength=255
	// +optional
	ShopDomain string `json:"shopDomain,omitempty"`
	// StoreURL is the store's base URL, for example `https://shop.example.com`. Required for WooCommerce and
	// Magento.
	// +kubebuilder:validation:Pattern=`^https?://[^\s/]+(/[^\s]*)?$`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	StoreURL string `json:"storeURL,omitempty"`
	// StoreHash is the BigCommerce store hash (the part after /stores/ in the API path). Required for
	// BigCommerce.
	// +kubebuilder:validation:Pattern=`^[a-z0-9]{1,32}$`
	// +optional
	StoreHash string `json:"storeHash,omitempty"`
	// Region is the Amazon SP-API selling region. Required for Amazon.
	// +kubebuilder:validation:Enum=NA;EU;FE
	// +optional
	Region string `json:"region,omitempty"`
	// MarketplaceIDs are the Amazon marketplaces to read, for example `ATVPDKIKX0DER`. Required for Amazon.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:Pattern=`^[A-Z0-9]{10,14}$`
	// +listType=set
	// +optional
	MarketplaceIDs []string `json:"marketplaceIDs,omitempty"`
	// RealmID is the QuickBooks company ID. Required for QuickBooks with API credentials; with OAuth the
	// connect flow reports it, and when set here the connected company must be this one.
	// +kubebuilder:validation:Pattern=`^[0-9]{1,32}$`
	// +optional
	RealmID string `json:"realmID,omitempty"`
	// TenantID is the Xero organisation's tenant ID. Required for Xero with API credentials; with OAuth the
	// connect flow finds it, and when set here the connected organisation must be this one.
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F-]{36}$`
	// +optional
	TenantID string `json:"tenantID,omitempty"`
	// AccountID is the NetSuite account ID, for example `1234567` or `1234567_SB1`. Required for NetSuite.
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_-]{1,64}$`
	// +optional
	AccountID string `json:"accountID,omitempty"`
	// APIVersion pins the platform API version where the platform versions its API (Shopify: `2025-01`).
	// The connector's tested version is used when empty.
	// +kubebuilder:validation:Pattern=`^[0-9A-Za-z.-]{1,32}$`
	// +optional
	APIVersion string `json:"apiVersion,omitempty"`
	// Endpoint overrides the platform's API base URL: for a proxy, a regional host, or a sandbox.
	// +kubebuilder:validation:Pattern=`^https?://[^\s/]+(/[^\s]*)?$`
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Endpoint string `json:"endpoint,omitempty"`
}

// Auth says how to authenticate and where the credentials are.
type Auth struct {
	// Type is OAuth (an admin connects the account in the browser) or APICredentials (keys from the
	// platform's admin, in a Secret).
	// +kubebuilder:default=APICredentials
	// +optional
	Type AuthType `json:"type,omitempty"`
	// SecretRef names a Secret in the Integration's namespace with the platform's credentials (see each
	// connector's page for the keys). The operator only reads it.
	// +required
	SecretRef LocalObjectReference `json:"secretRef"`
}

// HistoricalData is how far back the first sync reads: a fixed start time or a duration before now.
// +kubebuilder:validation:XValidation:rule="has(self.since) != has(self.duration)",message="set exactly one of since (a start time) or duration (how far back)"
type HistoricalData struct {
	// Since is the start time, RFC 3339, for example `2024-01-01T00:00:00Z`.
	// +kubebuilder:validation:Format=date-time
	// +optional
	Since *metav1.Time `json:"since,omitempty"`
	// Duration is how far back from the first sync, for example `8760h` for a year. At most ten years.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('87600h')",message="duration must be between 1h and 87600h (ten years)"
	// +optional
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// SyncSpec says what to sync, which way and how often.
type SyncSpec struct {
	// Direction is OneWay (platform to Tether) or Bidirectional.
	// +kubebuilder:default=OneWay
	// +optional
	Direction Direction `json:"direction,omitempty"`
	// Frequency is Realtime, Hourly or Daily. Realtime polls every minute until webhooks are enabled.
	// +kubebuilder:default=Hourly
	// +optional
	Frequency Frequency `json:"frequency,omitempty"`
	// Interval overrides the period the frequency implies; between 1m and 168h.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('168h')",message="interval must be between 1m and 168h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`
	// HistoricalData is how far back the first sync reads. Without it the first sync reads 90 days.
	// +optional
	HistoricalData *HistoricalData `json:"historicalData,omitempty"`
	// DataTypes are the data to sync.
	// +kubebuilder:default={Orders,Products,Locations,Inventory}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=5
	// +listType=set
	// +optional
	DataTypes []DataType `json:"dataTypes,omitempty"`
	// OverlapWindow is how far before the saved cursor each incremental run starts reading, to catch records
	// the platform wrote late. Between 0s and 24h.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('24h')",message="overlapWindow must be at most 24h"
	// +optional
	OverlapWindow *metav1.Duration `json:"overlapWindow,omitempty"`
}

// Deduplication says how records are matched so each is stored once.
type Deduplication struct {
	// SKUKey is ExternalID (the platform's variant ID, the default) or Code (the merchant's SKU code, for stores
	// that delete and recreate variants under the same code).
	// +kubebuilder:default=ExternalID
	// +optional
	SKUKey SKUKey `json:"skuKey,omitempty"`
}

// IntegrationSpec declares one connection to one external account.
// +kubebuilder:validation:XValidation:rule="self.platform != 'Shopify' || (has(self.connection) && has(self.connection.shopDomain))",message="connection.shopDomain is required for platform Shopify (for example acme.myshopify.com)",fieldPath=".connection.shopDomain"
// +kubebuilder:validation:XValidation:rule="!(self.platform in ['WooCommerce', 'Magento']) || (has(self.connection) && has(self.connection.storeURL))",message="connection.storeURL is required for platforms WooCommerce and Magento",fieldPath=".connection.storeURL"
// +kubebuilder:validation:XValidation:rule="self.platform != 'BigCommerce' || (has(self.connection) && has(self.connection.storeHash))",message="connection.storeHash is required for platform BigCommerce",fieldPath=".connection.storeHash"
// +kubebuilder:validation:XValidation:rule="self.platform != 'Amazon' || (has(self.connection) && has(self.connection.region) && has(self.connection.marketplaceIDs) && size(self.connection.marketplaceIDs) > 0)",message="connection.region and connection.marketplaceIDs are required for platform Amazon",fieldPath=".connection"
// +kubebuilder:validation:XValidation:rule="self.platform != 'QuickBooks' || self.auth.type == 'OAuth' || (has(self.connection) && has(self.connection.realmID))",message="connection.realmID is required for platform QuickBooks with API credentials (with OAuth it comes from the connect flow)",fieldPath=".connection.realmID"
// +kubebuilder:validation:XValidation:rule="self.platform != 'Xero' || self.auth.type == 'OAuth' || (has(self.connection) && has(self.connection.tenantID))",message="connection.tenantID is required for platform Xero with API credentials (with OAuth it comes from the connect flow)",fieldPath=".connection.tenantID"
// +kubebuilder:validation:XValidation:rule="self.platform != 'NetSuite' || (has(self.connection) && has(self.connection.accountID))",message="connection.accountID is required for platform NetSuite",fieldPath=".connection.accountID"
// +kubebuilder:validation:XValidation:rule="self.auth.type != 'OAuth' || self.platform in ['Shopify', 'BigCommerce', 'Amazon', 'eBay', 'Etsy', 'QuickBooks', 'Xero', 'NetSuite', 'ShipBob']",message="auth.type OAuth is for platforms that connect in the browser (Shopify, BigCommerce, Amazon, eBay, Etsy, QuickBooks, Xero, NetSuite, ShipBob); use APICredentials for this platform",fieldPath=".auth.type"
// +kubebuilder:validation:XValidation:rule="self.platform != 'Custom' || (has(self.connection) && has(self.connection.endpoint))",message="connection.endpoint is required for platform Custom",fieldPath=".connection.endpoint"
type IntegrationSpec struct {
	// Platform is the external system. It cannot change: create a new Integration to connect another platform.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="platform is immutable: create a new Integration to connect another platform"
	// +required
	Platform Platform `json:"platform"`
	// Paused stops all syncing and all calls to the platform; unpausing resumes from the saved cursor.
	// +optional
	Paused bool `json:"paused,omitempty"`
	// ChannelRef names the Channel this integration's orders land in. When empty, the operator creates a
	// Channel named after the integration.
	// +optional
	ChannelRef *LocalObjectReference `json:"channelRef,omitempty"`
	// FieldMappingRef names a FieldMapping whose rules override the connector's default mapping.
	// +optional
	FieldMappingRef *LocalObjectReference `json:"fieldMappingRef,omitempty"`
	// Connection is the platform-specific address of the account.
	// +optional
	Connection *Connection `json:"connection,omitempty"`
	// Auth says how to authenticate and where the credentials are.
	// +required
	Auth Auth `json:"auth"`
	// Sync says what to sync, which way and how often.
	// +kubebuilder:default={}
	// +optional
	Sync SyncSpec `json:"sync,omitempty"`
	// Deduplication says how records are matched so each is stored once.
	// +optional
	Deduplication *Deduplication `json:"deduplication,omitempty"`
	// Timeout is how long transient failures (rate limits, platform outages) are retried before the
	// integration is marked Stalled. Between 30s and 24h.
	// +kubebuilder:default="10m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('30s') && duration(self) <= duration('24h')",message="timeout must be between 30s and 24h"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// EntityProgress is the sync position and counters of one data type.
type EntityProgress struct {
	// Entity is the data type.
	Entity DataType `json:"entity"`
	// Cursor is the platform modification time up to which every record is stored; the next run reads from
	// it minus the overlap window.
	// +optional
	Cursor *metav1.Time `json:"cursor,omitempty"`
	// Resumable is true when an interrupted run left a position to resume from.
	// +optional
	Resumable bool `json:"resumable,omitempty"`
	// Read is the number of records read in the last run.
	Read int64 `json:"read"`
	// Written is the number of records created or changed in the store in the last run.
	Written int64 `json:"written"`
	// Skipped is the number of records read that were already stored unchanged.
	Skipped int64 `json:"skipped"`
	// Total is the number of this integration's records of this type in the store.
	Total int64 `json:"total"`
	// EstimatedCompletion is when a running read expects to finish, where the platform's rate limits make it
	// slow enough to matter.
	// +optional
	EstimatedCompletion *metav1.Time `json:"estimatedCompletion,omitempty"`
}

// HistoricalDataStatus says how far back the first sync reads.
type HistoricalDataStatus struct {
	// Start is the earliest modification time the first sync reads.
	Start metav1.Time `json:"start"`
	// LimitedBy says why Start is later than spec.sync.historicalData asked for: the platform keeps or serves
	// less history.
	// +optional
	LimitedBy string `json:"limitedBy,omitempty"`
}

// SyncRun summarises one sync run.
type SyncRun struct {
	// StartTime is when the run started.
	StartTime metav1.Time `json:"startTime"`
	// CompletionTime is when it ended.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// Result is Succeeded, Failed or Cancelled.
	// +kubebuilder:validation:Enum=Succeeded;Failed;Cancelled
	Result string `json:"result"`
	// Trigger is Scheduled, Requested (the reconcile annotation) or Spec (a spec change).
	// +optional
	Trigger string `json:"trigger,omitempty"`
	// Read, Written and Skipped count records across the run's data types.
	Read    int64 `json:"read"`
	Written int64 `json:"written"`
	Skipped int64 `json:"skipped"`
	// Message says why a run failed.
	// +optional
	Message string `json:"message,omitempty"`
}

// AuthorizationStatus is where an integration's OAuth connection stands. No token appears here: tokens live
// in the Secret named by TokenSecretName.
type AuthorizationStatus struct {
	// ConnectURL is the link an admin opens in a browser to connect the account (log in at the platform and
	// authorize Tether). It is set while the integration waits for that, and is signed for this Integration
	// and generation; it expires at ConnectURLExpiresAt and is renewed before then.
	// +optional
	ConnectURL string `json:"connectURL,omitempty"`
	// ConnectURLExpiresAt is when ConnectURL stops working.
	// +optional
	ConnectURLExpiresAt *metav1.Time `json:"connectURLExpiresAt,omitempty"`
	// RedirectURI is the operator's callback URL: register it with the app at the platform.
	// +optional
	RedirectURI string `json:"redirectURI,omitempty"`
	// TokenSecretName is the Secret, owned by the operator in the Integration's namespace, that holds the
	// account's tokens.
	// +optional
	TokenSecretName string `json:"tokenSecretName,omitempty"`
}

// IntegrationStatus is what the operator observed.
type IntegrationStatus struct {
	// ObservedGeneration is the last generation the operator fully handled: acknowledged only when Ready or
	// Stalled is True for it.
	// +kubebuilder:default=-1
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// Conditions: Ready, Reconciling, Stalled and Connected.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// State is Pending, Connected, Paused, Error or Disconnected, derived from the conditions.
	// +optional
	State State `json:"state,omitempty"`
	// Channel is the Channel the integration's orders land in.
	// +optional
	Channel string `json:"channel,omitempty"`
	// LastHandledReconcileAt is the last reconcile.fluxcd.io/requestedAt value handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`
	// LastSyncTime is when the last successful sync finished.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// NextSyncTime is when the next scheduled sync starts.
	// +optional
	NextSyncTime *metav1.Time `json:"nextSyncTime,omitempty"`
	// HistoricalData is how far back the first sync reads, and why if the platform shortened it.
	// +optional
	HistoricalData *HistoricalDataStatus `json:"historicalData,omitempty"`
	// Progress is the sync position and counters per data type.
	// +listType=map
	// +listMapKey=entity
	// +optional
	Progress []EntityProgress `json:"progress,omitempty"`
	// Authorization is where the OAuth connection stands, for integrations whose tokens the operator keeps.
	// +optional
	Authorization *AuthorizationStatus `json:"authorization,omitempty"`
	// Runs are the most recent sync runs, newest first (at most five).
	// +kubebuilder:validation:MaxItems=5
	// +optional
	Runs []SyncRun `json:"runs,omitempty"`
}

// Integration is one connection to one external account, reconciled by the operator into synced data.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=intg,categories=tether
// +kubebuilder:printcolumn:name="Platform",type=string,JSONPath=`.spec.platform`
// +kubebuilder:printcolumn:name="Channel",type=string,JSONPath=`.status.channel`
// +kubebuilder:printcolumn:name="State",type=string,JSONPath=`.status.state`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Last Sync",type=date,JSONPath=`.status.lastSyncTime`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Integration struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec IntegrationSpec `json:"spec"`
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status IntegrationStatus `json:"status,omitempty"`
}

// IntegrationList is a list of Integrations.
// +kubebuilder:object:root=true
type IntegrationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Integration `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Integration{}, &IntegrationList{})
}

// GetConditions returns the status conditions.
func (in *Integration) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *Integration) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }

// ConnectionOrEmpty returns spec.connection, or an empty one.
func (in *Integration) ConnectionOrEmpty() Connection {
	if in.Spec.Connection == nil {
		return Connection{}
	}
	return *in.Spec.Connection
}

// ChannelName is the Channel the integration's orders land in: spec.channelRef, or one named after it.
func (in *Integration) ChannelName() string {
	if in.Spec.ChannelRef != nil && in.Spec.ChannelRef.Name != "" {
		return in.Spec.ChannelRef.Name
	}
	return in.Name
}
