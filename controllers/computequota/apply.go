package computequota

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// quotaChange is one limit written to OpenStack.
type quotaChange struct {
	field       quota.Field
	from, to    int64
	fromUnknown bool // written without knowing the previous limit
}

// appliedQuota is what applyQuota or lowerQuota left in OpenStack.
type appliedQuota struct {
	// usage of the managed fields, where known.
	usage quota.Limits
	// changes are the limits written.
	changes []quotaChange
	// held are limits a service refused to take below usage, by field: the limit was held
	// at usage instead (the value), and comes down the rest of the way as usage falls.
	held quota.Limits
	// wanted is, for lowerQuota, the limit each field was brought to (the target where it
	// comes down, what OpenStack held where the target is a raise).
	wanted quota.Limits
	// raises are, for lowerQuota, the limits a raise was held back from, by field (the
	// value wanted): nothing was written for them.
	raises quota.Limits
}

// applyQuota makes each service's quota match effective. A service with no managed
// field is neither read nor written.
//
// known is what the last reconcile saw in OpenStack (nil when unknown). When the wanted
// limits moved away from it — a season opened or closed, or the spec changed — the
// difference is written straight away, without a read first: at a boundary the quota
// lands one round trip after the operator wakes. Otherwise the quota is read and only
// fields that differ (drift) are written. The services are handled at the same time.
//
// With fresh set (the last full read is younger than the resync period, as when the
// operator wakes at a season boundary), a service whose wanted limits did not move is
// not even read: a boundary costs one write per service it changes, nothing else.
func applyQuota(ctx context.Context, cloud Cloud, projectID string, effective, known, knownUsage quota.Limits, fresh bool) (appliedQuota, error) {
	return perService(ctx, effective, func(ctx context.Context, service quota.Service, desired quota.Limits) (appliedQuota, error) {
		return applyServiceQuota(ctx, cloud, service, projectID, desired, known.Of(service), knownUsage.Of(service), fresh)
	})
}

// lowerQuota reads each service holding a field of target and writes only the limits
// that come down to it; a limit that target would raise is held where it is (raises).
// It is how a peak still comes down while a DepartmentPolicy holds raises back, and how
// a deleted ComputeQuota returns its project to the baseline.
func lowerQuota(ctx context.Context, cloud Cloud, projectID string, target quota.Limits) (appliedQuota, error) {
	return perService(ctx, target, func(ctx context.Context, service quota.Service, target quota.Limits) (appliedQuota, error) {
		reading, err := cloud.GetQuota(ctx, service, projectID)
		if err != nil {
			return appliedQuota{}, err
		}
		plan, wanted, raises := planLower(target, reading, openstack.RefusesBelowUsage(service))
		if len(plan.diff) > 0 {
			if err := cloud.SetQuota(ctx, service, projectID, plan.diff); err != nil {
				return appliedQuota{}, err
			}
			quotaWrites.WithLabelValues(string(service)).Inc()
		}
		usage := quota.Limits{}
		for field := range target {
			if used, ok := reading.InUse[field]; ok {
				usage[field] = used
			}
		}
		return appliedQuota{usage: usage, changes: plan.changes, held: plan.held, wanted: wanted, raises: raises}, nil
	})
}

