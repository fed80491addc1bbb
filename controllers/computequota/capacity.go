package computequota

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Capacity confirmed ahead: a ComputeQuota reads its seasons' judgements
// (PeakSeason status.confirmation, written by the season alone) and shows them weeks
// before the window (PeakCapacity, status.peakCapacity, an event, a metric). While a
// window is open, a peak the season could not grant in full applies its grant (never
// below the baseline or what is in use), and a peak the season has not judged yet (new,
// just approved) applies only the baseline until it is judged. A season that judges
// nothing (no cloudRef, outside confirmAhead) leaves its peak as written.

// seasonGrants are, by season, the grant of each peak its season is judging; a nil
// grant is a peak not judged yet.
type seasonGrants map[string]*whv1.PeakGrant

// peakCapacity reads the judgement of each of cq's peaks that may be applied (pending
// is the seasons whose peaks await approval), and records it in cq's status.
func (r *Reconciler) peakCapacity(ctx context.Context, cq *whv1.ComputeQuota, now time.Time) (seasonGrants, error) {
	grants := seasonGrants{}
	cq.Status.PeakCapacity = nil
	if cq.Observes() {
		// Observed, it writes nothing and is not a claim (committed leaves it out): its
		// drift is against the peak as written.
		r.capacityCondition(ctx, cq, grants, now)
		return grants, nil
	}
	for _, p := range cq.Spec.Peaks {
		pending := slices.ContainsFunc(cq.Status.PendingPeaks, func(pp whv1.PendingPeak) bool { return pp.Season == p.Season })
		if pending || p.Compute == nil || (p.Compute.Cores == nil && p.Compute.RAMMiB == nil) {
			continue // not applied, or takes none of the capacity judged
		}
		var ps whv1.PeakSeason
		if err := r.Get(ctx, client.ObjectKey{Name: p.Season}, &ps); err != nil {
			if apierrors.IsNotFound(err) {
				continue // reported by LoadSeasons
			}
			return nil, err
		}
		conf := ps.Status.Confirmation
		if conf == nil {
			continue
		}
		st, g := verdictOf(conf, cq, p.Season)
		grants[p.Season] = g
		cq.Status.PeakCapacity = append(cq.Status.PeakCapacity, st)
	}
	r.capacityCondition(ctx, cq, grants, now)
	return grants, nil
}

// verdictOf is what a season's judgement grants cq's peak: its grant (nil: not judged
// yet), and the status that says so.
func verdictOf(conf *whv1.CapacityConfirmation, cq *whv1.ComputeQuota, season string) (whv1.PeakCapacityStatus, *whv1.PeakGrant) {
	st := whv1.PeakCapacityStatus{Season: season, Verdict: whv1.VerdictNotJudged, Window: conf.Window}
	i := slices.IndexFunc(conf.Grants, func(g whv1.PeakGrant) bool { return g.Namespace == cq.Namespace && g.Name == cq.Name })
	if i < 0 {
		if conf.Unlisted > 0 && conf.UnlistedConfirmed {
			// The list is full and only peaks granted in full were left out of it.
			st.Verdict = whv1.VerdictConfirmed
			return st, &whv1.PeakGrant{Namespace: cq.Namespace, Name: cq.Name, Confirmed: true, Reason: whv1.GrantWholePeak}
		}
		return st, nil
	}
	g := conf.Grants[i]
	st.Verdict, st.Cores, st.RAMMiB = whv1.VerdictAtRisk, g.Cores, g.RAMMiB
	if g.Confirmed {
		st.Verdict = whv1.VerdictConfirmed
	}
	return st, &g
}

// grantedQuota is the quota cq asks for while the seasons in active are on, each peak
// its season did not grant in full brought down to its grant: never below the baseline
// or what the project uses (nothing running is taken away). A peak not judged yet
// raises neither cores nor RAM.
func grantedQuota(cq *whv1.ComputeQuota, active []string, grants seasonGrants) quota.Limits {
	if len(grants) == 0 {
		return quota.Effective(cq, active)
	}
	c := cq.DeepCopy()
	base, used := quota.FromAPI(cq.Spec.Baseline), quota.FromAPI(cq.Status.Usage)
	for i := range c.Spec.Peaks {
		p := &c.Spec.Peaks[i]
		g, judged := grants[p.Season]
		if !judged || p.Compute == nil || (g != nil && g.Confirmed) {
			continue
		}
		if g == nil {
			p.Compute.Cores, p.Compute.RAMMiB = nil, nil // the baseline's, until judged
			continue
		}
		p.Compute.Cores = capAt(p.Compute.Cores, g.Cores, base[quota.Cores], used[quota.Cores])
		p.Compute.RAMMiB = capAt(p.Compute.RAMMiB, g.RAMMiB, base[quota.RAMMiB], used[quota.RAMMiB])
	}
	return quota.Effective(c, active)
}

