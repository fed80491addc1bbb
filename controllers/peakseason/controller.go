package peakseason

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Cloud is what the PeakSeason controller needs of OpenStack.
type Cloud interface {
	openstack.Placement
}

var _ Cloud = (*openstack.Cloud)(nil)

// Reconciler reports whether a season is on and when it next changes, waking
// exactly then, and checks the peak quota departments committed against the cloud's
// capacity.
type Reconciler struct {
	client.Client
	Recorder  recorder.EventRecorder
	Clouds    access.CloudConnector[Cloud]
	Access    access.Access
	Intervals frame.Intervals
	// Now is the clock; tests move it.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=peakseasons,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=peakseasons/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=computequotas,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=departmentpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// Reconcile computes the season's state and capacity, and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return frame.Reconcile(ctx, req, &whv1.PeakSeason{}, frame.Kind[*whv1.PeakSeason]{
		Client:        r.Client,
		Intervals:     r.Intervals,
		NoProgressing: true,
		Reconcile:     r.reconcile,
		Forget:        forgetSeasonMetrics,
		Published:     recordSeasonMetrics,
	})
}

// reconcile wakes exactly at the season's next transition.
func (r *Reconciler) reconcile(ctx context.Context, ps *whv1.PeakSeason) (frame.Step, error) {
	s, err := lookups.CompileSeason(ps)
	if err != nil {
		return frame.Step{}, frame.NewSpecError(whv1.ReasonInvalidConfiguration, err.Error())
	}
	now := r.Now()
	active, current := s.ActiveAt(now)
	switch {
	case active && !ps.Status.Active:
		frame.Notify(ctx, r.Recorder, ps, corev1.EventTypeNormal, "SeasonOpened", "Transition", "Season %s is active until %s", ps.Name, current.End.Format(time.RFC3339))
	case !active && ps.Status.Active:
		frame.Notify(ctx, r.Recorder, ps, corev1.EventTypeNormal, "SeasonClosed", "Transition", "Season %s is over", ps.Name)
	}
	ps.Status.Active = active
	ps.Status.CurrentWindow = nil
	// A season whose ramps join its windows into one without end has no window to show:
	// a zero start or end would make the API server refuse the whole status.
	if active && !current.Start.IsZero() && !current.End.IsZero() {
		ps.Status.CurrentWindow = &whv1.TimeWindow{Start: metav1.NewTime(current.Start), End: metav1.NewTime(current.End)}
	}
	wake, next, ok := lookups.UntilNext(map[string]*season.Season{ps.Name: s}, now)
	ps.Status.NextTransition = nil
	if ok {
		ps.Status.NextTransition = &metav1.Time{Time: next}
	}
	ps.Status.Upcoming = upcoming(s, now)
	message := "season is inactive"
	if active {
		message = "season is active"
	}

	committed, quotas, err := r.committed(ctx, ps.Name)
	if err != nil {
		return frame.Step{Wake: wake}, err
	}
	ps.Status.Committed = committed
	cloud, capacity := r.checkCapacity(ctx, ps)
	opens, err := r.confirm(ctx, ps, s, now, quotas, cloud, capacity)
	if err != nil {
		return frame.Step{Wake: wake}, err
	}
	if !opens.IsZero() && (!ok || opens.Before(next)) {
		wake = max(opens.Sub(now), 0) // the judgement starts confirmAhead before the window
	}
	return frame.Step{Wake: wake, Message: message}, nil
}

// shownTransitions is how many transitions status lists: a few weeks of a calendar
// with monthly windows, a year or more of one with yearly windows.
const shownTransitions = 6

// upcoming are the season's next transitions for status, each with the windows that
// make it (a rule too long for status is cut, as a message is).
func upcoming(s *season.Season, now time.Time) []whv1.SeasonTransition {
	var out []whv1.SeasonTransition
	for _, tr := range s.Upcoming(now, shownTransitions) {
		st := whv1.SeasonTransition{At: metav1.NewTime(tr.At), Active: tr.Active}
		for _, rule := range tr.Rules {
			st.Rules = append(st.Rules, frame.CutText(rule, 256, "…"))
		}
		out = append(out, st)
	}
	return out
}

// committed sums, per resource, the peak quota every ComputeQuota using this season
// would write during it: its baseline overlaid with this season's peak. A ComputeQuota
// that loses a Conflict, or is only observed, writes nothing and is not counted. It
// returns the ComputeQuotas counted.
func (r *Reconciler) committed(ctx context.Context, name string) (*whv1.CapacityAmounts, []*whv1.ComputeQuota, error) {
	var list whv1.ComputeQuotaList
	if err := r.List(ctx, &list, client.MatchingFields{lookups.PeakSeasonIndex: name}); err != nil {
		return nil, nil, err
	}
	var counted []*whv1.ComputeQuota
	amounts := &whv1.CapacityAmounts{}
	// The quota fields that use the cloud's capacity, and where each sum goes.
	sums := map[quota.Field]**int64{
		quota.Cores: &amounts.Cores, quota.RAMMiB: &amounts.RAMMiB, quota.Instances: &amounts.Instances,
	}
	for i := range list.Items {
		cq := &list.Items[i]
		writer, err := lookups.QuotaWriter(ctx, r.Client, cq)
		if err != nil {
			return nil, nil, err
		}
		if writer == nil || writer.UID != cq.UID || cq.Observes() {
			// Being deleted, in Conflict or only observed: it writes nothing, so it commits
			// nothing.
			continue
		}
		counted = append(counted, cq)
		during := quota.Effective(cq, []string{name})
		for field, sum := range sums {
			if v, ok := during[field]; ok {
				if *sum != nil {
					v = quota.Add(**sum, v)
				}
				*sum = ptr.To(v)
			}
		}
	}
	return amounts, counted, nil
}

