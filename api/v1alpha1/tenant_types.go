package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TenantFinalizer holds a Tenant until its project has been deleted or released.
const TenantFinalizer = "whitehall.cloud/tenant"

// HandoverTagPrefix, followed by a namespace, is the Keystone tag with which a cloud
// admin hands an existing project over to that namespace: only then may a Tenant there
// import it. (Keystone forbids '/' in tags, hence the ':'.)
const HandoverTagPrefix = "whitehall.cloud:handover="

// ReasonNetworkConflict: a network, subnet or router named like the Tenant's network
// bundle exists in the project, was not made for this Tenant and does not match the
// spec exactly (a subnet's CIDR, a router's gateway); it is left alone.
const ReasonNetworkConflict = "NetworkConflict"

// ReasonNetworkAllocated: a block of the DepartmentPolicy's pool was just given to the
// Tenant and recorded in status.network.cidr; the network is created with it next.
const ReasonNetworkAllocated = "NetworkAllocated"

// TenantSpec describes a department's OpenStack project: the project itself, the people
// who may use it, and what happens to it when the Tenant goes.
//
// +kubebuilder:validation:XValidation:rule="has(self.project) == has(oldSelf.project) && (!has(self.project) || (has(self.project.name) == has(oldSelf.project.name) && (!has(self.project.name) || self.project.name == oldSelf.project.name)))",message="project.name is immutable"
// +kubebuilder:validation:XValidation:rule="(has(self.project) && has(self.project.domain) ? self.project.domain : 'default') == (has(oldSelf.project) && has(oldSelf.project.domain) ? oldSelf.project.domain : 'default')",message="project.domain is immutable"
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.network) || has(self.network)",message="network cannot be removed once set; it goes with the Tenant"
// +kubebuilder:validation:XValidation:rule="has(self.__import__) == has(oldSelf.__import__)",message="import cannot be added or removed after creation"
// +kubebuilder:validation:XValidation:rule="!has(self.__import__) || !has(self.project) || !has(self.project.name)",message="project.name cannot be combined with import: an imported project keeps its own name"
// +kubebuilder:validation:XValidation:rule="has(self.cloudRef) != has(self.cloudCredentialsRef)",message="exactly one of cloudRef and cloudCredentialsRef must be set"
// +kubebuilder:validation:XValidation:rule="has(self.cloudRef) == has(oldSelf.cloudRef) && (!has(self.cloudRef) || self.cloudRef.name == oldSelf.cloudRef.name)",message="cloudRef is immutable: a project cannot move to another cloud"
type TenantSpec struct {
	// cloudRef names the Cloud (cluster-scoped, set up by the platform team) that manages
	// the project. The Cloud's namespaceSelector must select this Tenant's namespace.
	// Exactly one of cloudRef and cloudCredentialsRef. Immutable.
	// +optional
	CloudRef *CloudReference `json:"cloudRef,omitempty"`

	// cloudCredentialsRef names a clouds.yaml Secret, in this Tenant's namespace, for a
	// department that brings its own credentials. They need the admin role: the operator
	// creates projects, users and role assignments with them. Exactly one of cloudRef and
	// cloudCredentialsRef.
	// +optional
	CloudCredentialsRef *CloudCredentialsReference `json:"cloudCredentialsRef,omitempty"`

	// applicationCredential makes the operator write a ready clouds.yaml, scoped to the
	// project and nothing else, into a Secret of this namespace for the department's own
	// tools, and rotate it.
	// +optional
	ApplicationCredential *ApplicationCredentialSpec `json:"applicationCredential,omitempty"`

	// project describes the OpenStack project.
	// +optional
	// +kubebuilder:default={}
	Project ProjectSpec `json:"project,omitempty"`

	// roleAssignments is the complete set of role assignments this Tenant manages on its
	// project. Roles listed are granted; roles that a listed principal holds on the project
	// but that are not listed are revoked, as are all roles of a principal removed from
	// this list. Assignments of principals that this Tenant never listed are left alone.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.exists_one(b, (has(a.group) && has(b.group) && a.group == b.group && has(a.groupDomain) == has(b.groupDomain) && (!has(a.groupDomain) || a.groupDomain == b.groupDomain)) || (has(a.user) && has(b.user) && a.user == b.user && has(a.userDomain) == has(b.userDomain) && (!has(a.userDomain) || a.userDomain == b.userDomain))))",message="each group or user may appear only once in roleAssignments; list all its roles in one entry"
	RoleAssignments []RoleAssignment `json:"roleAssignments,omitempty"`

	// network gives the project a ready network: a network, a subnet, and, with
	// externalNetwork, a router with its gateway there. TestEnvironments use it by default.
	// +optional
	Network *TenantNetwork `json:"network,omitempty"`

	// import adopts an existing project instead of creating one. Once adopted, the project
	// is managed like any other: its description, tags and enabled flag follow the spec,
	// and deletionPolicy applies to it.
	// +optional
	Import *ProjectImport `json:"import,omitempty"`

	// deletionPolicy says what happens to the project when the Tenant is deleted: Delete
	// removes it (refused while it still holds servers, volumes or ports), Retain leaves it.
	// Defaults to Delete for a project the Tenant created and to Retain for an imported
	// one: only an explicit Delete deletes a project that was handed over.
	// +optional
	DeletionPolicy DeletionPolicy `json:"deletionPolicy,omitempty"`

	// managementPolicy is Manage (the default: the operator makes the project match the
	// spec) or Observe (it reads the project, its role assignments and network, writes
	// nothing to OpenStack and no Secret, and lists in status.drift what Manage would
	// change). An import under Observe still needs the handover tag. It may be switched
	// either way at any time; a switch to Manage makes exactly the changes status.drift
	// showed. A Tenant deleted under Observe leaves the project untouched.
	// +optional
	// +kubebuilder:default=Manage
	ManagementPolicy ManagementPolicy `json:"managementPolicy,omitempty"`
}

