package computequota

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Peaks approved before they land. A peak larger than the governing DepartmentPolicies
// approve by themselves applies only while spec.approvals records an approval of its
// exact values; until then the baseline applies (and a peak that is on comes down), the
// condition PeakApproval is False (Pending) with the values, and status.pendingPeaks
// says when the season opens, for the alert a week before. An approval is a spec change:
// the peak lands the moment it is recorded, if its season is open.

// approvedSeasons returns the seasons of active whose peaks may be applied, and records
// the judgement of every peak in cq's status.
func (r *Reconciler) approvedSeasons(ctx context.Context, cq *whv1.ComputeQuota, seasons map[string]*season.Season,
	active []string, now time.Time) ([]string, error) {
	policies, err := lookups.GoverningPolicies(ctx, r.Client, cq.Namespace)
	if err != nil {
		return nil, err
	}
	judged := policy.JudgePeaks(policies, cq)
	cq.Status.PendingPeaks = nil
	for _, j := range judged {
		if !j.Applies() {
			cq.Status.PendingPeaks = append(cq.Status.PendingPeaks, whv1.PendingPeak{
				Season: j.Season, Compute: j.Values, OpensAt: opensAt(seasons[j.Season], now)})
		}
	}
	r.approvalCondition(ctx, cq, judged)
	return slices.DeleteFunc(slices.Clone(active), func(s string) bool {
		return slices.ContainsFunc(cq.Status.PendingPeaks, func(p whv1.PendingPeak) bool { return p.Season == s })
	}), nil
}

// opensAt is when the season next turns on after now; nil while it is on, never turns
// on again, or is missing.
func opensAt(s *season.Season, now time.Time) *metav1.Time {
	if s == nil {
		return nil
	}
	if active, _ := s.ActiveAt(now); active {
		return nil
	}
	next, ok := s.NextTransition(now)
	if !ok {
		return nil
	}
	return &metav1.Time{Time: next}
}

// approvalCondition sets PeakApproval from the judgement (none without peaks), with an
// event when a peak starts waiting or is approved (not for peaks approved by the policy
// from the first look).
func (r *Reconciler) approvalCondition(ctx context.Context, cq *whv1.ComputeQuota, judged []policy.PeakJudgement) {
	if len(judged) == 0 {
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionPeakApproval)
		return
	}
	var pending, approved []string
	for _, j := range judged {
		switch {
		case !j.Applies():
			msg := fmt.Sprintf("the peak of season %s (%s) awaits approval: %s; the baseline applies meanwhile (kubectl whitehall approve -n %s %s --season %s)",
				j.Season, policy.CapacityText(j.Values), strings.Join(j.Over, "; "), cq.Namespace, cq.Name, j.Season)
			if j.Stale != nil {
				msg += fmt.Sprintf("; the approval by %s of %s does not count: the peak asks other values now", j.Stale.ApprovedBy, policy.CapacityText(j.Stale.Compute))
			}
			pending = append(pending, msg)
		case j.Approval != nil:
			approved = append(approved, fmt.Sprintf("%s (%s) approved by %s at %s", j.Season, policy.CapacityText(j.Values),
				j.Approval.ApprovedBy, j.Approval.ApprovedAt.UTC().Format(time.RFC3339)))
		}
	}
	cond := metav1.Condition{Type: whv1.ConditionPeakApproval, Status: metav1.ConditionTrue, Reason: whv1.ReasonPeaksApproved,
		ObservedGeneration: cq.Generation, Message: "every peak is approved"}
	if len(approved) > 0 {
		cond.Message += ": " + strings.Join(approved, "; ") + "; the others within what the DepartmentPolicies approve by themselves"
	}
	if len(pending) > 0 {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, whv1.ReasonApprovalPending, strings.Join(pending, ". ")
	}
	cond.Message = frame.BoundedMessage(cond.Message)
	// Peaks within what the policies approve by themselves, from the start, are news to
	// nobody: no event (a thousand quotas applied at once would make a thousand).
	quiet := len(approved) == 0 && len(pending) == 0
	r.setPeakCondition(ctx, cq, cond, "ApprovePeak", quiet)
}

// setPeakCondition sets one of the peak conditions (PeakApproval, PeakCapacity), with
// an event named Peak<reason> when its message changes: a warning when it is False.
// quietFirst: no event when the condition is set the first time.
func (r *Reconciler) setPeakCondition(ctx context.Context, cq *whv1.ComputeQuota, cond metav1.Condition, action string, quietFirst bool) {
	old := meta.FindStatusCondition(cq.Status.Conditions, cond.Type)
	if (old == nil && !quietFirst) || (old != nil && old.Message != cond.Message) {
		eventType := corev1.EventTypeNormal
		if cond.Status == metav1.ConditionFalse {
			eventType = corev1.EventTypeWarning
		}
		frame.Notify(ctx, r.Recorder, cq, eventType, "Peak"+cond.Reason, action, "%s", cond.Message)
	}
	meta.SetStatusCondition(&cq.Status.Conditions, cond)
}
