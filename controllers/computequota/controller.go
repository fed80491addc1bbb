package computequota

import (
	"context"
	"fmt"
	"maps"
	"slices"
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
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
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
	Recorder recorder.EventRecorder
	Clouds   access.CloudConnector[Cloud]
	// Access resolves the Tenant's cloud.
	Access    access.Access
	Intervals frame.Intervals
	// Now is the clock; tests move it.
	Now func() time.Time

	// held is, per ComputeQuota UID, what its last successful reconcile left in
	// OpenStack (a heldQuota). It is newer than any cached status, so a reconcile on a
	// stale cache neither reads nor writes again; until a resync period has passed since
	// the last full read, a season boundary only writes what it changes.
	held sync.Map
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
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
		// Held until a peak is undone: the project goes back to its baseline first.
		Finalizer: whv1.ComputeQuotaFinalizer,
		Reconcile: func(ctx context.Context, cq *whv1.ComputeQuota) (frame.Step, error) {
			// Wake exactly at the next season boundary, not a poll later.
			wake, err := r.reconcile(ctx, cq, r.Now())
			return frame.Step{Wake: wake, Message: fmt.Sprintf("quota of project %s is up to date", cq.Status.ProjectID)}, err
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

// reconcile returns how long until the next season transition (0 for never). While a
// DepartmentPolicy is breached, raises are held back and limits that come down are still
// written: a peak always comes down.
func (r *Reconciler) reconcile(ctx context.Context, cq *whv1.ComputeQuota, now time.Time) (time.Duration, error) {
	breaches, err := r.mayWrite(ctx, cq)
	if err != nil {
		return 0, err
	}
	seasons, missing, err := lookups.LoadSeasons(ctx, r.Client, lookups.SeasonsOf(cq))
	if err != nil {
		return 0, err
	}
	active := season.Active(seasons, now)
	wake, next, ok := lookups.UntilNext(seasons, now)
	boundary := cq.Status.NextTransition // the boundary this reconcile may be the one for
	cq.Status.NextTransition = nil
	if ok {
		cq.Status.NextTransition = &metav1.Time{Time: next}
	}
	effective := lookups.EffectiveQuota(cq, active)

	tenant, cloud, err := r.tenantCloud(ctx, cq)
	if err != nil {
		return wake, err
	}
	project := tenant.Status.ProjectID
	if len(breaches) > 0 {
		r.held.Delete(cq.UID) // status is not Ready: the next write reads afresh
		cq.Status.ProjectID = project
		applied, err := lowerQuota(ctx, cloud, project, effective)
		if err != nil {
			return wake, err
		}
		r.record(ctx, cq, project, active, applied.wanted, applied, boundary, now)
		return wake, lookups.PolicyViolation(breaches, raisesHeld(applied))
	}
	last, fresh := r.lastApplied(cq, project, now)
	cq.Status.ProjectID = project

	applied, err := applyQuota(ctx, cloud, project, effective, last.limits, last.usage, fresh)
	if err != nil {
		return wake, err
	}
	if !fresh {
		last.fullRead = now
	}
	holds := r.record(ctx, cq, project, active, effective, applied, boundary, now)
	r.held.Store(cq.UID, heldQuota{project: project, limits: holds, usage: applied.usage, fullRead: last.fullRead})
	return wake, missing
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

// record puts what a reconcile left in OpenStack into status and events: the writes, the
// seasons, the limits OpenStack holds (wanted, or usage where a service held a limit
// there) and usage. It returns those limits.
func (r *Reconciler) record(ctx context.Context, cq *whv1.ComputeQuota, project string, active []string,
	wanted quota.Limits, applied appliedQuota, boundary *metav1.Time, now time.Time) quota.Limits {
	if len(applied.changes) > 0 {
		observeTransitionLag(boundary, now)
		cq.Status.LastAppliedTime = &metav1.Time{Time: now}
		frame.Notify(ctx, r.Recorder, cq, "Normal", "QuotaApplied", "SetQuota", "Set %s on project %s%s",
			joinChanges(applied.changes), project, seasonNote(active))
	}
	if !slices.Equal(active, cq.Status.ActiveSeasons) {
		r.announceSeasons(ctx, cq, cq.Status.ActiveSeasons, active, len(applied.raises) > 0)
	}
	cq.Status.ActiveSeasons = active
	// effective in status is what OpenStack holds: a limit held at usage shows as held.
	holds := maps.Clone(wanted)
	maps.Copy(holds, applied.held)
	cq.Status.Effective = quota.ToAPI(holds)
	cq.Status.Usage = quota.ToAPI(applied.usage)
	r.checkUsage(ctx, cq, wanted, applied)
	return holds
}

// mayWrite returns the DepartmentPolicy breaches that hold cq's raises back, or why cq
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
		r.held.Delete(cq.UID)
		cq.Status.NextTransition, cq.Status.ActiveSeasons = nil, nil
		cq.Status.Effective, cq.Status.Usage = whv1.QuotaSet{}, whv1.QuotaSet{}
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionBelowUsage)
		return nil, frame.NewSpecError(whv1.ReasonConflict, fmt.Sprintf(
			"ComputeQuota %q already manages the quota of Tenant %q: one ComputeQuota per Tenant, the oldest writes; this one takes over if that one is deleted",
			writer.Name, cq.Spec.TenantRef.Name))
	}
	return breaches, nil
}

// lastApplied is what cq's quota in project is known to be — remembered from the last
// reconcile (newer than any cached status), else from status when that says it was
// applied — and whether every service was read within the resync period. The memory is
// taken: it is kept again only when this reconcile succeeds.
func (r *Reconciler) lastApplied(cq *whv1.ComputeQuota, project string, now time.Time) (heldQuota, bool) {
	mem, _ := r.held.LoadAndDelete(cq.UID)
	if last, ok := mem.(heldQuota); ok && last.project == project {
		return last, now.Sub(last.fullRead) < r.Intervals.Resync
	}
	last := heldQuota{project: project}
	if cq.Status.ProjectID == project && quotaApplied(cq) {
		last.limits, last.usage = quota.FromAPI(cq.Status.Effective), quota.FromAPI(cq.Status.Usage)
	}
	return last, false
}

// heldQuota is what one ComputeQuota's last reconcile left in OpenStack, and when every
// service was last read.
type heldQuota struct {
	project       string
	limits, usage quota.Limits
	fullRead      time.Time
}

// quotaApplied reports whether the last reconcile applied the quota, so status.effective
// is what OpenStack held then: Ready, or not Ready only for a missing season's peak.
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
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.ComputeQuota{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, frame.DeletionPredicate()))).
		Watches(&whv1.Tenant{}, handler.EnqueueRequestsFromMapFunc(quotas.OfTenant), builder.WithPredicates(lookups.TenantForQuotas())).
		// A ComputeQuota that comes or goes changes which of its Tenant's quotas writes,
		// and the namespace's sum.
		Watches(&whv1.ComputeQuota{}, handler.EnqueueRequestsFromMapFunc(r.siblingQuotas),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&whv1.DepartmentPolicy{}, handler.EnqueueRequestsFromMapFunc(lookups.GovernedBy(r.Client, quotas.NewList)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Namespace{}, handler.EnqueueRequestsFromMapFunc(lookups.InNamespace(r.Client, quotas.NewList)),
			builder.WithPredicates(predicate.LabelChangedPredicate{})).
		Watches(&whv1.PeakSeason{}, handler.EnqueueRequestsFromMapFunc(quotas.UsingSeason),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1), NewQueue: frame.NewFairQueue}).
		Named("computequota").
		Complete(r)
}
