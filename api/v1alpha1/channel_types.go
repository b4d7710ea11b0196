package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ChannelType is what kind of sales channel it is.
// +kubebuilder:validation:Enum=Online;Marketplace;Wholesale;Retail;Other
type ChannelType string

// ChannelSpec describes a sales channel: where orders come from, as Tether's forecasts see it.
type ChannelSpec struct {
	// DisplayName is the name planners see. Defaults to the object's name.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`
	// Type is Online, Marketplace, Wholesale, Retail or Other.
	// +kubebuilder:default=Online
	// +optional
	Type ChannelType `json:"type,omitempty"`
	// Description is free text for people.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Description string `json:"description,omitempty"`
}

// ChannelIntegration is one integration delivering into the channel.
type ChannelIntegration struct {
	// Name of the Integration.
	Name string `json:"name"`
	// Platform of the Integration.
	// +optional
	Platform Platform `json:"platform,omitempty"`
	// State of the Integration.
	// +optional
	State State `json:"state,omitempty"`
	// Orders is the number of sales orders it delivered into this channel.
	Orders int64 `json:"orders"`
}

// ChannelStatus aggregates the integrations that deliver into the channel.
type ChannelStatus struct {
	// ObservedGeneration is the last generation the controller handled.
	// +kubebuilder:default=-1
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// Conditions: Ready.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Integrations deliver into this channel.
	// +listType=map
	// +listMapKey=name
	// +optional
	Integrations []ChannelIntegration `json:"integrations,omitempty"`
	// Orders is the total number of sales orders in this channel.
	// +optional
	Orders int64 `json:"orders"`
}

// Channel is where integrations' orders land; channels feed Tether's forecasting.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=chan,categories=tether
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Orders",type=integer,JSONPath=`.status.orders`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Channel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec ChannelSpec `json:"spec,omitempty"`
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status ChannelStatus `json:"status,omitempty"`
}

// ChannelList is a list of Channels.
// +kubebuilder:object:root=true
type ChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Channel `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Channel{}, &ChannelList{})
}

// GetConditions returns the status conditions.
func (in *Channel) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *Channel) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