// Observes reports whether the Tenant is under managementPolicy Observe.
func (t *Tenant) Observes() bool { return t.Spec.ManagementPolicy == ManagementPolicyObserve }

// EffectiveDeletionPolicy is the deletion policy in force: the spec's, else Retain for an
// imported project and Delete for one the Tenant created.
func (t *Tenant) EffectiveDeletionPolicy() DeletionPolicy {
	switch {
	case t.Spec.DeletionPolicy != "":
		return t.Spec.DeletionPolicy
	case t.Spec.Import != nil:
		return DeletionPolicyRetain
	default:
		return DeletionPolicyDelete
	}
}

// ApplicationCredentialSpec asks for a project-scoped application credential, written as
// a clouds.yaml into a Secret of the Tenant's namespace and rotated on schedule. Rotation
// makes a new credential, switches the Secret, and deletes the old one gracePeriod later.
//
// +kubebuilder:validation:XValidation:rule="duration(self.rotateBefore) < duration(self.expiresAfter)",message="rotateBefore must be shorter than expiresAfter"
// +kubebuilder:validation:XValidation:rule="duration(self.expiresAfter) - duration(self.rotateBefore) >= duration(self.gracePeriod)",message="expiresAfter - rotateBefore (the time between scheduled rotations) must be at least gracePeriod, so a replaced credential is deleted before the next is replaced"
type ApplicationCredentialSpec struct {
	// secretName is the Secret, in the Tenant's namespace, that the operator writes: key
	// clouds.yaml with one cloud named after the Cloud (or the credentials' cloud).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	SecretName string `json:"secretName"`

	// roles the credential carries on the project; never more than the operator may
	// grant (--grantable-roles).
	// +optional
	// +listType=set
	// +kubebuilder:default={member}
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Roles []string `json:"roles,omitempty"`

	// expiresAfter is the lifetime of each credential (1h to 8760h).
	// +optional
	// +kubebuilder:default="2160h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1h') && duration(self) <= duration('8760h')",message="expiresAfter must be between 1h and 8760h"
	ExpiresAfter metav1.Duration `json:"expiresAfter,omitempty"`

	// rotateBefore makes the next credential this long before the current one expires.
	// +optional
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('8760h')",message="rotateBefore must be between 1m and 8760h"
	RotateBefore metav1.Duration `json:"rotateBefore,omitempty"`

	// gracePeriod keeps the old credential working this long after the Secret switched
	// to the new one, so running tools pick it up (0s to 168h).
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('0s') && duration(self) <= duration('168h')",message="gracePeriod must be between 0s and 168h"
	GracePeriod metav1.Duration `json:"gracePeriod,omitempty"`
}

