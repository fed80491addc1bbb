package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// UserDataLabel must be "true" on a Secret that a TestEnvironment's userDataSecretRef
// names: only Secrets made for user data can become user data.
const UserDataLabel = "whitehall.cloud/user-data"

// TestEnvironmentFinalizer holds a TestEnvironment until its servers and server group
// are gone.
const TestEnvironmentFinalizer = "whitehall.cloud/testenvironment"

// Condition types and reasons of TestEnvironment.
const (
	// ConditionQuotaExceeded is True while OpenStack refuses servers for quota.
	ConditionQuotaExceeded = "QuotaExceeded"
	// ReasonQuotaRefused: OpenStack refused a server for quota; the message quotes it.
	ReasonQuotaRefused = "QuotaRefused"
	// ReasonWithinQuota: no refusal for quota.
	ReasonWithinQuota = "WithinQuota"
	// ReasonServersBuilding: servers are being created, replaced or removed.
	ReasonServersBuilding = "ServersBuilding"
	// ReasonServersStopped: every server exists, and some were stopped in OpenStack by
	// the department (SHUTOFF, SHELVED, SHELVED_OFFLOADED, PAUSED, SUSPENDED). They are
	// left as they are, not counted ready, and looked at again on the resync.
	ReasonServersStopped = "ServersStopped"
	// ReasonUserDataNotAllowed: userDataSecretRef names a Secret that is not labelled
	// whitehall.cloud/user-data: "true", or that holds credentials (clouds.yaml).
	ReasonUserDataNotAllowed = "UserDataNotAllowed"
	// ReasonExpired: the TTL has passed; the environment deletes itself.
	ReasonExpired = "Expired"
	// ReasonServerFailed: a server went to ERROR; its index is booted again after a
	// back-off that doubles with each failure (30s to 10m). status.failures quotes Nova.
	ReasonServerFailed = "ServerFailed"
	// ReasonServerGroupMismatch: the project holds a server group with the environment's
	// name and another policy; it is left as it is and no server is booted.
	ReasonServerGroupMismatch = "ServerGroupMismatch"
	// ReasonCredentialsGone: no credential for the project the servers are in can be
	// had any more, and the project still exists: the servers cannot be deleted, so the
	// finalizer stays.
	ReasonCredentialsGone = "CredentialsGone"
)

// MaxEnvironmentNameLength bounds a TestEnvironment's name: its servers are named
// <name>-<index> (index below 1000) within Nova's 255 characters.
const MaxEnvironmentNameLength = 240

// TestEnvironmentSpec is a set of identical servers in a department's project that
// DevOps engineers scale up and tear down.
//
// +kubebuilder:validation:XValidation:rule="has(self.serverGroupPolicy) == has(oldSelf.serverGroupPolicy) && (!has(self.serverGroupPolicy) || self.serverGroupPolicy == oldSelf.serverGroupPolicy)",message="serverGroupPolicy is immutable: servers cannot move into, out of or between server groups"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.ttl) || (has(self.ttl) && duration(self.ttl) <= duration(oldSelf.ttl))",message="ttl can be shortened but never removed or lengthened once set"
type TestEnvironmentSpec struct {
	// tenantRef names the Tenant, in this namespace, whose project holds the servers.
	// Immutable: the servers stay in the project they were booted in.
	// +required
	// +kubebuilder:validation:XValidation:rule="self.name == oldSelf.name",message="tenantRef is immutable: the servers stay in the project they were booted in"
	TenantRef LocalObjectReference `json:"tenantRef"`

	// replicas is the number of servers; kubectl scale, an HPA or KEDA set it through
	// the scale subresource.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=500
	Replicas *int32 `json:"replicas,omitempty"`

	// template describes each server.
	// +required
	Template ServerTemplate `json:"template"`

	// serverGroupPolicy places the servers in a server group with this policy, named
	// whitehall-env-<the environment's UID>. Immutable.
	// +optional
	// +kubebuilder:validation:Enum=affinity;anti-affinity;soft-affinity;soft-anti-affinity
	ServerGroupPolicy *string `json:"serverGroupPolicy,omitempty"`

	// peaks raise replicas while a PeakSeason is active: the environment runs the larger
	// of replicas and every active peak's replicas.
	// +optional
	// +listType=map
	// +listMapKey=season
	// +kubebuilder:validation:MaxItems=16
	Peaks []ReplicaPeak `json:"peaks,omitempty"`

	// ttl deletes the environment this long after its creation, so nothing is forgotten
	// (for example 72h). Once set it can be shortened, never removed or lengthened.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('8760h')",message="ttl must be more than 0s and at most 8760h (a year)"
	TTL *metav1.Duration `json:"ttl,omitempty"`
}

