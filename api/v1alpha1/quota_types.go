package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of ComputeQuota.
const (
	// ConditionBelowUsage is True when a limit was set below what the project already
	// uses: applied anyway, so the department sees why new resources fail.
	ConditionBelowUsage = "BelowUsage"
	// ReasonLimitBelowUsage: at least one limit is below usage; the message lists them.
	ReasonLimitBelowUsage = "LimitBelowUsage"
	// ReasonWithinUsage: every limit is at or above usage.
	ReasonWithinUsage = "WithinUsage"
	// ReasonUsageNotRead: the limits were written on first sight, without a read; usage
	// is read at the next resync.
	ReasonUsageNotRead = "UsageNotRead"
	// ReasonTenantNotReady: the Tenant named by tenantRef does not exist or has no project yet.
	ReasonTenantNotReady = "TenantNotReady"
	// ReasonSeasonNotFound: a peak names a PeakSeason that does not exist or is invalid.
	ReasonSeasonNotFound = "SeasonNotFound"

	// ConditionPeakApproval is True when every peak is approved (by itself, within a
	// DepartmentPolicy's autoApproveUpTo or autoApproveFactor, or by the platform team),
	// False while one awaits approval: that peak is not applied, the baseline is.
	ConditionPeakApproval = "PeakApproval"
	// ReasonPeaksApproved: every peak may be applied.
	ReasonPeaksApproved = "Approved"
	// ReasonApprovalPending: a peak is larger than the governing policies approve by
	// themselves and no approval of its values is recorded; the message has the values.
	ReasonApprovalPending = "Pending"
)

