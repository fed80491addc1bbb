package computequota

import (
	"context"
	"time"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Observe before manage: under managementPolicy Observe a reconcile reads each service
// with a managed field and plans the write exactly as Manage's repair would (plan.go),
// and turns the plan into status.drift instead of writing it. What it read is kept as
// the last observation (in memory, and in status.effective, which then holds what
// OpenStack has), so the first reconcile after a switch to Manage plans from it and
// writes exactly the limits the drift listed.

// observeOnly reads cq's project's quota, writes nothing, and records the drift from
// effective, the quota of the seasons active. It returns the number of differences.
//
// While a DepartmentPolicy is breached the plan is Manage's then: only the limits that
// come down, raises withheld (not Ready, PolicyViolation, as under Manage).
func (r *Reconciler) observeOnly(ctx context.Context, cq *whv1.ComputeQuota, active []string, effective quota.Limits,
	breaches []policy.Breach, now time.Time) (int, error) {
	tenant, cloud, err := r.tenantCloud(ctx, cq)
	if err != nil {
		return 0, err
	}
	project := tenant.Status.ProjectID
	cq.Status.ProjectID = project
	seen, err := perService(ctx, effective, func(ctx context.Context, service quota.Service, desired quota.Limits) (appliedQuota, error) {
		reading, err := readAtRest(ctx, cloud, service, project, desired, quota.FromAPI(cq.Status.Usage).Of(service))
		if err != nil {
			return appliedQuota{}, err
		}
		keep := openstack.RefusesBelowUsage(service)
		if len(breaches) > 0 {
			// As Manage's lower: only the limits that come down; raises are withheld.
			p, _, raises := planLower(desired, reading, keep)
			return appliedQuota{usage: reading.InUse.Within(desired), changes: p.changes, keptAtUsage: p.keptAtUsage,
				wanted: reading.Limits.Within(desired), raises: raises}, nil
		}
		p := planWrite(desired, reading, keep)
		return appliedQuota{usage: reading.InUse.Within(desired), changes: p.changes, keptAtUsage: p.keptAtUsage,
			wanted: reading.Limits.Within(desired)}, nil
	})
	if err != nil {
		return 0, err
	}
	cq.Status.ActiveSeasons = active
	cq.Status.Effective = quota.ToAPI(seen.wanted)
	cq.Status.Usage = quota.ToAPI(seen.usage)
	r.checkUsage(ctx, cq, seen.wanted, appliedQuota{usage: seen.usage})
	r.lastApplied.Store(cq.UID, observation{project: project, readAt: now,
		QuotaReading: openstack.QuotaReading{Limits: seen.wanted, InUse: seen.usage}})
	n := lookups.RecordDrift(&cq.Status.Drift, &cq.Status.Conditions, quotaDrift(seen), cq.Generation)
	if len(breaches) > 0 {
		// Not Ready, as under Manage: the drift is what Manage would write while breached.
		r.lastApplied.Delete(cq.UID)
		return n, lookups.PolicyViolation(breaches, raisesWithheld(appliedQuota{raises: seen.raises, wanted: seen.wanted}))
	}
	return n, nil
}

// quotaDrift is one entry per limit Manage would write, in the order events list them.
func quotaDrift(seen appliedQuota) []whv1.DriftEntry {
	out := make([]whv1.DriftEntry, 0, len(seen.changes))
	for _, c := range seen.changes {
		desired, actual := quota.Format(c.to), quota.Format(c.from)
		if c.fromUnknown {
			actual = lookups.Absent
		}
		if _, kept := seen.keptAtUsage[c.field]; kept {
			desired += " (kept at usage: the service refuses a lower limit)"
		}
		out = append(out, lookups.Drift(c.field.String(), desired, actual))
	}
	return out
}
