package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FieldRule sets one Tether field from a record.
// +kubebuilder:validation:XValidation:rule="has(self.from) != has(self.expression)",message="set exactly one of from (a field path) or expression (CEL)"
type FieldRule struct {
	// Field is the Tether field to set, for example `name` or `code` on a SKU. The controller rejects fields
	// the target kind does not have.
	// +kubebuilder:validation:Pattern=`^[a-z][A-Za-z0-9]*$`
	// +kubebuilder:validation:MaxLength=63
	// +required
	Field string `json:"field"`
	// From is a dot-separated path into the platform's record, for example `product.title` or
	// `inventoryItem.sku`. A missing value yields the default.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`
	// +kubebuilder:validation:MaxLength=256
	// +optional
	From string `json:"from,omitempty"`
	// Expression is a CEL expression over `record` (the platform's record as a map) that yields the value,
	// for example `record.product.title + " / " + record.title`.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Expression string `json:"expression,omitempty"`
	// Default is used when the path is absent or null, or the expression yields null. It is converted to the
	// field's type.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Default *string `json:"default,omitempty"`
}

// LineMapping maps the lines nested in each record (order lines).
type LineMapping struct {
	// From is the path of the list of lines in the record, for example `lineItems`.
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$`
	// +required
	From string `json:"from"`
	// Fields set the line's Tether fields from each line.
	// +listType=map
	// +listMapKey=field
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Fields []FieldRule `json:"fields,omitempty"`
}

// EntityMapping maps one data type's records to its Tether kind: Products to SKU, Locations to Warehouse, Orders
// to SalesOrder (with SalesOrderLine lines) and Inventory to InventoryLevel.
type EntityMapping struct {
	// Entity is the data type whose records this maps.
	// +required
	Entity DataType `json:"entity"`
	// Fields set the Tether record's fields. Fields not listed keep the connector's default rule.
	// +listType=map
	// +listMapKey=field
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Fields []FieldRule `json:"fields,omitempty"`
	// Lines maps nested lines; only Orders have lines.
	// +optional
	Lines *LineMapping `json:"lines,omitempty"`
}

// FieldMappingSpec is a set of rules from platform fields to Tether fields. Rules override the connector's
// default mapping field by field, so a FieldMapping lists only what differs.
type FieldMappingSpec struct {
	// Platform is the platform whose records these rules read. When set, an Integration for another platform
	// cannot use this mapping.
	// +optional
	Platform Platform `json:"platform,omitempty"`
	// Entities hold the rules per data type.
	// +listType=map
	// +listMapKey=entity
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +required
	Entities []EntityMapping `json:"entities"`
}

// FieldMappingStatus reports whether the rules compile and who uses them.
type FieldMappingStatus struct {
	// ObservedGeneration is the last generation the controller compiled.
	// +kubebuilder:default=-1
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// Conditions: Ready is True when every rule compiles, and False with the exact error otherwise.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Integrations lists the Integrations in this namespace that use this mapping.
	// +listType=set
	// +optional
	Integrations []string `json:"integrations,omitempty"`
}

// FieldMapping maps external platform fields to Tether fields.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=fm;fieldmap,categories=tether
// +kubebuilder:printcolumn:name="Platform",type=string,JSONPath=`.spec.platform`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type FieldMapping struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec FieldMappingSpec `json:"spec"`
	// +kubebuilder:default={"observedGeneration":-1}
	// +optional
	Status FieldMappingStatus `json:"status,omitempty"`
}

// FieldMappingList is a list of FieldMappings.
// +kubebuilder:object:root=true
type FieldMappingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []FieldMapping `json:"items"`
}

func init() {
	SchemeBuilder.Register(&FieldMapping{}, &FieldMappingList{})
}

// GetConditions returns the status conditions.
func (in *FieldMapping) GetConditions() []metav1.Condition { return in.Status.Conditions }

// SetConditions replaces the status conditions.
func (in *FieldMapping) SetConditions(c []metav1.Condition) { in.Status.Conditions = c }