// checkCapacity reads the cloud's capacity and sets CapacityAtRisk. A capacity that
// cannot be read makes the condition Unknown, with the reason in its message, and is
// tried again at the next resync; the calendar works regardless. It returns the cloud
// and its capacity when read (nil otherwise).
func (r *Reconciler) checkCapacity(ctx context.Context, ps *whv1.PeakSeason) (Cloud, *openstack.Capacity) {
	cond := metav1.Condition{Type: whv1.ConditionCapacityAtRisk, ObservedGeneration: ps.Generation}
	ref := ps.Spec.CloudRef
	if ref == nil {
		ps.Status.Capacity = nil
		cond.Status, cond.Reason = metav1.ConditionUnknown, whv1.ReasonCapacityUnknown
		cond.Message = "spec.cloudRef is not set, so the cloud's capacity is not checked"
		meta.SetStatusCondition(&ps.Status.Conditions, cond)
		return nil, nil
	}
	var capacity openstack.Capacity
	var cloud Cloud
	target, err := r.Access.Cloud(ctx, ref.Name)
	if err == nil {
		if cloud, err = r.Clouds.Cloud(ctx, r.Access.CloudRef(target)); err == nil {
			capacity, err = cloud.Capacity(ctx)
		}
	}
	if err != nil {
		cond.Status, cond.Reason = metav1.ConditionUnknown, whv1.ReasonCapacityUnknown
		cond.Message = "cannot read the cloud's capacity: " + openstack.Message(err)
		meta.SetStatusCondition(&ps.Status.Conditions, cond)
		return nil, nil
	}
	ps.Status.Capacity = &whv1.CapacityAmounts{Cores: ptr.To(capacity.Cores), RAMMiB: ptr.To(capacity.RAMMiB)}

	var over []string
	c := ps.Status.Committed
	if exceeds(c.Cores, capacity.Cores) {
		over = append(over, fmt.Sprintf("%s cores committed, the cloud holds %d", quota.Format(*c.Cores), capacity.Cores))
	}
	if exceeds(c.RAMMiB, capacity.RAMMiB) {
		over = append(over, fmt.Sprintf("%s MiB of RAM committed, the cloud holds %d", quota.Format(*c.RAMMiB), capacity.RAMMiB))
	}
	cond.Status, cond.Reason = metav1.ConditionFalse, whv1.ReasonWithinCapacity
	cond.Message = "the peak quota committed to this season fits in the cloud"
	if len(over) > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonOvercommitted
		cond.Message = strings.Join(over, "; ")
		if !meta.IsStatusConditionTrue(ps.Status.Conditions, whv1.ConditionCapacityAtRisk) {
			frame.Notify(ctx, r.Recorder, ps, corev1.EventTypeWarning, whv1.ReasonOvercommitted, "CheckCapacity", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&ps.Status.Conditions, cond)
	return cloud, &capacity
}

func exceeds(committed *int64, capacity int64) bool {
	return committed != nil && quota.Above(*committed, capacity)
}

// sumDelay is how long a ComputeQuota's change waits before its seasons are summed
// again: quotas created or edited together (a department's GitOps sync, the bench's
// thousand) are summed once, not once each — every sum is a status write and a read of
// the cloud's capacity.
const sumDelay = 2 * time.Second

// SetupWithManager registers the controller: PeakSeasons, and the ComputeQuotas that
// commit peak quota to them.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.PeakSeason{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&whv1.ComputeQuota{}, frame.EnqueueCoalesced(seasonsOfQuota, sumDelay),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		// A policy's priority or approval rules change what each peak is granted.
		Watches(&whv1.DepartmentPolicy{}, frame.EnqueueCoalesced(r.everySeason, sumDelay),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("peakseason").
		Complete(r)
}

// everySeason enqueues every PeakSeason: a DepartmentPolicy may govern departments of
// any of them. PeakSeasons are few (one per calendar), set by the centre.
func (r *Reconciler) everySeason(ctx context.Context, _ client.Object) []reconcile.Request {
	return lookups.ListRequests(ctx, r.Client, &whv1.PeakSeasonList{})
}

func seasonsOfQuota(_ context.Context, o client.Object) []reconcile.Request {
	names := lookups.SeasonsOf(o)
	slices.Sort(names)
	reqs := make([]reconcile.Request, 0, len(names))
	for _, n := range slices.Compact(names) {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKey{Name: n}})
	}
	return reqs
}
