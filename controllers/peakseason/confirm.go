package peakseason

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/capacity"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// Capacity confirmed ahead. From confirmAhead before a window opens until it closes, the
// season judges the approved peaks committed to it against what its departments may
// share (internal/capacity: the cloud's capacity less what is in use outside them) and
// publishes each ComputeQuota's grant in status.confirmation. Each ComputeQuota reads
// its own grant there (one writer per object: the season never writes a ComputeQuota):
// it shows Confirmed or AtRisk weeks ahead, and applies no more than its grant while the
// window is open.

// DefaultConfirmAhead is how long before a window its peaks are judged when
// spec.confirmAhead is not set (the API server's default is the same).
const DefaultConfirmAhead = 720 * time.Hour

// confirm sets status.confirmation, and returns when the next judgement starts (zero
// while one is on, or when the season never opens again). A capacity that cannot be
// read leaves the last judgement standing: the ComputeQuotas keep the grants they have.
func (r *Reconciler) confirm(ctx context.Context, ps *whv1.PeakSeason, s *season.Season, now time.Time,
	quotas []*whv1.ComputeQuota, cloud Cloud, total *openstack.Capacity) (time.Time, error) {
	window, starts, ok := judgedWindow(s, now, confirmAheadOf(ps))
	if !ok || ps.Spec.CloudRef == nil {
		ps.Status.Confirmation = nil
		return starts, nil
	}
	if total == nil {
		return time.Time{}, nil // CapacityAtRisk is Unknown and says why
	}
	allocated, err := cloud.Allocated(ctx)
	if err != nil {
		ctrl.LoggerFrom(ctx).Info("cannot read Placement's usages: the last judgement stands", "error", openstack.Message(err))
		return time.Time{}, nil
	}
	departments, listed, err := r.departments(ctx, ps, quotas)
	if err != nil {
		return time.Time{}, err
	}
	conf := judge(*total, allocated, departments, listed)
	conf.Window = window
	r.announce(ctx, ps, conf)
	ps.Status.Confirmation = conf
	return time.Time{}, nil
}

// confirmAheadOf is the season's confirmAhead, or the default.
func confirmAheadOf(ps *whv1.PeakSeason) time.Duration {
	if ps.Spec.ConfirmAhead == nil {
		return DefaultConfirmAhead
	}
	return ps.Spec.ConfirmAhead.Duration
}

// judgedWindow is the window to judge now: the one open, or the next to open within
// ahead. Otherwise ok is false and starts is when the next one comes within ahead.
func judgedWindow(s *season.Season, now time.Time, ahead time.Duration) (window *whv1.TimeWindow, starts time.Time, ok bool) {
	if active, current := s.ActiveAt(now); active {
		if current.Start.IsZero() || current.End.IsZero() {
			return nil, time.Time{}, true // ramps join the windows: open without end
		}
		return &whv1.TimeWindow{Start: metav1.NewTime(current.Start), End: metav1.NewTime(current.End)}, time.Time{}, true
	}
	up := s.Upcoming(now, 2)
	if len(up) == 0 || !up[0].Active {
		return nil, time.Time{}, false
	}
	if opens := up[0].At; opens.Sub(now) > ahead {
		return nil, opens.Add(-ahead), false
	}
	if len(up) < 2 {
		return nil, time.Time{}, true
	}
	return &whv1.TimeWindow{Start: metav1.NewTime(up[0].At), End: metav1.NewTime(up[1].At)}, time.Time{}, true
}

// departments are the season's claims: every ComputeQuota counted in committed holds
// its floor; one whose peak is approved also wants its peak, and is listed (when the
// peak raises cores or RAM). Priority is set by the centre (priorityOf).
func (r *Reconciler) departments(ctx context.Context, ps *whv1.PeakSeason, quotas []*whv1.ComputeQuota) ([]capacity.Department, map[string]bool, error) {
	governing := map[string][]whv1.DepartmentPolicy{}
	out := make([]capacity.Department, 0, len(quotas))
	listed := map[string]bool{}
	for _, cq := range quotas {
		policies, seen := governing[cq.Namespace]
		if !seen {
			var err error
			if policies, err = lookups.GoverningPolicies(ctx, r.Client, cq.Namespace); err != nil {
				return nil, nil, err
			}
			governing[cq.Namespace] = policies
		}
		d := capacity.Department{Key: cq.Namespace + "/" + cq.Name, Priority: priorityOf(ps.Spec.Priorities, policies),
			Baseline: amounts(quota.FromAPI(cq.Spec.Baseline)), InUse: amounts(quota.FromAPI(cq.Status.Usage))}
		if peak := approvedPeak(ps.Name, policies, cq); peak != nil {
			d.Peak = amounts(quota.FromAPI(peak.QuotaSet))
			listed[d.Key] = len(d.Peak) > 0
		}
		out = append(out, d)
	}
	return out, listed, nil
}

// approvedPeak is cq's peak for season when it may be applied; nil when it awaits
// approval (it claims nothing above its floor, and is judged once approved).
func approvedPeak(season string, policies []whv1.DepartmentPolicy, cq *whv1.ComputeQuota) *whv1.QuotaPeak {
	for _, j := range policy.JudgePeaks(policies, cq) {
		if j.Season == season && !j.Applies() {
			return nil
		}
	}
	for i := range cq.Spec.Peaks {
		if cq.Spec.Peaks[i].Season == season {
			return &cq.Spec.Peaks[i]
		}
	}
	return nil
}