// capAt is min(peak, grant), at least the baseline and what is in use; the peak as it is
// without a grant for the field.
func capAt(peak, grant *int64, baseline, inUse int64) *int64 {
	if peak == nil || grant == nil || *grant == -1 {
		return peak
	}
	v := *grant
	if *peak != -1 {
		v = min(*peak, v)
	}
	if baseline == -1 {
		return ptr.To[int64](-1)
	}
	return ptr.To(max(v, baseline, inUse))
}

// capacityCondition sets PeakCapacity from status.peakCapacity (none while no season
// judges a peak), with an event when the judgement changes.
func (r *Reconciler) capacityCondition(ctx context.Context, cq *whv1.ComputeQuota, grants seasonGrants, now time.Time) {
	if len(cq.Status.PeakCapacity) == 0 {
		meta.RemoveStatusCondition(&cq.Status.Conditions, whv1.ConditionPeakCapacity)
		return
	}
	cond := metav1.Condition{Type: whv1.ConditionPeakCapacity, Status: metav1.ConditionTrue, Reason: whv1.ReasonPeakConfirmed,
		ObservedGeneration: cq.Generation}
	var lines []string
	for _, st := range cq.Status.PeakCapacity {
		lines = append(lines, verdictLine(cq, st, grants[st.Season], now))
		switch {
		case st.Verdict == whv1.VerdictAtRisk:
			cond.Status, cond.Reason = metav1.ConditionFalse, whv1.ReasonPeakAtRisk
		case st.Verdict == whv1.VerdictNotJudged && cond.Reason == whv1.ReasonPeakConfirmed:
			cond.Status, cond.Reason = metav1.ConditionUnknown, whv1.ReasonPeakNotJudged
		}
	}
	cond.Message = frame.BoundedMessage(strings.Join(lines, ". "))
	r.setPeakCondition(ctx, cq, cond, "ConfirmCapacity", false)
}

// verdictLine says what one season grants cq's peak, and why.
func verdictLine(cq *whv1.ComputeQuota, st whv1.PeakCapacityStatus, g *whv1.PeakGrant, now time.Time) string {
	when := "in the window open now"
	if st.Window != nil && st.Window.Start.After(now) {
		when = "in the window opening " + st.Window.Start.UTC().Format(time.RFC3339)
	}
	if g == nil {
		return fmt.Sprintf("season %s has not judged this peak yet: %s only the baseline applies until it does", st.Season, when)
	}
	peak := peakOf(cq, st.Season)
	if g.Confirmed {
		return fmt.Sprintf("season %s confirms the whole peak (%s) %s", st.Season, grantText(peak, g, false), when)
	}
	why := fmt.Sprintf("priority %d, higher priorities took the capacity; the baseline (or what is in use) is kept", g.Priority)
	switch {
	case g.Reason == whv1.GrantShared && g.SharedWith > 0:
		why = fmt.Sprintf("priority %d, shared in proportion with %d other(s) of that priority", g.Priority, g.SharedWith)
	case g.Reason == whv1.GrantShared:
		why = fmt.Sprintf("priority %d, what higher priorities left", g.Priority)
	}
	return fmt.Sprintf("season %s grants %s %s: %s", st.Season, grantText(peak, g, true), when, why)
}

// grantText is "48 of 64 cores, 98304 of 131072 MiB RAM" (of) or "cores=64, ramMiB=…".
func grantText(peak *whv1.ComputeLimits, g *whv1.PeakGrant, of bool) string {
	var parts []string
	add := func(name, unit string, asked, granted *int64) {
		switch {
		case asked == nil:
		case !of:
			parts = append(parts, fmt.Sprintf("%s=%s", name, quota.Format(*asked)))
		case granted != nil:
			parts = append(parts, fmt.Sprintf("%s of %s %s", quota.Format(*granted), quota.Format(*asked), unit))
		}
	}
	if peak != nil {
		add("cores", "cores", peak.Cores, g.Cores)
		add("ramMiB", "MiB of RAM", peak.RAMMiB, g.RAMMiB)
	}
	return strings.Join(parts, ", ")
}

// peakOf is cq's peak compute for season.
func peakOf(cq *whv1.ComputeQuota, season string) *whv1.ComputeLimits {
	for _, p := range cq.Spec.Peaks {
		if p.Season == season {
			return p.Compute
		}
	}
	return nil
}
