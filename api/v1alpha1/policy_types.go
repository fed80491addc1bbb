package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of DepartmentPolicy, and the ones it sets on the objects
// it governs.
const (
	// ConditionPolicyViolation is True on a Tenant, ComputeQuota or TestEnvironment that
	// breaks a DepartmentPolicy governing its namespace. An object that existed before the
	// policy keeps running as it is; the message names the policy and the rule.
	ConditionPolicyViolation = "PolicyViolation"
	// ReasonPolicyViolation: the object breaks a DepartmentPolicy (as the Ready reason,
	// nothing was written to OpenStack for it; as the PolicyViolation reason, the breach).
	ReasonPolicyViolation = "PolicyViolation"
	// ReasonWithinPolicy: the PolicyViolation condition is False: every policy holds.
	ReasonWithinPolicy = "WithinPolicy"
	// ReasonPoolExhausted: the policy's network pool has no free block of prefixLength.
	ReasonPoolExhausted = "PoolExhausted"
)

// DepartmentPolicySpec is a set of standards the centre sets for the department
// namespaces it selects. Every field is optional: a rule left out is not enforced. Where
// several policies select one namespace, every one of them must hold.
//
// +kubebuilder:validation:XValidation:rule="!has(self.networks) || !has(self.networks.prefixLength) || has(self.networks.pool)",message="networks.prefixLength needs networks.pool"
type DepartmentPolicySpec struct {
	// namespaceSelector selects the department namespaces this policy governs. An empty
	// selector selects every namespace; a namespace no policy selects is governed by none.
	// +required
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// requiredLabels must be on every Tenant, each with a non-empty value (for example
	// whitehall.cloud/cost-code and whitehall.cloud/owner).
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=317
	RequiredLabels []string `json:"requiredLabels,omitempty"`

	// roles a Tenant may grant (roleAssignments and applicationCredential.roles). Left
	// out, the operator's --grantable-roles alone decide.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Roles []string `json:"roles,omitempty"`

	// quotaCeiling bounds, per namespace, every limit its ComputeQuotas set: the baseline
	// and every peak, summed over the namespace's ComputeQuotas. A field left out is not
	// bounded; a bounded field may not be -1 (unlimited).
	// +optional
	QuotaCeiling *QuotaSet `json:"quotaCeiling,omitempty"`

	// environments bounds TestEnvironments.
	// +optional
	Environments *EnvironmentRules `json:"environments,omitempty"`

	// networks is the address space Tenant networks are drawn from.
	// +optional
	Networks *NetworkRules `json:"networks,omitempty"`

	// peaks say how large a peak of a ComputeQuota in a governed namespace is approved
	// by itself; a larger one is applied only once the platform team approves its values
	// (ComputeQuota spec.approvals), and the priority of its peaks when a season's peaks do
	// not fit in the cloud. Without it every peak applies as written, at priority 0.
	// +optional
	Peaks *PeakRules `json:"peaks,omitempty"`
}

// EnvironmentRules bound what a TestEnvironment may run.
type EnvironmentRules struct {
	// flavors (names or IDs) a TestEnvironment may use, as written in its template.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Flavors []string `json:"flavors,omitempty"`

	// images (names or IDs) a TestEnvironment may use, as written in its template.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Images []string `json:"images,omitempty"`

	// maxReplicas bounds replicas and every peak's replicas.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=500
	MaxReplicas *int32 `json:"maxReplicas,omitempty"`

	// maxTTL makes a TTL required, and at most this long (for example 336h). Spelled
	// like ttl, in Go's units (h, m, s): "14d", "2w" or "P14D" are refused at apply,
	// since the operator could not read them.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('8760h')",message="maxTTL must be more than 0s and at most 8760h (a year), in h, m or s (336h, not 14d)"
	MaxTTL *metav1.Duration `json:"maxTTL,omitempty"`
}

