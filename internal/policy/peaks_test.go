package policy

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestJudgePeaks(t *testing.T) {
	i := func(v int64) *int64 { return &v }
	upTo := func(cores, ram int64) *whv1.DepartmentPolicy {
		return &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "central"},
			Spec: whv1.DepartmentPolicySpec{Peaks: &whv1.PeakRules{AutoApproveUpTo: &whv1.PeakCapacity{Cores: i(cores), RAMMiB: i(ram)}}}}
	}
	factor := func(f string) *whv1.DepartmentPolicy {
		return &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "twice"},
			Spec: whv1.DepartmentPolicySpec{Peaks: &whv1.PeakRules{AutoApproveFactor: ptr.To(f)}}}
	}
	quota := func(base, peak *whv1.ComputeLimits, approvals ...whv1.PeakApproval) *whv1.ComputeQuota {
		return &whv1.ComputeQuota{Spec: whv1.ComputeQuotaSpec{
			Baseline:  whv1.QuotaSet{Compute: base},
			Peaks:     []whv1.QuotaPeak{{Season: "sa", QuotaSet: whv1.QuotaSet{Compute: peak}}},
			Approvals: approvals,
		}}
	}
	approval := func(cores, ram int64) whv1.PeakApproval {
		return whv1.PeakApproval{Season: "sa", Compute: whv1.PeakCapacity{Cores: i(cores), RAMMiB: i(ram)}, ApprovedBy: "alice",
			ApprovedAt: metav1.NewTime(time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC))}
	}
	base := &whv1.ComputeLimits{Cores: i(64), RAMMiB: i(131072)}
	type result struct {
		Applies  bool
		Over     []string
		Approved bool
		Stale    bool
	}
	cases := []struct {
		reason   string
		policies []*whv1.DepartmentPolicy
		cq       *whv1.ComputeQuota
		want     result
	}{
		{"no policy sets peaks: every peak applies", nil,
			quota(base, &whv1.ComputeLimits{Cores: i(-1)}), result{Applies: true}},
		{"within autoApproveUpTo", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(128), RAMMiB: i(262144)}), result{Applies: true}},
		{"one field above autoApproveUpTo: pending", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(256), RAMMiB: i(262144)}),
			result{Over: []string{"cores 256 is above DepartmentPolicy central's autoApproveUpTo 128"}}},
		{"unlimited is never within a number", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(-1)}),
			result{Over: []string{"cores -1 (unlimited) is above DepartmentPolicy central's autoApproveUpTo 128"}}},
		{"a field the policy does not bound needs approval", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Instances: i(10)}),
			result{Over: []string{"instances 10 is above DepartmentPolicy central's any limit it approves by itself (it sets none for this field)"}}},
		{"within the factor of the baseline", []*whv1.DepartmentPolicy{factor("2")},
			quota(base, &whv1.ComputeLimits{Cores: i(128), RAMMiB: i(262144)}), result{Applies: true}},
		{"a factor of 1.5, one core above", []*whv1.DepartmentPolicy{factor("1.5")},
			quota(base, &whv1.ComputeLimits{Cores: i(97)}),
			result{Over: []string{"cores 97 is above DepartmentPolicy twice's 1.5× the baseline 64"}}},
		{"a factor and values that would overflow int64", []*whv1.DepartmentPolicy{factor("100")},
			quota(&whv1.ComputeLimits{Cores: i(math.MaxInt64 / 2)}, &whv1.ComputeLimits{Cores: i(math.MaxInt64)}), result{Applies: true}},
		{"two policies: the stricter decides", []*whv1.DepartmentPolicy{factor("4"), upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(200)}),
			result{Over: []string{"cores 200 is above DepartmentPolicy central's autoApproveUpTo 128"}}},
		{"approved with exactly its values", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(256), RAMMiB: i(262144)}, approval(256, 262144)),
			result{Applies: true, Approved: true, Over: []string{"cores 256 is above DepartmentPolicy central's autoApproveUpTo 128"}}},
		{"an approval of other values does not count", []*whv1.DepartmentPolicy{upTo(128, 262144)},
			quota(base, &whv1.ComputeLimits{Cores: i(512), RAMMiB: i(262144)}, approval(256, 262144)),
			result{Stale: true, Over: []string{"cores 512 is above DepartmentPolicy central's autoApproveUpTo 128"}}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			var policies []whv1.DepartmentPolicy
			for _, p := range tc.policies {
				policies = append(policies, *p)
			}
			j := JudgePeaks(policies, tc.cq)[0]
			got := result{Applies: j.Applies(), Over: j.Over, Approved: j.Approval != nil, Stale: j.Stale != nil}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestCapacityText(t *testing.T) {
	if got := CapacityText(whv1.PeakCapacity{Cores: ptr.To[int64](256), Instances: ptr.To[int64](-1)}); got != "cores=256 instances=-1 (unlimited)" {
		t.Errorf("CapacityText = %q", got)
	}
}

func TestParseFactor(t *testing.T) {
	for text, want := range map[string]int64{"1": 100, "1.5": 150, "2.25": 225, "100": 10000, "100.00": 10000, "99.99": 9999,
		"0": -1, "0.5": -1, "100.01": -1, "1.": -1, "1.234": -1, "+2": -1, "-1": -1, "1e2": -1, " 2": -1, "": -1, "٢": -1} {
		got, err := ParseFactor(text)
		if (err != nil) != (want < 0) || (err == nil && got != want) {
			t.Errorf("ParseFactor(%q) = %d, %v; want %d", text, got, err, want)
		}
	}
}