// RotateAnnotation on a Tenant rotates its application credential at once whenever its
// value changes; on the credential Secret (which the department may edit), once for each
// new value it is given.
const RotateAnnotation = "whitehall.cloud/rotate"

// TakeOverAnnotation on a Tenant names a cluster (its ID) whose Tenant of the same
// namespace and name the project records as its owner, and that the platform team
// declares gone: the project is taken back although that cluster left no record in the
// cloud (its Cloud signed in to another project). A cluster that still renews its
// record is never taken from, annotation or not.
const TakeOverAnnotation = "whitehall.cloud/take-over-from"

// ApplicationCredentialStatus records the credentials of the project's identity.
type ApplicationCredentialStatus struct {
	// id of the application credential the Secret holds now.
	// +optional
	ID string `json:"id,omitempty"`
	// createdAt is when it was made.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	CreatedAt *metav1.Time `json:"createdAt,omitempty"`
	// expiresAt is when Keystone stops accepting it.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
	// rotateAt is when the next one is made.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	RotateAt *metav1.Time `json:"rotateAt,omitempty"`
	// rotation is the value of the whitehall.cloud/rotate annotation the current
	// credential was made for.
	// +optional
	Rotation string `json:"rotation,omitempty"`
	// secretRotation is the last value of the whitehall.cloud/rotate annotation on the
	// credential Secret that made a credential (a department rotating its own); a value
	// longer than 63 characters is kept as its SHA-256 ("sha256:<hex>").
	// +optional
	// +kubebuilder:validation:MaxLength=71
	SecretRotation string `json:"secretRotation,omitempty"`
	// roles the credential carries; a change to spec roles rotates it at once.
	// +optional
	// +listType=set
	Roles []string `json:"roles,omitempty"`
	// retiring are replaced credentials, still valid until deleteAt.
	// +optional
	// +listType=map
	// +listMapKey=id
	// +kubebuilder:validation:MaxItems=4
	Retiring []RetiringCredential `json:"retiring,omitempty"`
}

// RetiringCredential is a replaced application credential in its grace period.
type RetiringCredential struct {
	// id of the application credential.
	// +required
	ID string `json:"id"`
	// deleteAt is when it is deleted in Keystone.
	// +required
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	DeleteAt metav1.Time `json:"deleteAt"`
}

// ProjectSpec describes the project in Keystone.
type ProjectSpec struct {
	// name of the project; defaults to <namespace>_<tenant name>. Immutable.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[^,/]+$`
	Name *string `json:"name,omitempty"`

	// domain holds the project: a domain name or ID. Immutable.
	// +optional
	// +kubebuilder:default=default
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Domain string `json:"domain,omitempty"`

	// description of the project.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description *string `json:"description,omitempty"`

	// tags on the project; Keystone forbids ',' and '/' in a tag.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=80
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:Pattern=`^[^,/]+$`
	Tags []string `json:"tags,omitempty"`

	// enabled says whether people can use the project; a disabled project refuses tokens.
	// +optional
	// +kubebuilder:default=true
	Enabled *bool `json:"enabled,omitempty"`
}

// IsEnabled is spec.project.enabled with its default (true) applied: the API server
// sets the default on every stored Tenant, this answers for one built in Go.
func (p ProjectSpec) IsEnabled() bool { return p.Enabled == nil || *p.Enabled }

