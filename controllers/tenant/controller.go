package tenant

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/controllers/shard"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// Cloud is what the Tenant controller needs of OpenStack.
type Cloud interface {
	openstack.Projects
	openstack.Directory
	openstack.RoleAssignments
	openstack.ProjectContents
	openstack.Networks
	openstack.NetworkObserver
	openstack.ServiceUsers
	openstack.ApplicationCredentials
	openstack.ClusterRecords
	openstack.SubnetRanges
	Endpoint() openstack.Endpoint
}

var _ Cloud = (*openstack.Cloud)(nil)

// Reconciler keeps a department's Keystone project, its people and its lifecycle
// in line with a Tenant.
type Reconciler struct {
	client.Client
	// Shard admits the namespaces this process works in (controllers/shard); nil: all.
	Shard *shard.Shard
	// APIReader reads live, not from the cache: the Tenant itself, whose credential
	// rotation must never act on a status the cache has not caught up with yet, and
	// Secrets the cache does not have.
	APIReader client.Reader
	Recorder  recorder.EventRecorder
	Clouds    access.CloudConnector[Cloud]
	Access    access.Access
	// GrantableRoles are the only roles a Tenant may grant (names).
	GrantableRoles []string
	// Intervals of resync and of retries that no watch can trigger.
	Intervals frame.Intervals
	// Now is the clock; tests move it.
	Now func() time.Time
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// ClusterID names this cluster in the owner records of projects (takeback.go); ""
	// records none.
	ClusterID string
	// ClusterLease is how long another cluster's record lasts unrenewed before its
	// Tenants' projects may be taken back; zero means access.DefaultClusterLease.
	ClusterLease time.Duration

	// Views passes on the projects the clouds' bulk views found changed: their Tenants
	// are reconciled at once (nil: no bulk view).
	Views *openstack.ViewFeed

	// cidrs decides every network range drawn from a DepartmentPolicy's pool.
	cidrs addressSpace
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=testenvironments,verbs=get;list;watch;delete

// Reconcile reads the Tenant, acts on OpenStack, and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ctx = openstack.WithNamespace(ctx, req.Namespace) // the cloud's rate limit serves namespaces in turn
	return frame.Reconcile(ctx, req, &whv1.Tenant{}, frame.Kind[*whv1.Tenant]{
		Client: r.Client,
		// Live: a reconcile right after the last one (its own Secret writes trigger it)
		// would otherwise see the status before that one's patch, and make again an
		// application credential that was just handed out.
		Reader:    r.APIReader,
		Intervals: r.Intervals,
		Finalizer: whv1.TenantFinalizer,
		Gate:      r.Shard,
		Reconcile: r.reconcile,
		Forget:    r.cidrs.forget,
		Delete: func(ctx context.Context, t *whv1.Tenant) (frame.Step, error) {
			done, err := r.reconcileDelete(ctx, t)
			if done {
				r.releasePending(ctx, t) // its block is free for a Tenant waiting, at once
			}
			return frame.Deletion(done, ""), err
		},
	})
}

// reconcile wakes before the next resync when a credential rotates or a replaced one goes.
func (r *Reconciler) reconcile(ctx context.Context, t *whv1.Tenant) (frame.Step, error) {
	acc, err := r.Access.ForTenant(ctx, t, false)
	if err != nil {
		return frame.Step{}, err
	}
	// Checked before any OpenStack call: a role beyond --grantable-roles is never sent.
	if err := checkRoles(t, r.GrantableRoles); err != nil {
		return frame.Step{}, err
	}
	// A role outside a DepartmentPolicy's roles is not granted; one granted already is kept.
	var withheld []string
	breaches, err := lookups.PolicyChecker{Reader: r.Client, Recorder: r.Recorder}.Check(ctx, t, &t.Status.Conditions, func(p *whv1.DepartmentPolicy) []policy.Breach {
		withheld = append(withheld, policy.DisallowedRoles(p, policy.TenantRoles(t))...)
		return policy.TenantBreaches(p, t)
	})
	if err != nil {
		return frame.Step{}, err
	}
	if t.Observes() {
		return r.observe(ctx, acc, t, withheld, breaches)
	}
	lookups.ClearDrift(&t.Status.Drift, &t.Status.Conditions)
	cloud, err := r.Clouds.Cloud(ctx, acc.Ref)
	if err != nil {
		return frame.Step{}, err
	}
	var neutron neutronView
	if needsBlock(t) {
		if neutron, err = r.readNeutron(ctx, cloud, acc, t); err != nil {
			return frame.Step{}, err
		}
	}
	// Before any OpenStack write: the network's range, allocated or contested. A range
	// refused stops a new Tenant before anything is made; a project that exists is
	// still kept in line (its credential rotates), without the network.
	cidr, stop, cidrErr := r.tenantCIDR(ctx, t, neutron)
	var refused *frame.SpecError
	if stop != nil || (cidrErr != nil && (t.Status.ProjectID == "" || !errors.As(cidrErr, &refused))) {
		return ptr.Deref(stop, frame.Step{}), cidrErr
	}
	// A range refused to a project that exists: the rest is done without the network.
	var done frame.Step
	done.Degrade(cidrErr)
	project, created, err := r.reconcileProject(ctx, cloud, acc, t)
	if err != nil {
		return frame.Step{}, err
	}
	newUser := t.Status.ServiceUserID == ""
	if err := r.reconcileServiceUser(ctx, cloud, t); err != nil {
		return frame.Step{}, err
	}
	skipped, err := r.reconcileAssignments(ctx, cloud, t, created, withheld)
	if err != nil {
		if newUser {
			// Not published until it is granted its role: a TestEnvironment logging in as it
			// now would be refused. The next pass finds it again by name.
			t.Status.ServiceUserID = ""
		}
		return frame.Step{}, err
	}
	// The credential never waits behind the network: a network that cannot be made (a
	// name that resolves to nothing usable, a conflict) must not keep a department from
	// its credential or its rotation. The network's failure is still what status shows
	// when the credential step succeeds, before any role withheld.
	if cidrErr == nil {
		done.Degrade(r.reconcileNetwork(ctx, cloud, t, cidr, project.PreviousOwner))
	}
	if len(skipped) > 0 {
		done.Degrade(lookups.PolicyViolation(breaches, fmt.Sprintf("not granted: %s; the assignments held are kept", strings.Join(skipped, ", "))))
	}
	done.Wake, err = r.reconcileCredential(ctx, acc, cloud, t, r.Now())
	done.Message = fmt.Sprintf("project %s (%s) is up to date", t.Status.ProjectName, t.Status.ProjectID)
	return done, err
}

