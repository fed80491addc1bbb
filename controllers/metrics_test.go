package controllers

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// seriesOf lists the series of vec whose namespace label is namespace, as
// "label=value,…" strings, sorted.
func seriesOf(t *testing.T, vec prometheus.Collector, namespace string) []string {
	t.Helper()
	ch := make(chan prometheus.Metric, 1024)
	go func() { vec.Collect(ch); close(ch) }()
	var out []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		s, ns := "", ""
		for _, l := range pb.GetLabel() {
			if l.GetName() == "namespace" {
				ns = l.GetValue()
				continue
			}
			s += l.GetName() + "=" + l.GetValue() + ","
		}
		if ns == namespace {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}

func computeQuota(namespace, name, tenant string, cores, ram *int64, peaks ...string) *whv1.ComputeQuota {
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

	recordQuotaMetrics(computeQuota(ns, "sa", "sa", &cores, &ram, "january", "april"))
	if diff := cmp.Diff([]string{"resource=compute.cores,tenant=sa,", "resource=compute.ramMiB,tenant=sa,"}, seriesOf(t, quotaLimit, ns)); diff != "" {
		t.Errorf("limits (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"season=april,tenant=sa,", "season=january,tenant=sa,"}, seriesOf(t, quotaSeasonActive, ns)); diff != "" {
		t.Errorf("seasons (-want +got):\n%s", diff)
	}

	// The april peak and the RAM field are removed: their series go.
	recordQuotaMetrics(computeQuota(ns, "sa", "sa", &cores, nil, "january"))
	if diff := cmp.Diff([]string{"resource=compute.cores,tenant=sa,"}, seriesOf(t, quotaLimit, ns)); diff != "" {
		t.Errorf("limits after the RAM field went (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"season=january,tenant=sa,"}, seriesOf(t, quotaSeasonActive, ns)); diff != "" {
		t.Errorf("seasons after the april peak went (-want +got):\n%s", diff)
	}

	// The Tenant is gone: nothing the quota manages is in force.
	gone := computeQuota(ns, "sa", "sa", &cores, nil, "january")
	gone.Status.Conditions = []metav1.Condition{{Type: whv1.ConditionReady, Status: metav1.ConditionFalse, Reason: whv1.ReasonTenantNotReady}}
	recordQuotaMetrics(gone)
	for _, vec := range []prometheus.Collector{quotaLimit, quotaInUse, quotaSeasonActive} {
		if got := seriesOf(t, vec, ns); len(got) != 0 {
			t.Errorf("with the Tenant gone, series %v remain", got)
		}
	}

	// The ComputeQuota is deleted.
	recordQuotaMetrics(computeQuota(ns, "sa", "sa", &cores, &ram, "january"))
	forgetQuotaMetrics(key)
	for _, vec := range []prometheus.Collector{quotaLimit, quotaInUse, quotaSeasonActive} {
		if got := seriesOf(t, vec, ns); len(got) != 0 {
			t.Errorf("after deletion, series %v remain", got)
		}
	}
	if _, ok := quotaSeries.byObject[key]; ok {
		t.Error("the deleted ComputeQuota is still remembered")
	}
}

func TestQuotaMetricsSharedByTwoObjectsGoWithTheLast(t *testing.T) {
	const ns = "metrics-shared"
	cores := int64(4)
	recordQuotaMetrics(computeQuota(ns, "first", "sa", &cores, nil))
	recordQuotaMetrics(computeQuota(ns, "second", "sa", &cores, nil))
	forgetQuotaMetrics(types.NamespacedName{Namespace: ns, Name: "second"})
	if got := seriesOf(t, quotaLimit, ns); len(got) != 1 {
		t.Fatalf("after the second ComputeQuota went, series %v; want the first's", got)
	}
	forgetQuotaMetrics(types.NamespacedName{Namespace: ns, Name: "first"})
	if got := seriesOf(t, quotaLimit, ns); len(got) != 0 {
		t.Errorf("after both went, series %v remain", got)
	}
}

func TestServerMetricsFollowTheObject(t *testing.T) {
	const ns = "metrics-servers"
	env := &whv1.TestEnvironment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "load"}}
	env.Status.Servers = []whv1.ServerStatus{{Name: "load-0", Status: "ACTIVE"}, {Name: "load-1", Status: "BUILD"}}
	recordServerMetrics(env)
	if diff := cmp.Diff([]string{"environment=load,status=ACTIVE,", "environment=load,status=BUILD,"}, seriesOf(t, environmentServers, ns)); diff != "" {
		t.Errorf("servers (-want +got):\n%s", diff)
	}
	env.Status.Servers[1].Status = "ACTIVE"
	recordServerMetrics(env)
	if diff := cmp.Diff([]string{"environment=load,status=ACTIVE,"}, seriesOf(t, environmentServers, ns)); diff != "" {
		t.Errorf("servers once all are up (-want +got):\n%s", diff)
	}
	forgetServerMetrics(ns, "load")
	if got := seriesOf(t, environmentServers, ns); len(got) != 0 {
		t.Errorf("after deletion, series %v remain", got)
	}
}
