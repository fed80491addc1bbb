package testenvironment

import (
	"context"
	"fmt"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/controllers/shard"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Cloud is what the TestEnvironment controller needs of OpenStack: the
// servers of a project and, with the admin's credentials, whether a project still
// exists.
type Cloud interface {
	openstack.Servers
	GetProject(ctx context.Context, id string) (*openstack.Project, error)
}

var _ Cloud = (*openstack.Cloud)(nil)

// Reconciler keeps a burst of servers at the size asked for, raised for
// peak seasons, and deletes the environment when its TTL passes.
type Reconciler struct {
	client.Client
	// Shard admits the namespaces this process works in (controllers/shard); nil: all.
	Shard     *shard.Shard
	Recorder  recorder.EventRecorder
	Clouds    access.CloudConnector[Cloud]
	Intervals frame.Intervals
	// Now is the clock; tests move it.
	Now func() time.Time
	// MaxConcurrentCreates bounds the servers one environment creates at once, so a burst
	// of 50 does not flood Nova.
	MaxConcurrentCreates int
	// BuildPoll is how often servers being built or deleted are looked at: Nova has no
	// watch.
	BuildPoll time.Duration
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// UncertainCreateWait is how long an index whose create got no clear answer waits
	// for Nova to list its server before it is booted again (default 30s).
	UncertainCreateWait time.Duration
	// ServerRetry is how long an index whose server went to ERROR waits before it is
	// booted again, doubling with each failure in a row up to 20 times it (default 30s,
	// so at most 10m).
	ServerRetry time.Duration

	// Access resolves the Tenant's cloud; APIReader reads user-data Secrets live (the
	// cache has no department Secret the operator did not write).
	Access    access.Access
	APIReader client.Reader

	pending pendingCreates
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=testenvironments,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups=whitehall.cloud,resources=testenvironments/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=testenvironments/finalizers,verbs=update
// +kubebuilder:rbac:groups=whitehall.cloud,resources=computequotas,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// Reconcile brings the servers to the desired count and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ctx = openstack.WithNamespace(ctx, req.Namespace) // the cloud's rate limit serves namespaces in turn
	return frame.Reconcile(ctx, req, &whv1.TestEnvironment{}, frame.Kind[*whv1.TestEnvironment]{
		Client:    r.Client,
		Intervals: r.Intervals,
		Finalizer: whv1.TestEnvironmentFinalizer,
		Gate:      r.Shard,
		Reconcile: func(ctx context.Context, env *whv1.TestEnvironment) (frame.Step, error) {
			env.Status.Selector = selectorFor(env)
			return r.reconcile(ctx, env, r.Now())
		},
		Delete: func(ctx context.Context, env *whv1.TestEnvironment) (frame.Step, error) {
			env.Status.Selector = selectorFor(env)
			done, err := r.reconcileDelete(ctx, env)
			return frame.Deletion(done, "deleting servers"), err
		},
		Poll:      r.pollInterval,
		Forget:    func(key client.ObjectKey) { forgetServerMetrics(key.Namespace, key.Name) },
		Published: recordServerMetrics,
	})
}

// pollInterval is how soon servers being built or going are listed again: BuildPoll,
// stretched by one BuildPoll per ten servers still on their way (at most five), so a
// burst of fifty is not listed every two seconds while Nova is busy booting it.
func (r *Reconciler) pollInterval(env *whv1.TestEnvironment) time.Duration {
	waiting := max(env.Status.DesiredReplicas, env.Status.Replicas) - env.Status.ReadyReplicas
	return r.BuildPoll * time.Duration(min(1+max(waiting, 0)/10, 5))
}

func (r *Reconciler) reconcile(ctx context.Context, env *whv1.TestEnvironment, now time.Time) (frame.Step, error) {
	var err error
	ttlWake, expired := r.checkTTL(ctx, env, now)
	if expired {
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, whv1.ReasonExpired, "Delete", "TTL passed at %s: deleting the environment", env.Status.ExpiresAt.Format(time.RFC3339))
		if err := r.Delete(ctx, env); err != nil && !apierrors.IsNotFound(err) {
			return frame.Step{}, err
		}
		return frame.Step{Busy: true, Reason: whv1.ReasonExpired, Message: "TTL passed: deleting"}, nil
	}

	// A breach boots nothing new (only maxReplicas: nothing above it); what runs keeps
	// running, and scaling down still works.
	limit := bootLimit{servers: -1}
	limit.breaches, err = lookups.PolicyChecker{Reader: r.Client, Recorder: r.Recorder}.Check(ctx, env, &env.Status.Conditions,
		func(p *whv1.DepartmentPolicy) []policy.Breach {
			return limit.add(p, policy.EnvironmentBreaches(p, env))
		})
	if err != nil {
		return frame.Step{Wake: ttlWake}, err
	}
	seasons, missing, err := lookups.LoadSeasons(ctx, r.Client, lookups.SeasonsOf(env))
	if err != nil {
		return frame.Step{Wake: ttlWake}, err
	}
	active := season.Active(seasons, now)
	env.Status.ActiveSeasons = active
	env.Status.DesiredReplicas = desiredReplicas(env, active)
	seasonWake, _, _ := lookups.UntilNext(seasons, now)
	wake := frame.Earliest(ttlWake, seasonWake)

	tenant, err := lookups.ReadyTenant(ctx, r.Client, env.Namespace, env.Spec.TenantRef.Name)
	if err != nil {
		return frame.Step{Wake: wake}, err
	}
	if tenant.Observes() {
		// An observed project has no service user to boot as, and nothing is written to
		// it (an import perhaps not adopted yet) until its Tenant manages it.
		return frame.Step{Wake: wake}, frame.NewSpecError(whv1.ReasonTenantNotReady, fmt.Sprintf(
			"Tenant %q is under managementPolicy Observe: no server is booted in its project until the Tenant manages it", tenant.Name))
	}
	cloud, err := r.projectCloud(ctx, tenant)
	if err != nil {
		return frame.Step{Wake: wake}, err
	}
	if recorded, err := r.recordIdentity(ctx, env, tenant); err != nil || !recorded {
		return frame.Step{Busy: true, Reason: whv1.ReasonDeleting, Wake: wake,
			Message: fmt.Sprintf("deleting the servers left in project %s before booting in project %s", env.Status.ProjectID, tenant.Status.ProjectID)}, err
	}
	progress, err := r.scale(ctx, cloud, env, tenant, limit)
	progress.Wake = frame.Earliest(progress.Wake, wake)
	// A missing season cost only its own peak; the frame says so once the servers are
	// settled.
	progress.Degrade(missing)
	return progress, err
}