// checkRoles refuses roles the operator may not grant, in role assignments and in the
// application credential.
func checkRoles(t *whv1.Tenant, grantable []string) error {
	var asked []string
	for _, ra := range t.Spec.RoleAssignments {
		asked = append(asked, ra.Roles...)
	}
	if ac := t.Spec.ApplicationCredential; ac != nil {
		asked = append(asked, ac.Roles...)
	}
	var refused []string
	for _, role := range asked {
		if !slices.Contains(grantable, role) && !slices.Contains(refused, role) {
			refused = append(refused, role)
		}
	}
	if len(refused) > 0 {
		return frame.NewSpecError(whv1.ReasonRoleNotAllowed, fmt.Sprintf(
			"role(s) %s may not be granted by this operator; grantable roles are %s", strings.Join(refused, ", "), strings.Join(grantable, ", ")))
	}
	return nil
}

// SetupWithManager registers the controller: Tenants, the Secrets, Clouds and
// DepartmentPolicies they use.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	credentialSecrets, err := credentialSecretSource(mgr, r.Access.OperatorNamespace)
	if err != nil {
		return err
	}
	spread := frame.SpreadStart(r.Intervals.Resync)
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Views != nil {
		changed, err := lookups.ViewChanges(mgr, r.Views, lookups.ObjectsOfProject(r.Client, func() client.ObjectList { return &whv1.TenantList{} }))
		if err != nil {
			return err
		}
		b = b.WatchesRawSource(changed)
	}
	return b.
		// After a restart, an unchanged object is first looked at a resync after its last
		// full read, not with every other at once (frame.SpreadStart).
		For(&whv1.Tenant{}, builder.WithPredicates(r.Shard.Predicate(), predicate.And(spread.Predicate, predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, frame.DeletionPredicate())))).
		Watches(&whv1.Tenant{}, spread.Handler, builder.WithPredicates(r.Shard.Predicate())).
		// Secrets in the cache: the operator's own namespace (Clouds' credentials, identity
		// stores). The credential Secrets it wrote for Tenants: by their metadata alone.
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfSecret), builder.WithPredicates(frame.LaterEvents())).
		WatchesRawSource(credentialSecrets).
		Watches(&whv1.Cloud{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfCloud), builder.WithPredicates(frame.LaterEvents(), lookups.CloudForTenants())).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(r.tenantsInNamespace),
			builder.WithPredicates(frame.LaterEvents(), predicate.LabelChangedPredicate{})).
		// A new TestEnvironment gives the project its service user; a Tenant being
		// deleted waits for its TestEnvironments, and each one gone wakes it.
		Watches(&whv1.TestEnvironment{}, handler.EnqueueRequestsFromMapFunc(tenantOfEnvironment),
			builder.WithPredicates(frame.LaterEvents(), predicate.Funcs{
				UpdateFunc: func(event.UpdateEvent) bool { return false },
			})).
		// A policy's pool or selector changed: its Tenants' ranges are weighed again. A
		// Tenant gone frees its range for those waiting.
		Watches(&whv1.DepartmentPolicy{}, handler.EnqueueRequestsFromMapFunc(r.tenantsOfPolicy),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		Watches(&whv1.Tenant{}, handler.EnqueueRequestsFromMapFunc(r.tenantsAwaitingRange),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(event.UpdateEvent) bool { return false },
			})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), NewQueue: frame.NewFairQueue}).
		Named("tenant").
		Complete(r)
}

func tenantOfEnvironment(_ context.Context, o client.Object) []reconcile.Request {
	env := o.(*whv1.TestEnvironment)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: env.Namespace, Name: env.Spec.TenantRef.Name}}}
}

func (r *Reconciler) tenantsOfSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	if secret.GetNamespace() != r.Access.OperatorNamespace {
		return nil // not cached; credential Secrets come through credentialSecretSource
	}
	var clouds whv1.CloudList
	if err := r.List(ctx, &clouds, client.MatchingFields{lookups.CloudSecretIndex: secret.GetName()}); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for _, c := range clouds.Items {
		reqs = append(reqs, r.tenantsOfCloud(ctx, &c)...)
	}
	return reqs
}

func (r *Reconciler) tenantsOfCloud(ctx context.Context, cloud client.Object) []reconcile.Request {
	return lookups.ListRequests(ctx, r.Client, &whv1.TenantList{}, client.MatchingFields{lookups.CloudRefIndex: cloud.GetName()})
}

func (r *Reconciler) tenantsInNamespace(ctx context.Context, ns client.Object) []reconcile.Request {
	return lookups.InNamespace(r.Client, func() client.ObjectList { return &whv1.TenantList{} })(ctx, ns)
}