// ReplicaPeak is the number of servers during one season.
type ReplicaPeak struct {
	// season is the name of a PeakSeason.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Season string `json:"season"`
	// replicas during the season.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=500
	Replicas int32 `json:"replicas"`
}

// ServerTemplate describes one server.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.userData) && has(self.userDataSecretRef))",message="set at most one of userData and userDataSecretRef"
type ServerTemplate struct {
	// flavor name or ID.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Flavor string `json:"flavor"`

	// image name or ID.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Image string `json:"image"`

	// networks to attach, in order; default: the Tenant's network.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Networks []NetworkRef `json:"networks,omitempty"`

	// securityGroups by name or ID; default: the project's default group.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	SecurityGroups []string `json:"securityGroups,omitempty"`

	// keyName is a Nova key pair.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	KeyName *string `json:"keyName,omitempty"`

	// userData is the servers' user data (cloud-init), inline. At most one of userData
	// and userDataSecretRef.
	// +optional
	// +kubebuilder:validation:MaxLength=65535
	UserData *string `json:"userData,omitempty"`

	// userDataSecretRef names the key of a Secret, in this namespace, that holds the
	// servers' user data. The Secret must carry the label whitehall.cloud/user-data: "true"
	// and must not hold a clouds.yaml key: credentials never become user data.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.key != 'clouds.yaml'",message="userDataSecretRef cannot name a clouds.yaml key: credentials never become user data"
	UserDataSecretRef *SecretKeyReference `json:"userDataSecretRef,omitempty"`

	// metadata set on every server, besides the operator's own keys. Nova's limits: keys
	// of 1 to 255 letters, digits, '-', '_', ':', '.' or spaces, values of at most 255
	// characters; at most 64 entries, which leaves room for the operator's few keys
	// within Nova's default metadata_items quota (128).
	// +optional
	// +kubebuilder:validation:MaxProperties=64
	// +kubebuilder:validation:XValidation:rule="self.all(k, !k.startsWith('whitehall_'))",message="metadata keys starting with whitehall_ are reserved for the operator"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(k) >= 1 && size(k) <= 255 && k.matches('^[a-zA-Z0-9_:. -]+$'))",message="metadata keys must be 1 to 255 letters, digits, '-', '_', ':', '.' or spaces (Nova's limit)"
	// +kubebuilder:validation:XValidation:rule="self.all(k, size(self[k]) <= 255)",message="metadata values must be at most 255 characters (Nova's limit)"
	Metadata map[string]string `json:"metadata,omitempty"`

	// availabilityZone to boot in.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	AvailabilityZone *string `json:"availabilityZone,omitempty"`
}

// NetworkRef names a Neutron network by name or ID.
//
// +kubebuilder:validation:XValidation:rule="has(self.name) != has(self.id)",message="exactly one of name or id must be set"
type NetworkRef struct {
	// name of the network.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Name *string `json:"name,omitempty"`
	// id of the network.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	ID *string `json:"id,omitempty"`
}

// SecretKeyReference names one key of a Secret in the same namespace.
type SecretKeyReference struct {
	// name of the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// key in the Secret.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
}