// bootLimit is what DepartmentPolicies let an environment boot: servers up to servers
// (-1: no bound), and the breaches that bound it.
type bootLimit struct {
	breaches []policy.Breach
	servers  int
	// images: a policy lists the images the environment may use, so its image resolves
	// among public images only (a private one named like a listed one cannot pass).
	images openstack.ImageScope
}

// add bounds the limit by one policy's breaches, and returns them: a breach of
// maxReplicas alone lets servers boot up to it; any other breach, none.
func (l *bootLimit) add(p *whv1.DepartmentPolicy, breaches []policy.Breach) []policy.Breach {
	if p.Spec.Environments != nil && len(p.Spec.Environments.Images) > 0 {
		l.images = openstack.PublicImages
	}
	for _, b := range breaches {
		limit := 0
		if b.Rule == policy.RuleMaxReplicas {
			limit = int(*p.Spec.Environments.MaxReplicas)
		}
		if l.servers < 0 || limit < l.servers {
			l.servers = limit
		}
	}
	return breaches
}

// projectCloud logs in to the Tenant's project as its service user. (Deletion logs in
// with the identity recorded in status instead: see recordedCloud.)
func (r *Reconciler) projectCloud(ctx context.Context, tenant *whv1.Tenant) (Cloud, error) {
	acc, err := r.Access.ForTenant(ctx, tenant, false)
	if err != nil {
		return nil, err
	}
	user, _, err := r.Access.ProjectUser(ctx, r.Client, tenant)
	if err != nil {
		return nil, err
	}
	return r.Clouds.ProjectCloud(ctx, acc.Ref, user)
}

