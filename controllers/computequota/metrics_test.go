package computequota

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame/frametest"

	"k8s.io/apimachinery/pkg/types"
)

func computeQuotaFixture(namespace, name, tenant string, cores, ram *int64, peaks ...string) *whv1.ComputeQuota {
	cq := &whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}}
	cq.Spec.TenantRef.Name = tenant
	for _, p := range peaks {
		cq.Spec.Peaks = append(cq.Spec.Peaks, whv1.QuotaPeak{Season: p})
	}
	cq.Status.Effective.Compute = &whv1.ComputeLimits{Cores: cores, RAMMiB: ram}
	cq.Status.Usage.Compute = &whv1.ComputeLimits{Cores: cores}
	cq.Status.ActiveSeasons = peaks[:min(1, len(peaks))]
	return cq
}

func TestQuotaMetricsFollowTheObject(t *testing.T) {
	const ns = "metrics-quota"
	cores, ram := int64(8), int64(4096)
	key := types.NamespacedName{Namespace: ns, Name: "sa"}

	recordQuotaMetrics(computeQuotaFixture(ns, "sa", "sa", &cores, &ram, "january", "april"))
	if diff := cmp.Diff([]string{"resource=compute.cores,tenant=sa,", "resource=compute.ramMiB,tenant=sa,"}, frametest.SeriesOf(t, quotaLimit, ns)); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"season=april,tenant=sa,", "season=january,tenant=sa,"}, frametest.SeriesOf(t, quotaSeasonActive, ns)); diff != "" {
		t.Errorf("seasons (-want +got):\n%s", diff)
	}

	// The april peak and the RAM field are removed: their series go.
	recordQuotaMetrics(computeQuotaFixture(ns, "sa", "sa", &cores, nil, "january"))
	if diff := cmp.Diff([]string{"resource=compute.cores,tenant=sa,"}, frametest.SeriesOf(t, quotaLimit, ns)); diff != "" {
		t.Errorf("limits after the RAM field went (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"season=january,tenant=sa,"}, frametest.SeriesOf(t, quotaSeasonActive, ns)); diff != "" {
		t.Errorf("seasons after the april peak went (-want +got):\n%s", diff)
	}

	// The Tenant is gone: nothing the quota manages is in force.
	gone := computeQuotaFixture(ns, "sa", "sa", &cores, nil, "january")
	gone.Status.Conditions = []metav1.Condition{{Type: whv1.ConditionReady, Status: metav1.ConditionFalse, Reason: whv1.ReasonTenantNotReady}}
	recordQuotaMetrics(gone)
	for _, vec := range []prometheus.Collector{quotaLimit, quotaInUse, quotaSeasonActive} {
		if got := frametest.SeriesOf(t, vec, ns); len(got) != 0 {
			t.Errorf("with the Tenant gone, series %v remain", got)
		}
	}

	// The ComputeQuota is deleted.
	recordQuotaMetrics(computeQuotaFixture(ns, "sa", "sa", &cores, &ram, "january"))
	forgetQuotaMetrics(key)
	for _, vec := range []prometheus.Collector{quotaLimit, quotaInUse, quotaSeasonActive} {
		if got := frametest.SeriesOf(t, vec, ns); len(got) != 0 {
			t.Errorf("after deletion, series %v remain", got)
		}
	}
	if quotaSeries.Remembers(key) {
		t.Error("the deleted ComputeQuota is still remembered")
	}
}

func TestQuotaMetricsSharedByTwoObjectsGoWithTheLast(t *testing.T) {
	const ns = "metrics-shared"
	cores := int64(4)
	recordQuotaMetrics(computeQuotaFixture(ns, "first", "sa", &cores, nil))
	recordQuotaMetrics(computeQuotaFixture(ns, "second", "sa", &cores, nil))
	forgetQuotaMetrics(types.NamespacedName{Namespace: ns, Name: "second"})
	if got := frametest.SeriesOf(t, quotaLimit, ns); len(got) != 1 {
		t.Fatalf("after the second ComputeQuota went, series %v; want the first's", got)
	}
	forgetQuotaMetrics(types.NamespacedName{Namespace: ns, Name: "first"})
	if got := frametest.SeriesOf(t, quotaLimit, ns); len(got) != 0 {
		t.Errorf("after both went, series %v remain", got)
	}
}
