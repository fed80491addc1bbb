package computequota

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
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
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Cloud is what the ComputeQuota controller needs of OpenStack.
type Cloud interface {
	openstack.Quotas
}

var _ Cloud = (*openstack.Cloud)(nil)

// Reconciler keeps a project's quota at its baseline overlaid with the peaks
// of the seasons active now, and wakes exactly when a season opens or closes.
type Reconciler struct {
	client.Client
	// Shard admits the namespaces this process works in (controllers/shard); nil: all.
	Shard    *shard.Shard
	Recorder recorder.EventRecorder
	Clouds   access.CloudConnector[Cloud]
	// Access resolves the Tenant's cloud.
	Access    access.Access
	Intervals frame.Intervals
	// Now is the clock; tests move it.
	Now func() time.Time

	// lastApplied is, per ComputeQuota UID, what its last successful reconcile left in
	// OpenStack (an observation). It is newer than any cached status, so a reconcile on a
	// stale cache neither reads nor writes again; until a resync period has passed since
	// the last full read, a season boundary only writes what it changes.
	lastApplied sync.Map
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
	// Views passes on the projects the clouds' bulk views found changed: their
	// ComputeQuotas are reconciled at once, and read (nil: no bulk view).
	Views *openstack.ViewFeed
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=computequotas,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=computequotas/finalizers,verbs=update
// +kubebuilder:rbac:groups=whitehall.cloud,resources=computequotas/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=peakseasons,verbs=get;list;watch

// Reconcile computes the effective quota, writes what differs, and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	ctx = openstack.WithNamespace(ctx, req.Namespace) // the cloud's rate limit serves namespaces in turn
	return frame.Reconcile(ctx, req, &whv1.ComputeQuota{}, frame.Kind[*whv1.ComputeQuota]{
		Client:    r.Client,
		Intervals: r.Intervals,
		// Kept until a peak is undone: the project goes back to its baseline first.
		Finalizer: whv1.ComputeQuotaFinalizer,
		Gate:      r.Shard,
		Reconcile: func(ctx context.Context, cq *whv1.ComputeQuota) (frame.Step, error) {
			return r.reconcile(ctx, cq, r.Now())
		},
		Delete: r.reconcileDelete,
		Forget: forgetQuotaMetrics, // published again once it can be read
		Published: func(cq *whv1.ComputeQuota) {
			if ready := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionReady); ready.Reason != whv1.ReasonConflict {
				// The Tenant's metrics belong to the ComputeQuota that writes its quota.
				recordQuotaMetrics(cq)
			}
		},
	})
}

// reconcile brings cq's project to its effective quota and wakes exactly at the next
// season boundary, not a poll later. A season that is missing or invalid costs only its
// own peak: the step is done, degraded by it.
func (r *Reconciler) reconcile(ctx context.Context, cq *whv1.ComputeQuota, now time.Time) (frame.Step, error) {
	breaches, err := r.mayWrite(ctx, cq)
	if err != nil {
		return frame.Step{}, err
	}
	seasons, missing, err := lookups.LoadSeasons(ctx, r.Client, lookups.SeasonsOf(cq))
	if err != nil {
		return frame.Step{}, err
	}
	var done frame.Step
	done.Degrade(missing)
	active := season.Active(seasons, now)
	wake, next, ok := lookups.UntilNext(seasons, now)
	done.Wake = wake
	boundary := cq.Status.NextTransition // the boundary this reconcile may be the one for
	cq.Status.NextTransition = nil
	if ok {
		cq.Status.NextTransition = &metav1.Time{Time: next}
	}
	// A peak awaiting approval is not applied: its season is left out of active.
	if active, err = r.approvedSeasons(ctx, cq, seasons, active, now); err != nil {
		return frame.Step{}, err
	}
	// A peak its season could not grant in full comes down to its grant.
	grants, err := r.peakCapacity(ctx, cq, now)
	if err != nil {
		return frame.Step{}, err
	}
	effective := grantedQuota(cq, active, grants)
	if cq.Observes() {
		differences, err := r.observeOnly(ctx, cq, active, effective, breaches, now)
		done.Message = fmt.Sprintf("quota of project %s observed, not managed (managementPolicy Observe): %d difference(s)",
			cq.Status.ProjectID, differences)
		return done, err
	}
	lookups.ClearDrift(&cq.Status.Drift, &cq.Status.Conditions)
	err = r.sync(ctx, cq, active, effective, boundary, breaches, now)
	done.Message = fmt.Sprintf("quota of project %s is up to date", cq.Status.ProjectID)
	return done, err
}