// priorityOf is a department's priority in a season: the season's own priority for a
// policy that governs it, else the policy's peaks.priority, else 0; the highest where
// several policies govern it.
func priorityOf(overrides []whv1.SeasonPriority, policies []whv1.DepartmentPolicy) int32 {
	var out *int32
	for i := range policies {
		p := policies[i].Spec.Peaks.PriorityOrNil()
		if k := slices.IndexFunc(overrides, func(o whv1.SeasonPriority) bool { return o.DepartmentPolicy == policies[i].Name }); k >= 0 {
			p = &overrides[k].Priority
		}
		if p != nil && (out == nil || *p > *out) {
			out = p
		}
	}
	return ptr.Deref(out, 0)
}

// amounts are the capacity resources of limits.
func amounts(l quota.Limits) capacity.Amounts {
	out := capacity.Amounts{}
	if v, ok := l[quota.Cores]; ok {
		out[capacity.Cores] = v
	}
	if v, ok := l[quota.RAMMiB]; ok {
		out[capacity.RAMMiB] = v
	}
	return out
}

// judge shares the season's capacity and lists the grants of the departments listed, at
// most whv1.MaxGrants of them: the peaks at risk first (a ComputeQuota must find its
// grant to apply it), then those granted in full, each highest priority first. Cut
// within the whole ones, the rest are known without a list: unlistedConfirmed.
func judge(total, allocated openstack.Capacity, departments []capacity.Department, listed map[string]bool) *whv1.CapacityConfirmation {
	inside := capacity.Amounts{}
	for _, d := range departments {
		inside[capacity.Cores] += max(d.InUse[capacity.Cores], 0)
		inside[capacity.RAMMiB] += max(d.InUse[capacity.RAMMiB], 0)
	}
	cores, coresOut := capacity.Available(total.Cores, allocated.Cores, inside[capacity.Cores])
	ram, ramOut := capacity.Available(total.RAMMiB, allocated.RAMMiB, inside[capacity.RAMMiB])
	conf := &whv1.CapacityConfirmation{
		Available:    &whv1.CapacityAmounts{Cores: ptr.To(cores), RAMMiB: ptr.To(ram)},
		InUseOutside: &whv1.CapacityAmounts{Cores: ptr.To(coresOut), RAMMiB: ptr.To(ramOut)},
	}
	verdicts := capacity.Judge(capacity.Amounts{capacity.Cores: cores, capacity.RAMMiB: ram}, departments)
	for _, d := range departments {
		if !listed[d.Key] {
			continue
		}
		v := verdicts[d.Key]
		if v.Confirmed {
			conf.Confirmed++
		} else {
			conf.AtRisk++
		}
		conf.Grants = append(conf.Grants, grantOf(d, v))
	}
	slices.SortFunc(conf.Grants, func(a, b whv1.PeakGrant) int {
		return cmp.Or(compareBool(a.Confirmed, b.Confirmed), cmp.Compare(b.Priority, a.Priority),
			cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	if extra := len(conf.Grants) - whv1.MaxGrants; extra > 0 {
		conf.Unlisted = int32(extra)
		conf.UnlistedConfirmed = conf.Grants[whv1.MaxGrants].Confirmed // at risk sort first
		conf.Grants = conf.Grants[:whv1.MaxGrants]
	}
	return conf
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// grantOf is d's entry in status.
func grantOf(d capacity.Department, v capacity.Verdict) whv1.PeakGrant {
	ns, name, _ := strings.Cut(d.Key, "/")
	g := whv1.PeakGrant{Namespace: ns, Name: name, Priority: d.Priority, Confirmed: v.Confirmed, Reason: whv1.GrantWholePeak}
	if c, ok := v.Granted[capacity.Cores]; ok {
		g.Cores = ptr.To(c)
	}
	if m, ok := v.Granted[capacity.RAMMiB]; ok {
		g.RAMMiB = ptr.To(m)
	}
	switch {
	case v.Confirmed:
	case v.Kind == capacity.Shared:
		g.Reason, g.SharedWith = whv1.GrantShared, int32(v.Group-1)
	default:
		g.Reason = whv1.GrantHigherPriorities
	}
	return g
}

// announce records on the season when its judgement turns: peaks that stop fitting (a
// warning, weeks before the window) or all fitting again.
func (r *Reconciler) announce(ctx context.Context, ps *whv1.PeakSeason, conf *whv1.CapacityConfirmation) {
	before := int32(0)
	if old := ps.Status.Confirmation; old != nil {
		before = old.AtRisk
	}
	opens := "the window open now"
	if conf.Window != nil {
		opens = "the window opening " + conf.Window.Start.UTC().Format(time.RFC3339)
	}
	switch {
	case conf.AtRisk > 0 && conf.AtRisk != before:
		frame.Notify(ctx, r.Recorder, ps, corev1.EventTypeWarning, whv1.ReasonPeakAtRisk, "ConfirmCapacity",
			"%d of %d peaks do not fit in %s: %s cores and %s MiB of RAM available to the season's departments",
			conf.AtRisk, conf.AtRisk+conf.Confirmed, opens, quota.Format(*conf.Available.Cores), quota.Format(*conf.Available.RAMMiB))
	case conf.AtRisk == 0 && (before > 0 || (ps.Status.Confirmation == nil && conf.Confirmed > 0)):
		frame.Notify(ctx, r.Recorder, ps, corev1.EventTypeNormal, whv1.ReasonPeakConfirmed, "ConfirmCapacity",
			"every peak (%d) fits in %s", conf.Confirmed, opens)
	}
}
