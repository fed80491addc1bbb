package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// quotaChange is one limit written to OpenStack.
type quotaChange struct {
	key      string // <service>.<field>
	from, to int64
}

// applyQuota reads each service's quota once, writes only the fields that differ from
// effective (one call per service that differs), and returns the usage of the managed
// fields. A service with no managed field is neither read nor written.
func applyQuota(ctx context.Context, cloud QuotaCloud, projectID string, effective season.Quota) (season.Quota, []quotaChange, error) {
	usage := season.Quota{}
	var changes []quotaChange
	for _, service := range openstack.QuotaServices {
		desired := forService(effective, service)
		if len(desired) == 0 {
			continue
		}
		reading, err := cloud.GetQuota(ctx, service, projectID)
		if err != nil {
			return nil, nil, err
		}
		diff := map[string]int64{}
		for field, want := range desired {
			if have, ok := reading.Limits[field]; !ok || have != want {
				diff[field] = want
				changes = append(changes, quotaChange{key: string(service) + "." + field, from: have, to: want})
			}
			if used, ok := reading.InUse[field]; ok {
				usage[string(service)+"."+field] = used
			}
		}
		if err := cloud.SetQuota(ctx, service, projectID, diff); err != nil {
			return nil, nil, err
		}
		if len(diff) > 0 {
			quotaWrites.WithLabelValues(string(service)).Inc()
		}
	}
	slices.SortFunc(changes, func(a, b quotaChange) int { return strings.Compare(a.key, b.key) })
	return usage, changes, nil
}

func joinChanges(changes []quotaChange) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		parts = append(parts, fmt.Sprintf("%s %s→%s", c.key, limitString(c.from), limitString(c.to)))
	}
	return strings.Join(parts, ", ")
}

func limitString(v int64) string {
	if v == -1 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func seasonNote(active []string) string {
	if len(active) == 0 {
		return " (baseline)"
	}
	return " (peak for " + strings.Join(active, ", ") + ")"
}

// announceSeasons records that seasons started or ended for this quota.
func (r *ComputeQuotaReconciler) announceSeasons(ctx context.Context, cq *whv1.ComputeQuota, before, after []string) {
	for _, s := range after {
		if !slices.Contains(before, s) {
			notify(ctx, r.Recorder, cq, corev1.EventTypeNormal, "SeasonStarted", "RaiseQuota", "Season %s is active: quota raised to its peak", s)
		}
	}
	for _, s := range before {
		if !slices.Contains(after, s) {
			notify(ctx, r.Recorder, cq, corev1.EventTypeNormal, "SeasonEnded", "LowerQuota", "Season %s is over: its peak no longer applies", s)
		}
	}
}

// checkUsage sets BelowUsage: a limit below what the project already uses is applied
// anyway — quota never deletes anything — and flagged so the department sees why new
// resources fail.
func (r *ComputeQuotaReconciler) checkUsage(ctx context.Context, cq *whv1.ComputeQuota, effective, usage season.Quota) {
	var below []string
	for _, key := range sortedKeys(effective) {
		limit, used := effective[key], usage[key]
		if limit != -1 && used > limit {
			below = append(below, fmt.Sprintf("%s limit %d < %d in use", key, limit, used))
		}
	}
	cond := metav1.Condition{
		Type: whv1.ConditionBelowUsage, Status: metav1.ConditionFalse, Reason: whv1.ReasonWithinUsage,
		Message: "every limit is at or above usage", ObservedGeneration: cq.Generation,
	}
	if len(below) > 0 {
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonLimitBelowUsage
		cond.Message = strings.Join(below, "; ") + ": new resources of these kinds will be refused"
		if !meta.IsStatusConditionTrue(cq.Status.Conditions, whv1.ConditionBelowUsage) {
			notify(ctx, r.Recorder, cq, corev1.EventTypeWarning, whv1.ReasonLimitBelowUsage, "SetQuota", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&cq.Status.Conditions, cond)
}

func sortedKeys(q season.Quota) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