// PeakRules say which peaks are approved by themselves, and how they rank when capacity
// is short. Approved by themselves: each of a peak's cores, ramMiB
// and instances within autoApproveUpTo, or within autoApproveFactor times the
// baseline's value. A field the peak does not set is not judged; -1 (unlimited) is
// within only an autoApproveUpTo of -1.
//
// +kubebuilder:validation:XValidation:rule="has(self.autoApproveUpTo) || has(self.autoApproveFactor) || has(self.priority)",message="peaks needs at least one of autoApproveUpTo, autoApproveFactor or priority"
type PeakRules struct {
	// autoApproveUpTo are the largest peak values approved by themselves (-1: any).
	// +optional
	AutoApproveUpTo *PeakCapacity `json:"autoApproveUpTo,omitempty"`
	// autoApproveFactor approves by itself a peak value up to this many times the
	// baseline's (a baseline that sets the field), as a decimal from 1 to 100 with at most
	// two decimals: "2", "1.5".
	// +optional
	// +kubebuilder:validation:MaxLength=6
	// +kubebuilder:validation:Pattern=`^([1-9][0-9]?(\.[0-9]{1,2})?|100(\.0{1,2})?)$`
	AutoApproveFactor *string `json:"autoApproveFactor,omitempty"`
	// priority orders the departments this policy governs when a season's peaks do not
	// fit in the cloud: a higher priority gets its whole peak before a lower one gets
	// any of its own; equal priorities share what is left in proportion. Left out: 0.
	// A PeakSeason's spec.priorities overrides it for that season. Where several policies
	// govern a namespace, the highest priority among them counts.
	// +optional
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	Priority *int32 `json:"priority,omitempty"`
}

// NetworkRules give departments address space they never coordinate by hand.
type NetworkRules struct {
	// pool every Tenant network must be inside, as 10.128.0.0/12. No two Tenants that
	// this policy governs may have overlapping networks.
	// +optional
	// +kubebuilder:validation:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="isCIDR(self) && cidr(self) == cidr(self).masked()",message="pool must be a CIDR with no host bits set, such as 10.128.0.0/12"
	Pool string `json:"pool,omitempty"`

	// prefixLength of the block a Tenant gets from the pool when its spec.network leaves
	// out cidr. Default 24.
	// +optional
	// +kubebuilder:validation:Minimum=8
	// +kubebuilder:validation:Maximum=128
	PrefixLength *int32 `json:"prefixLength,omitempty"`
}

// DefaultPrefixLength is the block size allocated from a pool that names none.
const DefaultPrefixLength = 24

// DepartmentPolicyStatus says how much the policy governs and how much breaks it.
type DepartmentPolicyStatus struct {
	// namespaces is how many namespaces the policy selects.
	// +optional
	Namespaces *int32 `json:"namespaces,omitempty"`

	// violations is how many existing Tenants, ComputeQuotas and TestEnvironments in
	// those namespaces break it.
	// +optional
	Violations *int32 `json:"violations,omitempty"`

	// observedGeneration is the generation of the spec that status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DepartmentPolicy is a standard the centre sets for the department namespaces it
// selects: required labels, grantable roles, a quota ceiling, what test environments may
// run, and the address space Tenant networks come from. Rules one object shows are refused
// at admission (ValidatingAdmissionPolicies in the chart); rules across objects are
// checked before anything is written to OpenStack. A policy added later never tears
// anything down: what breaks it keeps running, with a PolicyViolation condition.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=dp,categories=whitehall
// +kubebuilder:printcolumn:name="Namespaces",type=integer,JSONPath=`.status.namespaces`
// +kubebuilder:printcolumn:name="Violations",type=integer,JSONPath=`.status.violations`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type DepartmentPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec DepartmentPolicySpec `json:"spec"`
	// +optional
	Status DepartmentPolicyStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// DepartmentPolicyList is a list of DepartmentPolicy.
type DepartmentPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DepartmentPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&DepartmentPolicy{}, &DepartmentPolicyList{})
}
