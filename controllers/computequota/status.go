package computequota

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// record puts what a reconcile left in OpenStack into status and events: the writes, the
// seasons, the limits in force (wanted, or usage where a service kept a limit there) and
// usage. It returns those limits.
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
	// effective in status is what is in force: a limit kept at usage shows at usage.
	inForce := maps.Clone(wanted)
	maps.Copy(inForce, applied.keptAtUsage)
	cq.Status.Effective = quota.ToAPI(inForce)
	cq.Status.Usage = quota.ToAPI(applied.usage)
	r.checkUsage(ctx, cq, wanted, applied)
	return inForce
}

// joinChanges lists the limits written, for an event.
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

// seasonNote says, for an event, which seasons' peaks the written quota carries.
func seasonNote(active []string) string {
	if len(active) == 0 {
		return " (baseline)"
	}
	return " (peak for " + strings.Join(active, ", ") + ")"
}

// announceSeasons records that seasons started or ended for this quota; withheld says a
// DepartmentPolicy breach withheld the raise.
func (r *Reconciler) announceSeasons(ctx context.Context, cq *whv1.ComputeQuota, before, after []string, withheld bool) {
	started := "quota raised to its peak"
	if withheld {
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
// resources fail. A service that refuses it keeps the limit at usage, and the message
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
			if kept, ok := applied.keptAtUsage[field]; ok {
				line += fmt.Sprintf(" (held at %d: the service refuses a limit below usage; it comes down as usage falls, at a resync)", kept)
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

// raisesWithheld says, for a PolicyViolation's message, what the breach withheld: the
// raises not written (from what OpenStack has to what is wanted). Limits that come
// down are written whatever the policy.
func raisesWithheld(applied appliedQuota) string {
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