// perService runs one step per quota service that holds a field of limits, given that
// service's fields, all at the same time, and merges what they left.
func perService(ctx context.Context, limits quota.Limits,
	run func(context.Context, quota.Service, quota.Limits) (appliedQuota, error)) (appliedQuota, error) {
	var mu sync.Mutex
	out := appliedQuota{usage: quota.Limits{}, held: quota.Limits{}, wanted: quota.Limits{}, raises: quota.Limits{}}
	g, gctx := errgroup.WithContext(ctx)
	for _, service := range quota.Services {
		desired := limits.Of(service)
		if len(desired) == 0 {
			continue
		}
		g.Go(func() error {
			res, err := run(gctx, service, desired)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(out.usage, res.usage)
			maps.Copy(out.held, res.held)
			maps.Copy(out.wanted, res.wanted)
			maps.Copy(out.raises, res.raises)
			out.changes = append(out.changes, res.changes...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return appliedQuota{}, err
	}
	slices.SortFunc(out.changes, func(a, b quotaChange) int { return byName(a.field, b.field) })
	return out, nil
}

// applyServiceQuota brings one service's quota to desired: written from known when the
// wanted limits moved, else read and repaired. With nothing known (a new ComputeQuota,
// or one that never got Ready), every managed limit is written without a read: the
// answer makes the limits known, and usage is left unknown until the next full read at
// the resync period — usage changes without any event, so it is a periodic observation
// anyway. This keeps Nova's costly usage count off the path to a department's first Ready.
//
// A write that lowers a known limit is paired with one read, so a limit that lands below
// usage is flagged in the same status update (after the write for Nova, which is forced,
// and Neutron, which takes it; before it for Cinder, which refuses it: there the limit is
// held at usage, and each later reconcile lowers it as far as usage then allows).
func applyServiceQuota(ctx context.Context, cloud Cloud, service quota.Service, projectID string, desired, known, knownUsage quota.Limits, fresh bool) (appliedQuota, error) {
	reading := openstack.QuotaReading{Limits: known, InUse: knownUsage}
	covered, differs := compareKnown(known, desired)
	if fresh && covered && !differs {
		return appliedQuota{usage: knownUsage}, nil
	}
	refuses := openstack.RefusesBelowUsage(service)
	lowers := lowersKnown(known, desired)
	read := false
	readNow := func() error {
		r, err := cloud.GetQuota(ctx, service, projectID)
		if err != nil {
			return err
		}
		reading, read = r, true
		return nil
	}
	if len(known) > 0 && !differs || refuses && lowers {
		if err := readNow(); err != nil {
			return appliedQuota{}, err
		}
	}
	plan := planWrite(desired, reading, refuses && read)
	err := cloud.SetQuota(ctx, service, projectID, plan.diff)
	if err != nil && refuses && !read && openstack.StatusCode(err) == http.StatusBadRequest {
		// Written blind and refused: a limit went below usage. Read it and hold at usage.
		if rerr := readNow(); rerr != nil {
			return appliedQuota{}, rerr
		}
		plan = planWrite(desired, reading, true)
		err = cloud.SetQuota(ctx, service, projectID, plan.diff)
	}
	if err != nil {
		return appliedQuota{}, err
	}
	if len(plan.diff) > 0 {
		quotaWrites.WithLabelValues(string(service)).Inc()
	}
	if lowers && !read {
		if err := readNow(); err != nil {
			return appliedQuota{}, err
		}
	}
	usage := quota.Limits{}
	for field := range desired {
		if used, ok := reading.InUse[field]; ok {
			usage[field] = used
		}
	}
	return appliedQuota{usage: usage, changes: plan.changes, held: plan.held}, nil
}

// writePlan is one service's write: the limits to send, the changes they make, and the
// limits held at usage.
type writePlan struct {
	diff    quota.Limits
	changes []quotaChange
	held    quota.Limits
}

// planWrite compares desired with reading. With hold set (the service refuses a limit
// below usage, and reading's usage is fresh), a limit is never planned below usage.
func planWrite(desired quota.Limits, reading openstack.QuotaReading, hold bool) writePlan {
	p := writePlan{diff: quota.Limits{}, held: quota.Limits{}}
	for _, field := range slices.Sorted(maps.Keys(desired)) {
		want := desired[field]
		if used, ok := reading.InUse[field]; hold && ok && quota.Above(used, want) {
			want = used
			p.held[field] = used
		}
		if have, ok := reading.Limits[field]; !ok || have != want {
			p.diff[field] = want
			p.changes = append(p.changes, quotaChange{field: field, from: have, to: want, fromUnknown: !ok})
		}
	}
	return p
}

// planLower plans, from a fresh reading, the writes that bring the limits of target
// down, and nothing else: a limit target would raise keeps what OpenStack holds and is
// returned in raises (by the value wanted). wanted is each field's limit after the plan,
// before usage: with hold set (the service refuses a limit below usage) a limit comes
// down only as far as usage, and is listed in the plan's held.
func planLower(target quota.Limits, reading openstack.QuotaReading, hold bool) (p writePlan, wanted, raises quota.Limits) {
	p = writePlan{diff: quota.Limits{}, held: quota.Limits{}}
	wanted, raises = quota.Limits{}, quota.Limits{}
	for _, field := range slices.SortedFunc(maps.Keys(target), byName) {
		want := target[field]
		have, ok := reading.Limits[field]
		switch {
		case !ok:
			continue // a limit the service does not report is not touched
		case !quota.Above(have, want):
			wanted[field] = have
			if want != have {
				raises[field] = want
			}
			continue
		}
		wanted[field] = want
		if used, ok := reading.InUse[field]; hold && ok && used > want {
			p.held[field] = used
			if want = used; !quota.Above(have, want) {
				continue
			}
		}
		p.diff[field] = want
		p.changes = append(p.changes, quotaChange{field: field, from: have, to: want})
	}
	return p, wanted, raises
}

// lowersKnown reports whether desired lowers any limit known to be higher.
func lowersKnown(known, desired quota.Limits) bool {
	for field, want := range desired {
		if have, ok := known[field]; ok && quota.Above(have, want) {
			return true
		}
	}
	return false
}

// compareKnown reports whether known holds every desired field, and whether any of them
// differs from what is wanted.
func compareKnown(known, desired quota.Limits) (covered, differs bool) {
	for field, want := range desired {
		have, ok := known[field]
		if !ok {
			return false, true
		}
		differs = differs || have != want
	}
	return true, differs
}

func joinChanges(changes []quotaChange) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		if c.fromUnknown {
			parts = append(parts, fmt.Sprintf("%s %s", c.field, quota.Format(c.to)))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %s→%s", c.field, quota.Format(c.from), quota.Format(c.to)))
	}
	return strings.Join(parts, ", ")
}

func seasonNote(active []string) string {
	if len(active) == 0 {
		return " (baseline)"
	}
	return " (peak for " + strings.Join(active, ", ") + ")"
}

// announceSeasons records that seasons started or ended for this quota; held says a
// DepartmentPolicy held the raise back.
func (r *Reconciler) announceSeasons(ctx context.Context, cq *whv1.ComputeQuota, before, after []string, held bool) {
	started := "quota raised to its peak"
	if held {
		started = "its peak is held back while a DepartmentPolicy is breached"
	}
	for _, s := range after {
		if !slices.Contains(before, s) {
			frame.Notify(ctx, r.Recorder, cq, corev1.EventTypeNormal, "SeasonStarted", "RaiseQuota", "Season %s is active: %s", s, started)
		}
	}
	for _, s := range before {
		if !slices.Contains(after, s) {
			frame.Notify(ctx, r.Recorder, cq, corev1.EventTypeNormal, "SeasonEnded", "LowerQuota", "Season %s is over: its peak no longer applies", s)
		}
	}
}

// checkUsage sets BelowUsage: a limit below what the project already uses is applied
// anyway — quota never deletes anything — and flagged so the department sees why new
// resources fail. A service that refuses it holds the limit at usage, and the message
// says so. Before the first full read the usage of some limits is not known: the
// condition is Unknown then, unless a known one is already below.
func (r *Reconciler) checkUsage(ctx context.Context, cq *whv1.ComputeQuota, effective quota.Limits, applied appliedQuota) {
	var below, unread []string
	for _, field := range slices.SortedFunc(maps.Keys(effective), byName) {
		limit := effective[field]
		used, ok := applied.usage[field]
		switch {
		case !ok:
			unread = append(unread, field.String())
		case quota.Above(used, limit):
			line := fmt.Sprintf("%s limit %d < %d in use", field, limit, used)
			if held, ok := applied.held[field]; ok {
				line += fmt.Sprintf(" (held at %d: the service refuses a limit below usage; it comes down as usage falls, at a resync)", held)
			}
			below = append(below, line)
		}
	}
	cond := metav1.Condition{
		Type: whv1.ConditionBelowUsage, Status: metav1.ConditionFalse, Reason: whv1.ReasonWithinUsage,
		Message: "every limit is at or above usage", ObservedGeneration: cq.Generation,
	}
	switch {
	case len(below) > 0:
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonLimitBelowUsage
		cond.Message = strings.Join(below, "; ") + ": new resources of these kinds will be refused"
		if !meta.IsStatusConditionTrue(cq.Status.Conditions, whv1.ConditionBelowUsage) {
			frame.Notify(ctx, r.Recorder, cq, corev1.EventTypeWarning, whv1.ReasonLimitBelowUsage, "SetQuota", "%s", cond.Message)
		}
	case len(unread) > 0:
		cond.Status, cond.Reason = metav1.ConditionUnknown, whv1.ReasonUsageNotRead
		cond.Message = fmt.Sprintf("usage of %s not read yet: the limits were written without a read; usage is read at the next resync",
			strings.Join(unread, ", "))
	}
	meta.SetStatusCondition(&cq.Status.Conditions, cond)
}

// byName orders quota fields as their names sort, "<service>.<field>", the order
// messages and events list them in.
func byName(a, b quota.Field) int { return strings.Compare(a.String(), b.String()) }

// raisesHeld says, for a PolicyViolation's message, what the breach held back: the
// raises not written (from what OpenStack holds to what is wanted). Limits that come
// down are written whatever the policy.
func raisesHeld(applied appliedQuota) string {
	if len(applied.raises) == 0 {
		return "no raise is pending; limits that come down are still written"
	}
	parts := make([]string, 0, len(applied.raises))
	for _, field := range slices.SortedFunc(maps.Keys(applied.raises), byName) {
		parts = append(parts, fmt.Sprintf("%s held at %s (wanted %s)", field,
			quota.Format(applied.wanted[field]), quota.Format(applied.raises[field])))
	}
	return "raises are not written: " + strings.Join(parts, ", ") + "; limits that come down are still written"
}
