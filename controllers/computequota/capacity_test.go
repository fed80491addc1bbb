package computequota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

func TestGrantedQuota(t *testing.T) {
	cq := func(inUse int64) *whv1.ComputeQuota {
		return &whv1.ComputeQuota{
			Spec: whv1.ComputeQuotaSpec{
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](16), RAMMiB: ptr.To[int64](1024), Instances: ptr.To[int64](4)}},
				Peaks: []whv1.QuotaPeak{{Season: "sa", QuotaSet: whv1.QuotaSet{
					Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](64), RAMMiB: ptr.To[int64](4096), Instances: ptr.To[int64](16)}}}},
			},
			Status: whv1.ComputeQuotaStatus{Usage: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(inUse)}}},
		}
	}
	limits := func(cores, ram, instances int64) quota.Limits {
		return quota.Limits{quota.Cores: cores, quota.RAMMiB: ram, quota.Instances: instances}
	}
	cases := []struct {
		reason string
		cq     *whv1.ComputeQuota
		active []string
		grants seasonGrants
		want   quota.Limits
	}{
		{"no judgement: the peak as written", cq(0), []string{"sa"}, nil, limits(64, 4096, 16)},
		{"confirmed: the peak as written", cq(0), []string{"sa"},
			seasonGrants{"sa": {Cores: ptr.To[int64](64), RAMMiB: ptr.To[int64](4096), Confirmed: true}}, limits(64, 4096, 16)},
		{"at risk: the grant, instances as the peak asks", cq(0), []string{"sa"},
			seasonGrants{"sa": {Cores: ptr.To[int64](48), RAMMiB: ptr.To[int64](2048)}}, limits(48, 2048, 16)},
		{"not judged yet: cores and RAM stay at the baseline", cq(0), []string{"sa"}, seasonGrants{"sa": nil}, limits(16, 1024, 16)},
		{"never below what is in use", cq(40), []string{"sa"},
			seasonGrants{"sa": {Cores: ptr.To[int64](20), RAMMiB: ptr.To[int64](2048)}}, limits(40, 2048, 16)},
		{"never below the baseline", cq(0), []string{"sa"},
			seasonGrants{"sa": {Cores: ptr.To[int64](8), RAMMiB: ptr.To[int64](2048)}}, limits(16, 2048, 16)},
		{"the season is not active: the baseline", cq(0), nil,
			seasonGrants{"sa": {Cores: ptr.To[int64](48), RAMMiB: ptr.To[int64](2048)}}, limits(16, 1024, 4)},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			before := tc.cq.DeepCopy()
			if diff := cmp.Diff(tc.want, grantedQuota(tc.cq, tc.active, tc.grants)); diff != "" {
				t.Errorf("grantedQuota (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(before, tc.cq); diff != "" {
				t.Errorf("grantedQuota changed the ComputeQuota (-before +after):\n%s", diff)
			}
		})
	}
}

func TestChangedGrants(t *testing.T) {
	window := &whv1.TimeWindow{Start: metav1.Unix(100, 0), End: metav1.Unix(200, 0)}
	grant := func(name string, cores int64) whv1.PeakGrant {
		return whv1.PeakGrant{Namespace: "ns", Name: name, Cores: ptr.To(cores)}
	}
	conf := func(grants ...whv1.PeakGrant) *whv1.CapacityConfirmation {
		return &whv1.CapacityConfirmation{Window: window, Grants: grants}
	}
	over := func(whole bool, grants ...whv1.PeakGrant) *whv1.CapacityConfirmation {
		c := conf(grants...)
		c.Unlisted, c.UnlistedConfirmed = 2000, whole
		return c
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: name} }
	cases := []struct {
		reason        string
		before, after *whv1.CapacityConfirmation
		all           bool
		changed       []types.NamespacedName
	}{
		{"no judgement either side", nil, nil, false, nil},
		{"a judgement starts: every quota", nil, conf(grant("a", 1)), true, nil},
		{"a judgement ends: every quota", conf(grant("a", 1)), nil, true, nil},
		{"the same grants: none", conf(grant("a", 1), grant("b", 2)), conf(grant("a", 1), grant("b", 2)), false, nil},
		{"one grant changed, one appeared, one left", conf(grant("a", 1), grant("b", 2)), conf(grant("a", 3), grant("c", 2)),
			false, []types.NamespacedName{key("a"), key("c"), key("b")}},
		{"overflowing, the unlisted still whole: only the changed", over(true, grant("a", 1)), over(true, grant("a", 2)),
			false, []types.NamespacedName{key("a")}},
		{"the list starts overflowing: every quota", conf(grant("a", 1)), over(true, grant("a", 1)), true, nil},
		{"the unlisted stop being whole: every quota", over(true, grant("a", 1)), over(false, grant("a", 1)), true, nil},
		{"another window: every quota", conf(grant("a", 1)),
			&whv1.CapacityConfirmation{Window: &whv1.TimeWindow{Start: metav1.Unix(300, 0), End: metav1.Unix(400, 0)}, Grants: []whv1.PeakGrant{grant("a", 1)}}, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			all, changed := changedGrants(tc.before, tc.after)
			if diff := cmp.Diff([]any{tc.all, tc.changed}, []any{all, changed}); diff != "" {
				t.Errorf("changedGrants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVerdictOf(t *testing.T) {
	cq := &whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "sa"}}
	atRisk := whv1.PeakGrant{Namespace: "hmrc", Name: "sa", Cores: ptr.To[int64](48), Reason: whv1.GrantShared}
	other := whv1.PeakGrant{Namespace: "dwp", Name: "sa", Cores: ptr.To[int64](8), Reason: whv1.GrantShared}
	whole := &whv1.PeakGrant{Namespace: "hmrc", Name: "sa", Confirmed: true, Reason: whv1.GrantWholePeak}
	cases := []struct {
		reason  string
		conf    whv1.CapacityConfirmation
		verdict string
		grant   *whv1.PeakGrant
	}{
		{"listed at risk: its grant", whv1.CapacityConfirmation{Grants: []whv1.PeakGrant{other, atRisk}}, whv1.VerdictAtRisk, &atRisk},
		{"not listed: not judged yet", whv1.CapacityConfirmation{Grants: []whv1.PeakGrant{other}}, whv1.VerdictNotJudged, nil},
		{"not listed, the list full of peaks at risk: not judged", whv1.CapacityConfirmation{Grants: []whv1.PeakGrant{other}, Unlisted: 5},
			whv1.VerdictNotJudged, nil},
		{"not listed, only whole peaks left out: the whole peak", whv1.CapacityConfirmation{Grants: []whv1.PeakGrant{other}, Unlisted: 5,
			UnlistedConfirmed: true}, whv1.VerdictConfirmed, whole},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			st, g := verdictOf(&tc.conf, cq, "self-assessment")
			if diff := cmp.Diff([]any{tc.verdict, tc.grant}, []any{st.Verdict, g}); diff != "" {
				t.Errorf("verdictOf (-want +got):\n%s", diff)
			}
		})
	}
}