// ComputeQuotaSpec is a department project's quota: a baseline, and peaks that raise it
// while a PeakSeason is active.
//
// +kubebuilder:validation:XValidation:rule="!has(self.peaks) || self.peaks.all(p, self.peaks.exists_one(q, q.season == p.season))",message="each season may appear only once in peaks"
type ComputeQuotaSpec struct {
	// tenantRef names the Tenant, in this namespace, whose project this quota is for.
	// Immutable: a quota moved to another Tenant would leave the first project's limits
	// behind, peak included.
	// +required
	// +kubebuilder:validation:XValidation:rule="self.name == oldSelf.name",message="tenantRef is immutable: create a new ComputeQuota for another Tenant"
	TenantRef LocalObjectReference `json:"tenantRef"`

	// baseline is the quota outside every peak. A field left out is not managed: the
	// operator never writes or resets it.
	// +required
	Baseline QuotaSet `json:"baseline"`

	// peaks raise fields of the baseline while their season is active. A peak overlays
	// the baseline field by field; where two active peaks set a field, the larger wins,
	// and -1 (unlimited) beats any number.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Peaks []QuotaPeak `json:"peaks,omitempty"`
	// approvals are the platform team's approvals of peaks larger than a governing
	// DepartmentPolicy approves by itself (peaks.autoApproveUpTo, autoApproveFactor).
	// Adding, changing or removing one needs the verb approve on computequotas/approval
	// (checked at admission, config/admission/peak-approvals.yaml), and approvedBy must
	// be the user making the change: `kubectl whitehall approve` writes it. An approval
	// counts only while its values are the peak's; a peak changed since is pending again.
	// +optional
	// +listType=map
	// +listMapKey=season
	// +kubebuilder:validation:MaxItems=16
	Approvals []PeakApproval `json:"approvals,omitempty"`

	// managementPolicy is Manage (the default: the operator writes the quota) or Observe
	// (it reads the quota, writes nothing, and lists in status.drift what Manage would
	// write). It may be switched either way at any time; a switch to Manage writes
	// exactly what status.drift showed.
	// +optional
	// +kubebuilder:default=Manage
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`
}

// QuotaPeak is the quota during one season.
//
// +kubebuilder:validation:XValidation:rule="has(self.compute) || has(self.network) || has(self.blockStorage)",message="a peak must set at least one of compute, network or blockStorage"
type QuotaPeak struct {
	// season is the name of a PeakSeason.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Season string `json:"season"`

	QuotaSet `json:",inline"`
}

// PeakApproval is one peak approved: by whom, when, and the values approved.
type PeakApproval struct {
	// season is the PeakSeason of the peak approved.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Season string `json:"season"`
	// compute are the peak's values approved (cores, ramMiB, instances; -1 unlimited).
	// The approval counts only while the peak asks exactly these.
	// +required
	Compute PeakCapacity `json:"compute"`
	// approvedBy is the user who approved, as the API server authenticated them.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ApprovedBy string `json:"approvedBy"`
	// approvedAt is when, as the approver's client said.
	// +required
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	ApprovedAt metav1.Time `json:"approvedAt"`
}

// PendingPeak is a peak awaiting approval.
type PendingPeak struct {
	// season is the PeakSeason of the peak.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Season string `json:"season"`
	// compute are the values to approve.
	// +required
	Compute PeakCapacity `json:"compute"`
	// opensAt is when the season next opens, ramp included; absent while it is open.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	OpensAt *metav1.Time `json:"opensAt,omitempty"`
}

// PeakCapacity is the part of a peak that takes the cloud's capacity: cores, RAM and
// instances. -1 is unlimited.
type PeakCapacity struct {
	// cores is the number of vCPUs.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Cores *int64 `json:"cores,omitempty"`
	// ramMiB is memory in MiB.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	RAMMiB *int64 `json:"ramMiB,omitempty"`
	// instances is the number of servers.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Instances *int64 `json:"instances,omitempty"`
}

// QuotaSet holds limits for the three quota services. -1 means unlimited.
type QuotaSet struct {
	// compute is the Nova quota.
	// +optional
	Compute *ComputeLimits `json:"compute,omitempty"`
	// network is the Neutron quota.
	// +optional
	Network *NetworkLimits `json:"network,omitempty"`
	// blockStorage is the Cinder quota.
	// +optional
	BlockStorage *BlockStorageLimits `json:"blockStorage,omitempty"`
}

// ComputeLimits are Nova quota limits.
//
// +kubebuilder:validation:MinProperties=1
type ComputeLimits struct {
	// cores is the number of vCPUs.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Cores *int64 `json:"cores,omitempty"`
	// instances is the number of servers.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Instances *int64 `json:"instances,omitempty"`
	// ramMiB is memory in MiB.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	RAMMiB *int64 `json:"ramMiB,omitempty"`
	// serverGroups is the number of server groups.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	ServerGroups *int64 `json:"serverGroups,omitempty"`
	// serverGroupMembers is the number of servers in one server group.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	ServerGroupMembers *int64 `json:"serverGroupMembers,omitempty"`
	// keyPairs is the number of key pairs per user.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	KeyPairs *int64 `json:"keyPairs,omitempty"`
	// metadataItems is the number of metadata items per server.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	MetadataItems *int64 `json:"metadataItems,omitempty"`
}

// NetworkLimits are Neutron quota limits.
//
// +kubebuilder:validation:MinProperties=1
type NetworkLimits struct {
	// networks is the number of networks.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Networks *int64 `json:"networks,omitempty"`
	// subnets is the number of subnets.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Subnets *int64 `json:"subnets,omitempty"`
	// ports is the number of ports.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Ports *int64 `json:"ports,omitempty"`
	// routers is the number of routers.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Routers *int64 `json:"routers,omitempty"`
	// floatingIPs is the number of floating IPs.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	FloatingIPs *int64 `json:"floatingIPs,omitempty"`
	// securityGroups is the number of security groups.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	SecurityGroups *int64 `json:"securityGroups,omitempty"`
	// securityGroupRules is the number of security group rules.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	SecurityGroupRules *int64 `json:"securityGroupRules,omitempty"`
}

// BlockStorageLimits are Cinder quota limits.
//
// +kubebuilder:validation:MinProperties=1
type BlockStorageLimits struct {
	// volumes is the number of volumes.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Volumes *int64 `json:"volumes,omitempty"`
	// gigabytes is the total size of volumes and snapshots, in GiB.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Gigabytes *int64 `json:"gigabytes,omitempty"`
	// snapshots is the number of snapshots.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Snapshots *int64 `json:"snapshots,omitempty"`
	// backups is the number of backups.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	Backups *int64 `json:"backups,omitempty"`
	// backupGigabytes is the total size of backups, in GiB.
	// +optional
	// +kubebuilder:validation:Minimum=-1
	BackupGigabytes *int64 `json:"backupGigabytes,omitempty"`
}

// ComputeQuotaStatus reports the quota OpenStack holds and what the project uses.
type ComputeQuotaStatus struct {
	// projectID the quota applies to.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// activeSeasons are the seasons whose peaks apply now (a season whose peak awaits
	// approval is not one of them).
	// +optional
	// +listType=set
	ActiveSeasons []string `json:"activeSeasons,omitempty"`
	// pendingPeaks are the peaks awaiting approval: the values to approve, and when the
	// season next opens (absent while it is open now or never opens again).
	// +optional
	// +listType=map
	// +listMapKey=season
	// +kubebuilder:validation:MaxItems=16
	PendingPeaks []PendingPeak `json:"pendingPeaks,omitempty"`
	// peakCapacity is, for each peak whose season is judging it (from the season's
	// confirmAhead before its window until the window closes), what the season grants it.
	// +optional
	// +listType=map
	// +listMapKey=season
	// +kubebuilder:validation:MaxItems=16
	PeakCapacity []PeakCapacityStatus `json:"peakCapacity,omitempty"`
	// effective is the quota now in force: the baseline overlaid with the active peaks,
	// as written to OpenStack. Only managed fields appear. Under managementPolicy Observe
	// it is what OpenStack holds of the managed fields, which the operator did not write.
	// +optional
	Effective QuotaSet `json:"effective,omitempty"`
	// usage is what the project uses of each managed field, as the services report it.
	// +optional
	Usage QuotaSet `json:"usage,omitempty"`
	// nextTransition is when the next season used here opens or closes; the operator
	// wakes at that instant.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	NextTransition *metav1.Time `json:"nextTransition,omitempty"`
	// lastAppliedTime is when the operator last wrote a limit to OpenStack.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	LastAppliedTime *metav1.Time `json:"lastAppliedTime,omitempty"`
	// drift lists, under managementPolicy Observe, each managed limit OpenStack holds at
	// another value than the effective quota: what Manage would write. Empty under Manage.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Drift []DriftEntry `json:"drift,omitempty"`
	// observedGeneration is the generation of the spec that status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// lastSyncTime is when the operator last read everything this object manages from
	// OpenStack and found it as the spec asks (or made it so). It survives a restart: a
	// restarted operator looks again at an unchanged object one resync period after it,
	// not all objects at once.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// conditions: Ready, Progressing and BelowUsage; InSync under Observe; Reconciling
	// while progressing and Stalled when failed (kstatus).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ComputeQuota sets a department project's Nova, Neutron and Cinder quota, raising it
// by itself while a PeakSeason is active and lowering it after.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cq,categories=whitehall
// +kubebuilder:printcolumn:name="Tenant",type=string,JSONPath=`.spec.tenantRef.name`
// +kubebuilder:printcolumn:name="Seasons",type=string,JSONPath=`.status.activeSeasons`
// +kubebuilder:printcolumn:name="Cores",type=integer,JSONPath=`.status.effective.compute.cores`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Approval",type=string,JSONPath=`.status.conditions[?(@.type=="PeakApproval")].reason`
// +kubebuilder:printcolumn:name="Capacity",type=string,JSONPath=`.status.conditions[?(@.type=="PeakCapacity")].reason`
// +kubebuilder:printcolumn:name="Below Usage",type=string,JSONPath=`.status.conditions[?(@.type=="BelowUsage")].status`,priority=1
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextTransition`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.managementPolicy`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ComputeQuota struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec ComputeQuotaSpec `json:"spec"`
	// +optional
	Status ComputeQuotaStatus `json:"status,omitempty"`
}

// ComputeQuotaList is a list of ComputeQuotas.
//
// +kubebuilder:object:root=true
type ComputeQuotaList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ComputeQuota `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ComputeQuota{}, &ComputeQuotaList{})
}

// Observes reports whether the ComputeQuota is under managementPolicy Observe.
func (cq *ComputeQuota) Observes() bool { return cq.Spec.ManagementPolicy == ManagementPolicyObserve }
