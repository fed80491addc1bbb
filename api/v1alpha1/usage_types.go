package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CostCodeLabel is the Tenant label that names the cost code a department's usage is
// charged to. A department labels only its own Tenants, so it can only say where its own
// usage is charged.
const CostCodeLabel = "whitehall.cloud/cost-code"

// UsageFigures are what a project used over a period and what it cost. Every figure is
// a decimal string: exact, never floating point.
type UsageFigures struct {
	// vcpuHours are vCPUs × hours of the project's servers (Nova).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	VCPUHours string `json:"vcpuHours,omitempty"`
	// ramGiBHours are GiB of RAM × hours of the project's servers (Nova).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	RAMGiBHours string `json:"ramGiBHours,omitempty"`
	// diskGiBHours are GiB of local (ephemeral and root) disk × hours (Nova).
	// +optional
	// +kubebuilder:validation:MaxLength=32
	DiskGiBHours string `json:"diskGiBHours,omitempty"`
	// volumeGiBMonths are GiB of block storage × months, integrated from the volumes
	// Cinder lists; absent when the cloud runs no volume service.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	VolumeGiBMonths string `json:"volumeGiBMonths,omitempty"`
	// cost at the Cloud's tariff, rounded to the currency's minor unit; absent without a
	// tariff.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Cost string `json:"cost,omitempty"`
	// currency of cost.
	// +optional
	// +kubebuilder:validation:MaxLength=3
	Currency string `json:"currency,omitempty"`
}

// MonthUsage is a project's usage in one calendar month of the Cloud's time zone.
type MonthUsage struct {
	// month as YYYY-MM.
	// +required
	// +kubebuilder:validation:MaxLength=7
	Month string `json:"month"`

	UsageFigures `json:",inline"`
}

// TenantUsage is a Tenant's usage: the current month so far and the last closed month.
type TenantUsage struct {
	// currentMonth is the month so far, up to readAt.
	// +optional
	CurrentMonth *MonthUsage `json:"currentMonth,omitempty"`
	// lastMonth is the last closed month, as its UsageReport states it.
	// +optional
	LastMonth *MonthUsage `json:"lastMonth,omitempty"`
	// readAt is when OpenStack was last read.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	ReadAt *metav1.Time `json:"readAt,omitempty"`
}

// CloudUsage is the month being metered on a Cloud.
type CloudUsage struct {
	// month as YYYY-MM.
	// +optional
	Month string `json:"month,omitempty"`
	// readAt is when OpenStack was last read.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	ReadAt *metav1.Time `json:"readAt,omitempty"`
	// departments are every project metered this month, including Tenants deleted since.
	// +optional
	// +listType=atomic
	Departments []MeteredDepartment `json:"departments,omitempty"`
}

// MeteredDepartment is one project's usage of the month so far, and who it belongs to.
type MeteredDepartment struct {
	// namespace of the Tenant.
	Namespace string `json:"namespace"`
	// tenant is the Tenant's name.
	Tenant string `json:"tenant"`
	// projectID is the Keystone project.
	ProjectID string `json:"projectID"`
	// costCode is the Tenant's whitehall.cloud/cost-code label.
	// +optional
	CostCode string `json:"costCode,omitempty"`
	// volumeGiBHours are block storage GiB × hours integrated so far (the running sum
	// that volumeGiBMonths is made from).
	// +optional
	VolumeGiBHours string `json:"volumeGiBHours,omitempty"`
	// deleted is true once the Tenant is gone; its figures stay for the month.
	// +optional
	Deleted bool `json:"deleted,omitempty"`

	UsageFigures `json:",inline"`
}

// UsageReportSpec is a month's statement: each department's usage and cost, and the
// totals per cost code. It never changes once written.
//
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a UsageReport is never changed once written"
type UsageReportSpec struct {
	// month as YYYY-MM.
	// +required
	// +kubebuilder:validation:MaxLength=7
	// +kubebuilder:validation:Pattern=`^[0-9]{4}-(0[1-9]|1[0-2])$`
	Month string `json:"month"`

	// cloud is the Cloud whose departments the statement lists.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Cloud string `json:"cloud"`

	// timeZone the month is reckoned in.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	TimeZone string `json:"timeZone"`

	// tariff the costs were worked out at; absent when the Cloud had none.
	// +optional
	Tariff *Tariff `json:"tariff,omitempty"`

	// currency of every cost in the statement.
	// +optional
	// +kubebuilder:validation:MaxLength=3
	Currency string `json:"currency,omitempty"`

	// departmentCount is the number of departments listed.
	// +optional
	DepartmentCount int32 `json:"departmentCount"`

	// departments are every project metered in the month, by namespace and Tenant.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10000
	Departments []ReportDepartment `json:"departments,omitempty"`

	// totals are the costs summed per cost code (departments without one under "").
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=10000
	Totals []CostCodeTotal `json:"totals,omitempty"`

	// total is the month's cost over every department; absent without a tariff.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Total string `json:"total,omitempty"`
}

// ReportDepartment is one department's line in a statement.
type ReportDepartment struct {
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MaxLength=253
	Tenant string `json:"tenant"`
	// +kubebuilder:validation:MaxLength=64
	ProjectID string `json:"projectID"`
	// +optional
	// +kubebuilder:validation:MaxLength=63
	CostCode string `json:"costCode,omitempty"`

	UsageFigures `json:",inline"`
}

// CostCodeTotal is what the departments charged to one cost code used and cost.
type CostCodeTotal struct {
	// +kubebuilder:validation:MaxLength=63
	CostCode string `json:"costCode"`
	// departments charged to the cost code.
	Departments int32 `json:"departments"`

	UsageFigures `json:",inline"`
}

// UsageReport is a month's statement for finance: named YYYY-MM (or YYYY-MM.<cloud>
// when the operator meters more than one Cloud), written once when the month closes in
// the Cloud's time zone, and never changed after.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=ur,categories=whitehall
// +kubebuilder:validation:XValidation:rule="self.metadata.name == self.spec.month || self.metadata.name == self.spec.month + '.' + self.spec.cloud",message="a UsageReport is named for its month (YYYY-MM, or YYYY-MM.<cloud>)"
// +kubebuilder:printcolumn:name="Month",type=string,JSONPath=`.spec.month`
// +kubebuilder:printcolumn:name="Departments",type=integer,JSONPath=`.spec.departmentCount`
// +kubebuilder:printcolumn:name="Total",type=string,JSONPath=`.spec.total`
// +kubebuilder:printcolumn:name="Currency",type=string,JSONPath=`.spec.currency`
// +kubebuilder:printcolumn:name="Cloud",type=string,JSONPath=`.spec.cloud`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type UsageReport struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec UsageReportSpec `json:"spec"`
}

// UsageReportList is a list of UsageReports.
//
// +kubebuilder:object:root=true
type UsageReportList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []UsageReport `json:"items"`
}

func init() {
	SchemeBuilder.Register(&UsageReport{}, &UsageReportList{})
}
