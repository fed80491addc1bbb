package controllers

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// TestQuotaSlots checks that every quota field has its place in the API's QuotaSet,
// under the JSON name openstack's table gives it, and that the two conversions agree.
func TestQuotaSlots(t *testing.T) {
	all := openstack.QuotaLimits{}
	for _, service := range openstack.QuotaServices {
		for i, f := range openstack.QuotaFieldsOf(service) {
			all[f] = int64(i) - 1
			got, err := json.Marshal(QuotaSetOf(openstack.QuotaLimits{f: 7}))
			if err != nil {
				t.Fatal(err)
			}
			if want := fmt.Sprintf(`{"%s":{"%s":7}}`, service, f.Name()); string(got) != want {
				t.Errorf("%s is %s in a QuotaSet, want %s", f, got, want)
			}
		}
	}
	if len(all) != len(quotaSlots) {
		t.Errorf("%d quota fields, %d slots", len(all), len(quotaSlots))
	}
	if diff := cmp.Diff(all, LimitsOf(QuotaSetOf(all))); diff != "" {
		t.Errorf("LimitsOf(QuotaSetOf(x)) (-x +got):\n%s", diff)
	}
	if got := LimitsOf(QuotaSetOf(nil)); len(got) != 0 {
		t.Errorf("an empty QuotaSet has limits %v", got)
	}
}
