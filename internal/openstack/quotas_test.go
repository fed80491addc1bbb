package openstack

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

func TestQuotaBody(t *testing.T) {
	cases := []struct {
		reason  string
		service quota.Service
		limits  quota.Limits
		want    map[string]any
	}{
		{
			reason:  "Nova refuses a limit below usage unless forced, so every compute write is forced",
			service: quota.ComputeService, limits: quota.Limits{quota.Cores: 1, quota.RAMMiB: 512},
			want: map[string]any{"quota_set": map[string]any{"cores": int64(1), "ram": int64(512), "force": true}},
		},
		{
			reason:  "Neutron takes a limit below usage as it is; it has no force",
			service: quota.NetworkService, limits: quota.Limits{quota.Ports: 2},
			want: map[string]any{"quota": map[string]any{"port": int64(2)}},
		},
		{
			reason:  "Cinder cannot be forced: no force field",
			service: quota.BlockStorageService, limits: quota.Limits{quota.Gigabytes: 5},
			want: map[string]any{"quota_set": map[string]any{"gigabytes": int64(5)}},
		},
	}
	for _, tc := range cases {
		got, err := quotaBody(tc.service, tc.limits)
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: body (-want +got):\n%s", tc.reason, diff)
		}
	}
	if _, err := quotaBody(quota.ComputeService, quota.Limits{quota.Ports: 1}); err == nil {
		t.Error("a resource the service does not have must be refused")
	}
	if !RefusesBelowUsage(quota.BlockStorageService) || RefusesBelowUsage(quota.ComputeService) || RefusesBelowUsage(quota.NetworkService) {
		t.Error("only Cinder refuses a limit below usage")
	}
}