// sync writes effective, the quota of the seasons active, to cq's project and records
// it. While a DepartmentPolicy is breached, raises are withheld and limits that come
// down are still written: a peak always comes down.
func (r *Reconciler) sync(ctx context.Context, cq *whv1.ComputeQuota, active []string, effective quota.Limits,
	boundary *metav1.Time, breaches []policy.Breach, now time.Time) error {
	tenant, cloud, err := r.tenantCloud(ctx, cq)
	if err != nil {
		return err
	}
	if tenant.Observes() {
		// The project is only observed (an import perhaps not adopted yet): nothing is
		// written to it until its Tenant manages it.
		return frame.NewSpecError(whv1.ReasonTenantNotReady, fmt.Sprintf(
			"Tenant %q is under managementPolicy Observe: its project's quota is written only once the Tenant manages it; set this ComputeQuota's managementPolicy to Observe to see its drift",
			tenant.Name))
	}
	project := tenant.Status.ProjectID
	w := quotaWrite{cloud: cloud, project: project, trustSince: now.Add(-r.Intervals.Resync)}
	if len(breaches) > 0 {
		r.lastApplied.Delete(cq.UID) // status is not Ready: the next write reads afresh
		cq.Status.ProjectID = project
		applied, err := w.lower(ctx, effective)
		if err != nil {
			return err
		}
		r.record(ctx, cq, project, active, applied.wanted, applied, boundary, now)
		return lookups.PolicyViolation(breaches, raisesWithheld(applied))
	}
	last := r.observe(cq, project)
	cq.Status.ProjectID = project
	applied, err := w.apply(ctx, effective, last)
	if err != nil {
		return err
	}
	seen := observation{project: project, readAt: last.readAt}
	if !w.fresh(last) {
		seen.readAt = now // every service was read or written just now
	}
	seen.Limits = r.record(ctx, cq, project, active, effective, applied, boundary, now)
	seen.InUse = applied.usage
	r.lastApplied.Store(cq.UID, seen)
	return nil
}

// tenantCloud returns cq's Tenant, ready, and the cloud its project is in.
func (r *Reconciler) tenantCloud(ctx context.Context, cq *whv1.ComputeQuota) (*whv1.Tenant, Cloud, error) {
	tenant, err := lookups.ReadyTenant(ctx, r.Client, cq.Namespace, cq.Spec.TenantRef.Name)
	if err != nil {
		return nil, nil, err
	}
	acc, err := r.Access.ForTenant(ctx, tenant, false)
	if err != nil {
		return nil, nil, err
	}
	cloud, err := r.Clouds.Cloud(ctx, acc.Ref)
	return tenant, cloud, err
}

// mayWrite returns the DepartmentPolicy breaches that withhold cq's raises, or why cq
// may not write its Tenant's quota at all: another ComputeQuota of the Tenant writes it
// (Conflict). Then nothing is written, the limits in OpenStack stay as they are, and
// they are read afresh once cq may write again.
func (r *Reconciler) mayWrite(ctx context.Context, cq *whv1.ComputeQuota) ([]policy.Breach, error) {
	breaches, err := r.checkPolicies(ctx, cq)
	if err != nil {
		return nil, err
	}
	writer, err := lookups.QuotaWriter(ctx, r.Client, cq)
	if err != nil {
		return nil, err
	}
	if writer.UID != cq.UID {
		// It writes nothing, so it reports nothing of the project's quota.
		r.lastApplied.Delete(cq.UID)
		cq.Status.NextTransition, cq.Status.ActiveSeasons = nil, nil
		cq.Status.Effective, cq.Status.Usage, cq.Status.PendingPeaks = whv1.QuotaSet{}, whv1.QuotaSet{}, nil
		cq.Status.PeakCapacity = nil
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionBelowUsage)
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionPeakApproval)
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionPeakCapacity)
		return nil, frame.NewSpecError(whv1.ReasonConflict, fmt.Sprintf(
			"ComputeQuota %q already manages the quota of Tenant %q: one ComputeQuota per Tenant, the oldest writes; this one takes over if that one is deleted",
			writer.Name, cq.Spec.TenantRef.Name))
	}
	return breaches, nil
}