// RoleAssignment grants roles on the project to exactly one group or user.
//
// +kubebuilder:validation:XValidation:rule="has(self.group) != has(self.user)",message="exactly one of group or user must be set"
// +kubebuilder:validation:XValidation:rule="!has(self.groupDomain) || has(self.group)",message="groupDomain can only be set with group"
// +kubebuilder:validation:XValidation:rule="!has(self.userDomain) || has(self.user)",message="userDomain can only be set with user"
type RoleAssignment struct {
	// group is a Keystone group name or ID.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	Group *string `json:"group,omitempty"`

	// groupDomain is the domain (name or ID) to look a group name up in; defaults to the
	// project's domain.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	GroupDomain *string `json:"groupDomain,omitempty"`

	// user is a Keystone user name or ID.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	User *string `json:"user,omitempty"`

	// userDomain is the domain (name or ID) to look a user name up in; defaults to the
	// project's domain.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	UserDomain *string `json:"userDomain,omitempty"`

	// roles are Keystone role names or IDs.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=255
	Roles []string `json:"roles"`
}

// TenantNetwork is a network bundle in the Tenant's project.
//
// +kubebuilder:validation:XValidation:rule="has(self.cidr) == has(oldSelf.cidr)",message="network.cidr is immutable: it cannot be added or removed once the network exists"
type TenantNetwork struct {
	// cidr of the subnet, as 10.20.0.0/24. Immutable. Left out, the Tenant gets the next
	// free block of the network pool of the DepartmentPolicy governing its namespace,
	// recorded in status.network.cidr and kept while the Tenant exists.
	// +optional
	// +kubebuilder:validation:MaxLength=43
	// +kubebuilder:validation:XValidation:rule="isCIDR(self)",message="cidr must be an IPv4 or IPv6 CIDR such as 10.20.0.0/24"
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="network.cidr is immutable"
	CIDR string `json:"cidr,omitempty"`

	// externalNetwork (name or ID) gets a router with its gateway, and an interface on
	// the subnet. Removing it takes the gateway away and keeps the router.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	ExternalNetwork *string `json:"externalNetwork,omitempty"`

	// dnsNameservers of the subnet.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=5
	// +kubebuilder:validation:items:MaxLength=45
	// +kubebuilder:validation:items:XValidation:rule="isIP(self)",message="each DNS nameserver must be an IP address"
	DNSNameservers []string `json:"dnsNameservers,omitempty"`
}

// TenantNetworkStatus records the network bundle's OpenStack IDs. What the operator
// creates carries the description whitehall.cloud/owner=<Tenant UID>.
type TenantNetworkStatus struct {
	// cidr of the subnet: spec.network.cidr, or the block allocated from the
	// DepartmentPolicy's pool, which no other Tenant gets while this one exists.
	// +optional
	CIDR string `json:"cidr,omitempty"`
	// +optional
	NetworkID string `json:"networkID,omitempty"`
	// +optional
	SubnetID string `json:"subnetID,omitempty"`
	// +optional
	RouterID string `json:"routerID,omitempty"`
	// adopted names the pieces (network, subnet, router) that existed in the project,
	// made by someone else, and are used because they match the spec exactly. They are
	// the department's: deleting the Tenant never deletes them, and while they exist
	// the project is not empty.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=3
	// +kubebuilder:validation:items:Enum=network;subnet;router
	Adopted []string `json:"adopted,omitempty"`
}

// ProjectImport finds an existing project to adopt.
//
// +kubebuilder:validation:XValidation:rule="has(self.id) != has(self.name)",message="exactly one of import.id or import.name must be set"
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="import is immutable"
type ProjectImport struct {
	// id of the project to adopt.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	ID *string `json:"id,omitempty"`

	// name of the project to adopt, looked up in project.domain.
	// +optional
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Name *string `json:"name,omitempty"`
}

