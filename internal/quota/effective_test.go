package quota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestEffectiveOverlaysOnlyTheActiveSeasons(t *testing.T) {
	cores := func(n int64) whv1.QuotaSet { return whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(n)}} }
	cq := &whv1.ComputeQuota{Spec: whv1.ComputeQuotaSpec{
		Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(int64(8)), Instances: ptr.To(int64(4))}},
		Peaks: []whv1.QuotaPeak{
			{Season: "january", QuotaSet: cores(64)},
			{Season: "april", QuotaSet: cores(Unlimited)},
			{Season: "quiet", QuotaSet: cores(2)},
		},
	}}
	for _, tc := range []struct {
		reason string
		active []string
		want   Limits
	}{
		{"no season on: the baseline", nil, Limits{Cores: 8, Instances: 4}},
		{"one season: its peak replaces the baseline's field", []string{"january"}, Limits{Cores: 64, Instances: 4}},
		{"a peak below the baseline still applies", []string{"quiet"}, Limits{Cores: 2, Instances: 4}},
		{"two seasons: the larger peak, unlimited above all", []string{"january", "april"}, Limits{Cores: Unlimited, Instances: 4}},
		{"a season the quota has no peak for changes nothing", []string{"august"}, Limits{Cores: 8, Instances: 4}},
	} {
		if diff := cmp.Diff(tc.want, Effective(cq, tc.active)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}
