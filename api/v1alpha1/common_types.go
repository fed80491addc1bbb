package v1alpha1

// Condition types shared by every kind.
const (
	// ConditionReady is True when the cloud matches the spec.
	ConditionReady = "Ready"
	// ConditionInSync is set only under managementPolicy Observe: True when OpenStack
	// holds what the spec asks for, False when status.drift lists differences.
	ConditionInSync = "InSync"
	// ConditionProgressing is True while the operator is still acting to reach the spec.
	ConditionProgressing = "Progressing"
	// ConditionReconciling is True, with Progressing's reason and message, while the
	// operator is still acting to reach the spec, and absent otherwise. It is the
	// abnormal-true condition kstatus (Flux's health checks, kubectl wait in cli-utils)
	// reads as InProgress; Progressing alone it does not read.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True, with Ready's reason and message, when the object failed
	// and waits for a change (to its spec, its Secret, the cloud or an object it names)
	// rather than retrying on its own, and absent otherwise. kstatus reads it as Failed.
	ConditionStalled = "Stalled"
)

// Condition reasons shared by every kind. Each names what a person should look at.
const (
	// ReasonInSync: observed, and OpenStack holds what the spec asks for.
	ReasonInSync = "InSync"
	// ReasonDrifted: observed, and OpenStack differs from the spec; status.drift lists how.
	ReasonDrifted = "Drifted"
	// ReasonReady: the object is reconciled and up to date.
	ReasonReady = "Ready"
	// ReasonDeleting: the object is being deleted and its cloud resources removed.
	ReasonDeleting = "Deleting"
	// ReasonInvalidConfiguration: the spec cannot be acted on as written; fix it.
	// The operator does not retry until the object changes.
	ReasonInvalidConfiguration = "InvalidConfiguration"
	// ReasonCredentialsError: the credentials Secret is missing, malformed, or rejected by
	// Keystone.
	ReasonCredentialsError = "CredentialsError"
	// ReasonTransientError: OpenStack answered with a temporary failure (5xx, 429,
	// timeout); the operator retries with back-off.
	ReasonTransientError = "TransientError"
	// ReasonDependencyNotFound: something the spec names (a domain, role, group, user, or
	// project to import) does not exist in OpenStack yet; the operator retries.
	ReasonDependencyNotFound = "DependencyNotFound"
	// ReasonNameNotUsable: a name the spec gives (an external network, an image, a
	// network) matches several things the project may use, or an ID names one it may not
	// use (another project's, or a network that is not external); give the ID of one it
	// may use. Re-checked at the resync period.
	ReasonNameNotUsable = "NameNotUsable"
	// ReasonCloudRefused: OpenStack refused a request for a reason retrying will not
	// change (for example a policy forbids it); the message quotes the cloud's answer.
	ReasonCloudRefused = "CloudRefused"
	// ReasonAlreadyExists: a project with the wanted name exists and was not created by
	// this object; adopt it with spec.import or choose another name.
	ReasonAlreadyExists = "AlreadyExists"
	// ReasonAlreadyOwned: the project belongs to another Tenant (its recorded owner is a
	// live Tenant, or it was handed over to another namespace); it is never taken over.
	ReasonAlreadyOwned = "AlreadyOwned"
	// ReasonOwnedByAnotherCluster: the project records this Tenant's namespace and name,
	// but its owner lives in another cluster that still renews its record in the cloud;
	// it is left alone, and taken back only once that record has expired.
	ReasonOwnedByAnotherCluster = "OwnedByAnotherCluster"
	// ReasonImportNotAllowed: the project to import was not handed over to this
	// namespace: the cloud admin tags it whitehall.cloud:handover=<namespace> first.
	ReasonImportNotAllowed = "ImportNotAllowed"
	// ReasonProjectProtected: the project is one of the Cloud's protectedProjects.
	ReasonProjectProtected = "ProjectProtected"
	// ReasonRoleNotAllowed: the spec asks for a role the operator may not grant
	// (--grantable-roles).
	ReasonRoleNotAllowed = "RoleNotAllowed"
	// ReasonSecretConflict: a Secret the operator would write exists and is not its own.
	ReasonSecretConflict = "SecretConflict"
	// ReasonDeletionBlocked: deletion waits because the project still holds resources the
	// operator did not create (servers, volumes, ports); the message lists them.
	ReasonDeletionBlocked = "DeletionBlocked"
	// ReasonConflict: another object already writes what this one would (one project's
	// quota); the message names it. The first one keeps working.
	ReasonConflict = "Conflict"
)

// CloudCredentialsReference names a clouds.yaml in a Secret of the object's own
// namespace, and the cloud in it to use.
type CloudCredentialsReference struct {
	// secretName is the name of a Secret in the same namespace. It holds the key
	// clouds.yaml and, optionally, the key cacert with a PEM CA bundle.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	SecretName string `json:"secretName"`

	// cloudName is the entry of clouds.yaml to use.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=255
	CloudName string `json:"cloudName"`
}

// DeletionPolicy says what happens to the OpenStack resources when the object goes.
// +kubebuilder:validation:Enum=Delete;Retain
type DeletionPolicy string

const (
	// DeletionPolicyDelete removes the OpenStack resources with the object.
	DeletionPolicyDelete DeletionPolicy = "Delete"
	// DeletionPolicyRetain leaves the OpenStack resources in place.
	DeletionPolicyRetain DeletionPolicy = "Retain"
)

// LocalObjectReference names an object of a known kind in the same namespace.
type LocalObjectReference struct {
	// name of the object.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
}

// ManagementPolicy says whether the operator changes OpenStack for an object.
//
// +kubebuilder:validation:Enum=Manage;Observe
type ManagementPolicy string

const (
	// ManagementPolicyManage: the operator makes OpenStack match the spec.
	ManagementPolicyManage ManagementPolicy = "Manage"
	// ManagementPolicyObserve: the operator reads what it would manage, writes nothing to
	// OpenStack, and lists the differences in status.drift.
	ManagementPolicyObserve ManagementPolicy = "Observe"
)

// MaxDrift bounds status.drift; a longer list ends with an entry saying how many more.
const MaxDrift = 64

// MaxDriftValue bounds each string of a DriftEntry.
const MaxDriftValue = 1024

// DriftEntry is one difference between the spec and what OpenStack holds: what the
// operator would change under managementPolicy Manage.
type DriftEntry struct {
	// field is what differs, e.g. compute.cores, tags, roleAssignments.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Field string `json:"field"`
	// desired is the value the spec asks for ("absent": the operator would remove it).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Desired string `json:"desired,omitempty"`
	// actual is the value OpenStack holds ("absent": there is none).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Actual string `json:"actual,omitempty"`
}
