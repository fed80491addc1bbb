package openstack

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQuotaBody(t *testing.T) {
	cases := []struct {
		reason  string
		service QuotaService
		limits  QuotaLimits
		want    map[string]any
	}{
		{
			reason:  "Nova refuses a limit below usage unless forced, so every compute write is forced",
			service: QuotaServiceCompute, limits: QuotaLimits{QuotaCores: 1, QuotaRAMMiB: 512},
			want: map[string]any{"quota_set": map[string]any{"cores": int64(1), "ram": int64(512), "force": true}},
		},
		{
			reason:  "Neutron takes a limit below usage as it is; it has no force",
			service: QuotaServiceNetwork, limits: QuotaLimits{QuotaPorts: 2},
			want: map[string]any{"quota": map[string]any{"port": int64(2)}},
		},
		{
			reason:  "Cinder cannot be forced: no force field",
			service: QuotaServiceBlockStorage, limits: QuotaLimits{QuotaGigabytes: 5},
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
	if _, err := quotaBody(QuotaServiceCompute, QuotaLimits{QuotaPorts: 1}); err == nil {
		t.Error("a resource the service does not have must be refused")
	}
	if !RefusesBelowUsage(QuotaServiceBlockStorage) || RefusesBelowUsage(QuotaServiceCompute) || RefusesBelowUsage(QuotaServiceNetwork) {
		t.Error("only Cinder refuses a limit below usage")
	}
}

func TestQuotaFieldsTable(t *testing.T) {
	seen := map[string]bool{}
	for f := range numQuotaFields {
		e := quotaFields[f]
		if e.service == "" || e.name == "" || e.api == "" {
			t.Errorf("quota field %d has no entry in the table: %+v", f, e)
		}
		if seen[f.String()] {
			t.Errorf("%s appears twice", f)
		}
		seen[f.String()] = true
		if got, ok := QuotaFieldNamed(f.Service(), f.Name()); !ok || got != f {
			t.Errorf("QuotaFieldNamed(%s, %s) = %v, %v", f.Service(), f.Name(), got, ok)
		}
	}
	if got := QuotaFieldsOf(QuotaServiceNetwork); len(got) != 7 || got[2] != QuotaPorts {
		t.Errorf("QuotaFieldsOf(network) = %v", got)
	}
}
