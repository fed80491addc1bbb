package usage

import (
	"context"
	"math/big"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
	showback "github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

// seasonWindows gives each PeakSeason that names this Cloud, once per closed window, the
// vCPU-hours the departments using it ran in its last window above their baseline
// share: one all-projects Nova call per window, never repeated.
func (r *Reconciler) seasonWindows(ctx context.Context, osCloud Cloud, cloud *whv1.Cloud, tenants []*whv1.Tenant, now time.Time) error {
	var seasons whv1.PeakSeasonList
	if err := r.List(ctx, &seasons, client.MatchingFields{lookups.CloudRefIndex: cloud.Name}); err != nil {
		return err
	}
	projects := map[client.ObjectKey]string{}
	for _, t := range tenants {
		projects[client.ObjectKeyFromObject(t)] = t.Status.ProjectID
	}
	for i := range seasons.Items {
		ps := &seasons.Items[i]
		s, err := lookups.CompileSeason(ps)
		if err != nil {
			continue // the PeakSeason controller reports it
		}
		last, ok := s.LastClosed(now)
		if !ok || last.Start.IsZero() {
			continue
		}
		if w := ps.Status.LastWindow; w != nil && w.Start.Equal(&metav1.Time{Time: last.Start}) && w.End.Equal(&metav1.Time{Time: last.End}) {
			continue
		}
		window, err := r.windowUsage(ctx, osCloud, ps.Name, projects, last.Start, last.End)
		if err != nil {
			return err
		}
		if err := applyStatus(ctx, r.Client, ps, "lastWindow", window); err != nil {
			return err
		}
	}
	return nil
}

// windowUsage sums, over the ComputeQuotas with a peak in the season (those that write
// their quota), their project's vCPU-hours in [start, end) and their baseline share.
func (r *Reconciler) windowUsage(ctx context.Context, osCloud Cloud, seasonName string, projects map[client.ObjectKey]string, start, end time.Time) (*whv1.SeasonWindowUsage, error) {
	var quotas whv1.ComputeQuotaList
	if err := r.List(ctx, &quotas, client.MatchingFields{lookups.PeakSeasonIndex: seasonName}); err != nil {
		return nil, err
	}
	compute, err := osCloud.ComputeUsage(ctx, start, end)
	if err != nil {
		return nil, err
	}
	used, baseline, extra := new(big.Rat), new(big.Rat), new(big.Rat)
	var n int32
	for i := range quotas.Items {
		cq := &quotas.Items[i]
		project, ok := projects[client.ObjectKey{Namespace: cq.Namespace, Name: cq.Spec.TenantRef.Name}]
		if writer, err := lookups.QuotaWriter(ctx, r.Client, cq); err != nil || !ok || writer == nil || writer.UID != cq.UID {
			continue // no project on this Cloud, or a quota in Conflict that writes nothing
		}
		u := compute[project]
		vcpu := showback.FromNova(u.VCPUHours, 0, 0).VCPUHours
		cores := quota.Unlimited
		if c := cq.Spec.Baseline.Compute; c != nil && c.Cores != nil {
			cores = *c.Cores
		}
		share := showback.BaselineShare(cores, start, end)
		used.Add(used, vcpu)
		if share != nil {
			baseline.Add(baseline, share)
		}
		extra.Add(extra, showback.ExtraAbove(vcpu, share))
		n++
	}
	return &whv1.SeasonWindowUsage{
		Start: metav1.NewTime(start), End: metav1.NewTime(end), Departments: n,
		VCPUHours:         showback.Format(used, showback.QuantityPlaces),
		BaselineVCPUHours: showback.Format(baseline, showback.QuantityPlaces),
		ExtraVCPUHours:    showback.Format(extra, showback.QuantityPlaces),
	}, nil
}