// TenantStatus reports the project as OpenStack holds it.
type TenantStatus struct {
	// projectID is the Keystone ID of the project. It is written as soon as the project
	// exists, so the operator never creates it twice.
	// +optional
	ProjectID string `json:"projectID,omitempty"`

	// projectName is the project's name in Keystone.
	// +optional
	ProjectName string `json:"projectName,omitempty"`

	// domainID is the Keystone ID of the project's domain.
	// +optional
	DomainID string `json:"domainID,omitempty"`

	// adopted is true when the project existed before this Tenant and was imported.
	// +optional
	Adopted bool `json:"adopted,omitempty"`

	// serviceUserID is the project's own Keystone user: the operator acts inside the
	// project (servers, application credentials) as this user, never as the admin.
	// +optional
	ServiceUserID string `json:"serviceUserID,omitempty"`

	// applicationCredential is the credential written to spec.applicationCredential's
	// Secret.
	// +optional
	ApplicationCredential *ApplicationCredentialStatus `json:"applicationCredential,omitempty"`

	// network holds the IDs of the network bundle.
	// +optional
	Network *TenantNetworkStatus `json:"network,omitempty"`

	// roleAssignments are the assignments this Tenant holds on the project, by ID. They
	// tell the operator what to revoke when a principal leaves the spec.
	// +optional
	// +listType=atomic
	RoleAssignments []AppliedRoleAssignment `json:"roleAssignments,omitempty"`

	// usage is what the project used this month so far and last month, and what it cost
	// at the Cloud's tariff.
	// +optional
	Usage *TenantUsage `json:"usage,omitempty"`

	// drift lists, under managementPolicy Observe, each difference between the spec and
	// what OpenStack holds: what Manage would change. Empty under Manage.
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

	// conditions: Ready and Progressing; InSync under Observe; Reconciling while
	// progressing and Stalled when failed (kstatus).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`
}

// AppliedRoleAssignment is one principal's roles on the project, by Keystone ID.
type AppliedRoleAssignment struct {
	// groupID of the principal, when it is a group.
	// +optional
	GroupID string `json:"groupID,omitempty"`
	// userID of the principal, when it is a user.
	// +optional
	UserID string `json:"userID,omitempty"`
	// roleIDs granted.
	// +listType=set
	RoleIDs []string `json:"roleIDs"`
}

// Tenant is a department's OpenStack project with its people: the unit a platform team
// hands to a department.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=tn,categories=whitehall
// +kubebuilder:printcolumn:name="Project",type=string,JSONPath=`.status.projectName`
// +kubebuilder:printcolumn:name="Project ID",type=string,JSONPath=`.status.projectID`,priority=1
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].reason`
// +kubebuilder:printcolumn:name="VCPU-H",type=string,JSONPath=`.status.usage.currentMonth.vcpuHours`
// +kubebuilder:printcolumn:name="Cost",type=string,JSONPath=`.status.usage.currentMonth.cost`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Tenant struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec TenantSpec `json:"spec"`
	// +optional
	Status TenantStatus `json:"status,omitempty"`
}

// TenantList is a list of Tenants.
//
// +kubebuilder:object:root=true
type TenantList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Tenant `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Tenant{}, &TenantList{})
}

// ProjectName is the name the project has or will have in Keystone: spec.project.name,
// else the name status records (a project keeps the name it was made or adopted with),
// else <namespace>_<name>. A namespace name cannot hold "_", so no two Tenants share a
// default; the old default <namespace>-<name> could ("dwp-universal" + "credit" and
// "dwp" + "universal-credit"), and cannot equal a new one either, as it never holds "_".
func (t *Tenant) ProjectName() string {
	if t.Spec.Project.Name != nil {
		return *t.Spec.Project.Name
	}
	if t.Status.ProjectName != "" {
		return t.Status.ProjectName
	}
	return t.Namespace + "_" + t.Name
}

// LegacyProjectName is the default project name before v1alpha1 Tenants defaulted to
// <namespace>_<name>: a project made under it keeps it.
func (t *Tenant) LegacyProjectName() string {
	return t.Namespace + "-" + t.Name
}