// observe is what cq's quota in project is known to be: remembered from the last
// reconcile (newer than any cached status), else from status when that says it was
// applied, never read in full as far as this process knows. The memory is taken: it is
// kept again only when this reconcile succeeds.
func (r *Reconciler) observe(cq *whv1.ComputeQuota, project string) observation {
	mem, _ := r.lastApplied.LoadAndDelete(cq.UID)
	if last, ok := mem.(observation); ok && last.project == project {
		return last
	}
	last := observation{project: project}
	if cq.Status.ProjectID == project && quotaApplied(cq) {
		last.Limits, last.InUse = quota.FromAPI(cq.Status.Effective), quota.FromAPI(cq.Status.Usage)
	}
	return last
}

// quotaApplied reports whether the last reconcile applied the quota, so status.effective
// is what OpenStack had then: Ready, or not Ready only for a missing season's peak.
func quotaApplied(cq *whv1.ComputeQuota) bool {
	ready := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionReady)
	return ready != nil && (ready.Status == metav1.ConditionTrue || ready.Reason == whv1.ReasonSeasonNotFound)
}

// SetupWithManager registers the controller: ComputeQuotas, their Tenants, the
// PeakSeasons they use, and the DepartmentPolicies that govern their namespace.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	quotas := lookups.Dependents{Reader: r.Client, NewList: func() client.ObjectList { return &whv1.ComputeQuotaList{} }}
	spread := frame.SpreadStart(r.Intervals.Resync)
	b := ctrl.NewControllerManagedBy(mgr)
	if r.Views != nil {
		changed, err := lookups.ViewChanges(mgr, r.Views, r.quotasOfChangedProject)
		if err != nil {
			return err
		}
		b = b.WatchesRawSource(changed)
	}
	return b.
		// After a restart, an unchanged object is first looked at a resync after its last
		// full read, not with every other at once (frame.SpreadStart).
		For(&whv1.ComputeQuota{}, builder.WithPredicates(r.Shard.Predicate(), predicate.And(spread.Predicate, predicate.Or(predicate.GenerationChangedPredicate{}, frame.DeletionPredicate())))).
		Watches(&whv1.ComputeQuota{}, spread.Handler, builder.WithPredicates(r.Shard.Predicate())).
		Watches(&whv1.Tenant{}, handler.EnqueueRequestsFromMapFunc(quotas.OfTenant), builder.WithPredicates(frame.LaterEvents(), lookups.TenantForQuotas())).
		// A ComputeQuota that comes or goes changes which of its Tenant's quotas writes,
		// and the namespace's sum.
		Watches(&whv1.ComputeQuota{}, handler.EnqueueRequestsFromMapFunc(r.siblingQuotas),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		Watches(&whv1.DepartmentPolicy{}, handler.EnqueueRequestsFromMapFunc(lookups.GovernedBy(r.Client, quotas.NewList)),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(lookups.InNamespace(r.Client, quotas.NewList)),
			builder.WithPredicates(frame.LaterEvents(), predicate.LabelChangedPredicate{})).
		Watches(&whv1.PeakSeason{}, handler.EnqueueRequestsFromMapFunc(quotas.UsingSeason),
			builder.WithPredicates(frame.LaterEvents(), predicate.GenerationChangedPredicate{})).
		// The season's judgement (status.confirmation): only the quotas whose grant changed.
		Watches(&whv1.PeakSeason{}, judgementChanged(quotas.UsingSeason)).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), NewQueue: frame.NewFairQueue}).
		Named("computequota").
		Complete(r)
}

// quotasOfChangedProject are the ComputeQuotas of a project a bulk view found changed.
// What each remembers of its quota is forgotten: its reconcile then reads the quota (the
// view serves Neutron's) instead of trusting an observation the change made stale.
func (r *Reconciler) quotasOfChangedProject(ctx context.Context, projectID string) []reconcile.Request {
	list := &whv1.ComputeQuotaList{}
	if err := r.List(ctx, list, client.MatchingFields{lookups.ProjectIDIndex: projectID}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing the ComputeQuotas of a project a bulk view found changed")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for i := range list.Items {
		r.lastApplied.Delete(list.Items[i].UID)
		out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
	}
	return out
}
