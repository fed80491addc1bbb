package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of a Cloud, and of the objects that use one.
const (
	// ConditionInsecureTLS is True when the Cloud's clouds.yaml turns TLS verification
	// off (verify: false): it works, and a warning says so.
	ConditionInsecureTLS = "InsecureTLS"
	// ReasonVerifyDisabled: clouds.yaml sets verify: false.
	ReasonVerifyDisabled = "VerifyDisabled"
	// ReasonVerified: TLS certificates are verified.
	ReasonVerified = "Verified"

	// ReasonCloudNotFound: the object names a Cloud that does not exist.
	ReasonCloudNotFound = "CloudNotFound"
	// ReasonNamespaceNotAllowed: the Cloud's namespaceSelector does not select the
	// object's namespace; nothing is done in OpenStack.
	ReasonNamespaceNotAllowed = "NamespaceNotAllowed"
)

// DefaultProtectedProjects are never imported, changed or deleted by any Tenant.
var DefaultProtectedProjects = []string{"admin", "service"}

// CloudSpec is the platform team's connection to one OpenStack cloud, and who may use it.
type CloudSpec struct {
	// credentialsSecretRef names the admin clouds.yaml Secret. It always lives in the
	// operator's own namespace (--operator-namespace): a Cloud can never make the operator
	// read a department's Secret, and department namespaces never hold admin credentials.
	// +required
	CredentialsSecretRef CloudSecretReference `json:"credentialsSecretRef"`

	// namespaceSelector says which namespaces may use this Cloud; {} selects all of them.
	// A Tenant in a namespace it does not select is refused (NamespaceNotAllowed) and
	// makes no OpenStack call.
	// +required
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`

	// protectedProjects are project names or IDs that no Tenant may import, change or
	// delete. Defaults to [admin, service].
	// +optional
	// +listType=set
	// +kubebuilder:default={admin,service}
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	ProtectedProjects []string `json:"protectedProjects,omitempty"`

	// tariff prices the usage of the departments that use this Cloud. Without it, usage
	// is reported and cost is not.
	// +optional
	Tariff *Tariff `json:"tariff,omitempty"`

	// timeZone is the IANA time zone whose calendar months usage is reported in: a month
	// closes at local midnight on its last day.
	// Names are case-sensitive: a zone the operator cannot load (Europe/LONDON, Local)
	// is refused at apply.
	// +optional
	// +kubebuilder:default="Europe/London"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone \"Local\" is not allowed: name an IANA zone such as Europe/London"
	// +kubebuilder:validation:XValidation:rule="timestamp('2000-06-01T00:00:00Z').getFullYear(self) == 2000",message="timeZone must be an IANA time zone such as Europe/London (names are case-sensitive)"
	TimeZone string `json:"timeZone,omitempty"`
}

// DefaultUsageTimeZone is the time zone of usage months when a Cloud names none.
const DefaultUsageTimeZone = "Europe/London"

// Tariff is what one unit of each resource costs, as decimal strings ("0.021"): exact,
// never floating point. A price left out is not charged.
//
// +kubebuilder:validation:XValidation:rule="has(self.currency) || !(has(self.vcpuHour) || has(self.ramGiBHour) || has(self.volumeGiBMonth))",message="a tariff with prices needs a currency"
type Tariff struct {
	// currency is the ISO 4217 code prices are in (GBP, EUR, JPY); costs are rounded to
	// its minor unit.
	// +optional
	// +kubebuilder:validation:Pattern=`^[A-Z]{3}$`
	Currency string `json:"currency,omitempty"`

	// vcpuHour is the price of one vCPU for one hour.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,12})?$`
	VCPUHour *string `json:"vcpuHour,omitempty"`

	// ramGiBHour is the price of one GiB of RAM for one hour.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,12})?$`
	RAMGiBHour *string `json:"ramGiBHour,omitempty"`

	// volumeGiBMonth is the price of one GiB of block storage for one month.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^[0-9]{1,12}(\.[0-9]{1,12})?$`
	VolumeGiBMonth *string `json:"volumeGiBMonth,omitempty"`
}

// CloudSecretReference names a clouds.yaml Secret in the operator's namespace, and the
// cloud in it.
type CloudSecretReference struct {
	// name of the Secret in the operator's namespace. It holds the key clouds.yaml and,
	// optionally, cacert with a PEM CA bundle.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// cloudName is the entry of clouds.yaml to use.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	CloudName string `json:"cloudName"`
}

// CloudStatus reports whether the operator can log in to the cloud.
type CloudStatus struct {
	// authURL is the Keystone endpoint the credentials name.
	// +optional
	AuthURL string `json:"authURL,omitempty"`

	// region of the cloud, when clouds.yaml names one.
	// +optional
	Region string `json:"region,omitempty"`

	// usage is the month being metered: what every department that used this Cloud
	// this month has used so far, kept here (cluster-scoped, the platform team's) so a
	// department deleted mid-month still appears in the month's UsageReport.
	// +optional
	Usage *CloudUsage `json:"usage,omitempty"`

	// observedGeneration is the generation of the spec that status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Ready (the login works) and InsecureTLS.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// Cloud is the platform team's connection to one OpenStack cloud: the admin credentials
// in the operator's namespace, and the department namespaces allowed to use them.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=oscloud,categories=whitehall
// +kubebuilder:printcolumn:name="Auth URL",type=string,JSONPath=`.status.authURL`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="Usage Read",type=date,JSONPath=`.status.usage.readAt`,priority=1
// +kubebuilder:printcolumn:name="Insecure",type=string,JSONPath=`.status.conditions[?(@.type=="InsecureTLS")].status`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Cloud struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec CloudSpec `json:"spec"`
	// +optional
	Status CloudStatus `json:"status,omitempty"`
}

// CloudList is a list of Clouds.
//
// +kubebuilder:object:root=true
type CloudList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Cloud `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Cloud{}, &CloudList{})
}

// CloudReference names a cluster-scoped Cloud.
type CloudReference struct {
	// name of the Cloud.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}
