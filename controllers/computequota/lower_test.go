package computequota

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

func TestPlanLower(t *testing.T) {
	cores, ram := quota.Cores, quota.RAMMiB
	cases := []struct {
		reason      string
		target      quota.Limits
		reading     openstack.QuotaReading
		keepAtUsage bool
		wantDiff    quota.Limits
		wantRaises  quota.Limits
		wantWanted  quota.Limits
	}{
		{"a lower limit is written, a raise held",
			quota.Limits{cores: 20, ram: 4096},
			openstack.QuotaReading{Limits: quota.Limits{cores: 100, ram: 1024}},
			false, quota.Limits{cores: 20}, quota.Limits{ram: 4096}, quota.Limits{cores: 20, ram: 1024}},
		{"unlimited comes down to a number; a number is not raised to unlimited",
			quota.Limits{cores: 20, ram: -1},
			openstack.QuotaReading{Limits: quota.Limits{cores: -1, ram: 1024}},
			false, quota.Limits{cores: 20}, quota.Limits{ram: -1}, quota.Limits{cores: 20, ram: 1024}},
		{"equal limits write nothing and hold nothing",
			quota.Limits{cores: 20},
			openstack.QuotaReading{Limits: quota.Limits{cores: 20}},
			false, quota.Limits{}, quota.Limits{}, quota.Limits{cores: 20}},
		{"a service that refuses a limit below usage comes down only to usage",
			quota.Limits{cores: 20},
			openstack.QuotaReading{Limits: quota.Limits{cores: 100}, InUse: quota.Limits{cores: 30}},
			true, quota.Limits{cores: 30}, quota.Limits{}, quota.Limits{cores: 20}},
		{"usage above the limit never turns a lowering into a raise",
			quota.Limits{cores: 20},
			openstack.QuotaReading{Limits: quota.Limits{cores: 25}, InUse: quota.Limits{cores: 30}},
			true, quota.Limits{}, quota.Limits{}, quota.Limits{cores: 20}},
		{"a limit the service does not report is left alone",
			quota.Limits{cores: 20},
			openstack.QuotaReading{Limits: quota.Limits{}},
			false, quota.Limits{}, quota.Limits{}, quota.Limits{}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			plan, wanted, raises := planLower(tc.target, tc.reading, tc.keepAtUsage)
			if diff := cmp.Diff(tc.wantDiff, plan.diff); diff != "" {
				t.Errorf("written (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantRaises, raises); diff != "" {
				t.Errorf("raises held (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantWanted, wanted); diff != "" {
				t.Errorf("wanted (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRaisesWithheld(t *testing.T) {
	got := raisesWithheld(appliedQuota{
		wanted: quota.Limits{quota.Cores: 20, quota.RAMMiB: 1024},
		raises: quota.Limits{quota.Cores: 100, quota.RAMMiB: -1},
	})
	want := "raises are not written: compute.cores held at 20 (wanted 100), compute.ramMiB held at 1024 (wanted unlimited); limits that come down are still written"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if got := raisesWithheld(appliedQuota{}); got != "no raise is pending; limits that come down are still written" {
		t.Errorf("nothing held: %q", got)
	}
}