// TestEnvironmentStatus reports the servers as OpenStack holds them.
type TestEnvironmentStatus struct {
	// replicas is the number of servers that exist.
	// +optional
	Replicas int32 `json:"replicas"`
	// desiredReplicas is what the environment aims for now: replicas, or a larger peak.
	// +optional
	DesiredReplicas int32 `json:"desiredReplicas"`
	// readyReplicas is the number of ACTIVE servers.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas"`
	// selector is the label selector of the scale subresource (the environment has no
	// pods; HPA and KEDA need the field).
	// +optional
	Selector string `json:"selector,omitempty"`
	// servers, by index.
	// +optional
	// +listType=map
	// +listMapKey=name
	Servers []ServerStatus `json:"servers,omitempty"`
	// serverGroupID of the environment's server group.
	// +optional
	ServerGroupID string `json:"serverGroupID,omitempty"`
	// projectID the servers are in, recorded before the first server is booted:
	// deletion looks for the servers there, whatever became of the Tenant.
	// +optional
	ProjectID string `json:"projectID,omitempty"`
	// identity the servers are booted with, recorded with projectID.
	// +optional
	Identity *EnvironmentIdentity `json:"identity,omitempty"`
	// failures are the indexes whose last server went to ERROR, with Nova's fault and
	// when the index is booted again.
	// +optional
	// +listType=map
	// +listMapKey=name
	Failures []ServerFailure `json:"failures,omitempty"`
	// activeSeasons whose peaks apply now.
	// +optional
	// +listType=set
	ActiveSeasons []string `json:"activeSeasons,omitempty"`
	// expiresAt is when the TTL deletes the environment.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// expiryWarned is true once the event announcing the expiry was sent.
	// +optional
	ExpiryWarned bool `json:"expiryWarned,omitempty"`
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
	// conditions: Ready, Progressing and QuotaExceeded; Reconciling while progressing
	// and Stalled when failed (kstatus).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// EnvironmentIdentity is how the operator reaches the project the servers are in: the
// Tenant's cloud and project identity when the first server was booted. It holds names
// and IDs only, never a credential.
type EnvironmentIdentity struct {
	// tenantUID is the UID of the Tenant whose identity store holds the service user's
	// password.
	// +optional
	TenantUID string `json:"tenantUID,omitempty"`
	// serviceUserID is the project's service user.
	// +optional
	ServiceUserID string `json:"serviceUserID,omitempty"`
	// cloudRef is the Cloud the Tenant used.
	// +optional
	CloudRef *CloudReference `json:"cloudRef,omitempty"`
	// cloudCredentialsRef is the department's own credentials Secret the Tenant used.
	// +optional
	CloudCredentialsRef *CloudCredentialsReference `json:"cloudCredentialsRef,omitempty"`
}

// ServerFailure is an index whose server went to ERROR.
type ServerFailure struct {
	// name is <environment>-<index>.
	Name string `json:"name"`
	// serverID of the server that failed last.
	// +optional
	ServerID string `json:"serverID,omitempty"`
	// count of failures in a row at this index.
	// +optional
	Count int32 `json:"count,omitempty"`
	// fault is Nova's fault message of the last failure.
	// +optional
	Fault string `json:"fault,omitempty"`
	// retryAt is when the index is booted again.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	RetryAt *metav1.Time `json:"retryAt,omitempty"`
}

// ServerStatus is one server of the environment.
type ServerStatus struct {
	// name is <environment>-<index>.
	Name string `json:"name"`
	// id in Nova.
	// +optional
	ID string `json:"id,omitempty"`
	// status in Nova: BUILD, ACTIVE, ERROR, …
	// +optional
	Status string `json:"status,omitempty"`
	// addresses of the server.
	// +optional
	// +listType=atomic
	Addresses []string `json:"addresses,omitempty"`
}

// TestEnvironment is a burst of identical servers in a department's project: scaled with
// kubectl scale, an HPA or KEDA, raised for peak seasons, and deleted by its TTL.
//
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 240",message="a TestEnvironment name is at most 240 characters: its servers are named <name>-<index> within Nova's 255"
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:subresource:scale:specpath=.spec.replicas,statuspath=.status.replicas,selectorpath=.status.selector
// +kubebuilder:resource:shortName=te,categories=whitehall
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredReplicas`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type TestEnvironment struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TestEnvironmentSpec `json:"spec"`
	// +optional
	Status TestEnvironmentStatus `json:"status,omitempty"`
}

// TestEnvironmentList is a list of TestEnvironments.
//
// +kubebuilder:object:root=true
type TestEnvironmentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []TestEnvironment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&TestEnvironment{}, &TestEnvironmentList{})
}
