package controllers

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// quotaChange is one limit written to OpenStack.
type quotaChange struct {
	key         string // <service>.<field>
	from, to    int64
	fromUnknown bool // written without knowing the previous limit
}

// applyQuota makes each service's quota match effective and returns the usage of the
// managed fields. A service with no managed field is neither read nor written.
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
func applyQuota(ctx context.Context, cloud QuotaCloud, projectID string, effective, known, knownUsage season.Quota, fresh bool) (season.Quota, []quotaChange, error) {
	var (
		mu      sync.Mutex
		usage   = season.Quota{}
		changes []quotaChange
	)
	g, gctx := errgroup.WithContext(ctx)
	for _, service := range openstack.QuotaServices {
		desired := forService(effective, service)
		if len(desired) == 0 {
			continue
		}
		g.Go(func() error {
			used, diff, err := applyServiceQuota(gctx, cloud, service, projectID, desired,
				forService(known, service), forService(knownUsage, service), fresh)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(usage, used)
			changes = append(changes, diff...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(changes, func(a, b quotaChange) int { return strings.Compare(a.key, b.key) })
	return usage, changes, nil
}

// applyServiceQuota brings one service's quota to desired: written from known when the
// wanted limits moved, else read and repaired. With nothing known (a new ComputeQuota,
// or one that never got Ready), every managed limit is written without a read: the
// answer makes the limits known, and usage is left unknown until the next full read at
// the resync period — usage changes without any event, so it is a periodic observation
// anyway. This keeps Nova's costly usage count off the path to a department's first Ready.
func applyServiceQuota(ctx context.Context, cloud QuotaCloud, service openstack.QuotaService, projectID string, desired, known, knownUsage map[string]int64, fresh bool) (season.Quota, []quotaChange, error) {
	reading := openstack.QuotaReading{Limits: known, InUse: knownUsage}
	covered, differs := compareKnown(known, desired)
	if fresh && covered && !differs {
		return prefixed(service, knownUsage), nil, nil
	}
	if len(known) > 0 && !differs {
		var err error
		if reading, err = cloud.GetQuota(ctx, service, projectID); err != nil {
			return nil, nil, err
		}
	}
	usage := season.Quota{}
	diff := map[string]int64{}
	var changes []quotaChange
	for field, want := range desired {
		key := string(service) + "." + field
		have, ok := reading.Limits[field]
		if !ok || have != want {
			diff[field] = want
			changes = append(changes, quotaChange{key: key, from: have, to: want, fromUnknown: !ok})
		}
		if used, ok := reading.InUse[field]; ok {
			usage[key] = used
		}
	}
	if err := cloud.SetQuota(ctx, service, projectID, diff); err != nil {
		return nil, nil, err
	}
	if len(diff) > 0 {
		quotaWrites.WithLabelValues(string(service)).Inc()
	}
	return usage, changes, nil
}

// compareKnown reports whether known holds every desired field, and whether any of them
// differs from what is wanted.
func compareKnown(known, desired map[string]int64) (covered, differs bool) {
	for field, want := range desired {
		have, ok := known[field]
		if !ok {
			return false, true
		}
		differs = differs || have != want
	}
	return true, differs
}

// prefixed returns one service's fields as "<service>.<field>" keys.
func prefixed(service openstack.QuotaService, fields map[string]int64) season.Quota {
	out := season.Quota{}
	for k, v := range fields {
		out[string(service)+"."+k] = v
	}
	return out
}

func joinChanges(changes []quotaChange) string {
	parts := make([]string, 0, len(changes))
	for _, c := range changes {
		if c.fromUnknown {
			parts = append(parts, fmt.Sprintf("%s %s", c.key, limitString(c.to)))
			continue
		}
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
// resources fail. Before the first full read the usage of some limits is not known: the
// condition is Unknown then, unless a known one is already below.
func (r *ComputeQuotaReconciler) checkUsage(ctx context.Context, cq *whv1.ComputeQuota, effective, usage season.Quota) {
	var below, unread []string
	for _, key := range sortedKeys(effective) {
		limit := effective[key]
		used, ok := usage[key]
		switch {
		case !ok:
			unread = append(unread, key)
		case limit != -1 && used > limit:
			below = append(below, fmt.Sprintf("%s limit %d < %d in use", key, limit, used))
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
			notify(ctx, r.Recorder, cq, corev1.EventTypeWarning, whv1.ReasonLimitBelowUsage, "SetQuota", "%s", cond.Message)
		}
	case len(unread) > 0:
		cond.Status, cond.Reason = metav1.ConditionUnknown, whv1.ReasonUsageNotRead
		cond.Message = fmt.Sprintf("usage of %s not read yet: the limits were written without a read; usage is read at the next resync",
			strings.Join(unread, ", "))
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