// checkTTL sets expiresAt, warns once shortly before expiry, and reports how long until
// the next TTL moment and whether the TTL has passed.
func (r *Reconciler) checkTTL(ctx context.Context, env *whv1.TestEnvironment, now time.Time) (time.Duration, bool) {
	if env.Spec.TTL == nil {
		env.Status.ExpiresAt = nil
		return 0, false
	}
	ttl := env.Spec.TTL.Duration
	expires := env.CreationTimestamp.Add(ttl)
	env.Status.ExpiresAt = &metav1.Time{Time: expires}
	if !now.Before(expires) {
		return 0, true
	}
	warnAt := expires.Add(-min(ttl/10, time.Hour))
	if now.Before(warnAt) {
		return warnAt.Sub(now), false
	}
	if !env.Status.ExpiryWarned {
		env.Status.ExpiryWarned = true
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "Expiring", "Warn",
			"The environment deletes itself at %s (TTL %s)", expires.Format(time.RFC3339), ttl)
	}
	return expires.Sub(now), false
}

// desiredReplicas is the larger of spec.replicas and the replicas of every active peak;
// replicas 0 turns the environment off, peaks included, so scaling to zero always
// empties it.
func desiredReplicas(env *whv1.TestEnvironment, active []string) int32 {
	n := int32(1)
	if env.Spec.Replicas != nil {
		n = *env.Spec.Replicas
	}
	if n == 0 {
		return 0
	}
	for _, p := range env.Spec.Peaks {
		if slices.Contains(active, p.Season) {
			n = max(n, p.Replicas)
		}
	}
	return n
}

func selectorFor(env *whv1.TestEnvironment) string {
	return "whitehall.cloud/testenvironment=" + env.Name
}

// SetupWithManager registers the controller: TestEnvironments, their Tenants, the
// PeakSeasons they use, their Tenant's ComputeQuotas (a raised quota lets a refused
// burst complete at once), and the DepartmentPolicies that govern their namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.BuildPoll == 0 {
		r.BuildPoll = 2 * time.Second
	}
	if r.MaxConcurrentCreates <= 0 {
		r.MaxConcurrentCreates = 10
	}
	if r.ServerRetry <= 0 {
		r.ServerRetry = 30 * time.Second
	}
	envs := lookups.Dependents{Reader: r.Client, NewList: func() client.ObjectList { return &whv1.TestEnvironmentList{} }}
	spread := frame.SpreadStart(r.Intervals.Resync)
	return ctrl.NewControllerManagedBy(mgr).
		// After a restart, an unchanged object is first looked at a resync after its last
		// full read, not with every other at once (frame.SpreadStart).
		For(&whv1.TestEnvironment{}, builder.WithPredicates(r.Shard.Predicate(), predicate.And(spread.Predicate, predicate.Or(predicate.GenerationChangedPredicate{}, frame.DeletionPredicate())))).
		Watches(&whv1.TestEnvironment{}, spread.Handler, builder.WithPredicates(r.Shard.Predicate())).
		Watches(&whv1.Tenant{}, handler.EnqueueRequestsFromMapFunc(envs.OfTenant), builder.WithPredicates(frame.LaterEvents(), lookups.TenantForEnvironments())).
		Watches(&whv1.ComputeQuota{}, handler.EnqueueRequestsFromMapFunc(envs.OfQuotaTenant), builder.WithPredicates(frame.LaterEvents(), lookups.QuotaForEnvironments())).
		Watches(&whv1.PeakSeason{}, handler.EnqueueRequestsFromMapFunc(envs.UsingSeason),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		Watches(&whv1.DepartmentPolicy{}, handler.EnqueueRequestsFromMapFunc(lookups.GovernedBy(r.Client, envs.NewList)),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(lookups.InNamespace(r.Client, envs.NewList)),
			builder.WithPredicates(frame.LaterEvents(), predicate.LabelChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), NewQueue: frame.NewFairQueue}).
		Named("testenvironment").
		Complete(r)
}
