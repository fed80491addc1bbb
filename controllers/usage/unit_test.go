package usage

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame/frametest"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	showback "github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

func TestStatementTotalsAreTheSumOfItsLines(t *testing.T) {
	cloud := &whv1.Cloud{}
	cloud.Name = "whitehall"
	cloud.Spec.Tariff = &whv1.Tariff{Currency: "GBP", VCPUHour: ptr.To("0.015")}
	tariff, err := tariffOf(cloud)
	if err != nil {
		t.Fatal(err)
	}
	m := meter{
		month: showback.Month{Year: 2027, Month: time.January, Loc: time.UTC}, tariff: tariff,
		compute: map[string]openstack.ProjectUsage{"a": {VCPUHours: 1}, "b": {VCPUHours: 1}, "c": {VCPUHours: 3}},
	}
	deps := []whv1.MeteredDepartment{
		{Namespace: "hmrc", Tenant: "a", ProjectID: "a", CostCode: "HMRC"},
		{Namespace: "hmrc", Tenant: "b", ProjectID: "b", CostCode: "HMRC"},
		{Namespace: "dwp", Tenant: "c", ProjectID: "c"},
		{Namespace: "dwp", Tenant: "idle", ProjectID: "d", Deleted: true},
	}
	r := statement("2027-01", cloud, m, deps)
	// Each line rounds 0.015 to 0.02; the cost code's total is the sum of its lines
	// (0.04), not the rounded sum of its hours (0.03).
	want := map[string]string{"HMRC": "0.04", "": "0.05"}
	for _, tot := range r.Spec.Totals {
		if tot.Cost != want[tot.CostCode] {
			t.Errorf("cost code %q: %s, want %s", tot.CostCode, tot.Cost, want[tot.CostCode])
		}
	}
	if len(r.Spec.Totals) != 2 || r.Spec.Total != "0.09" || r.Spec.DepartmentCount != 4 || r.Spec.Currency != "GBP" {
		t.Errorf("statement = %+v", r.Spec)
	}
	if r.Spec.Departments[3].VCPUHours != "0.000" || r.Spec.Departments[3].Cost != "0.00" {
		t.Errorf("a department with no usage in the month: %+v", r.Spec.Departments[3])
	}
	if r.Spec.Departments[0].VolumeGiBMonths != "" {
		t.Error("a cloud without a volume service reports GiB-months")
	}

	free := statement("2027-01", &whv1.Cloud{}, meter{month: m.month, compute: m.compute}, deps)
	if free.Spec.Total != "" || free.Spec.Currency != "" || free.Spec.Departments[0].Cost != "" || free.Spec.Departments[0].VCPUHours != "1.000" {
		t.Errorf("without a tariff: %+v", free.Spec)
	}
}

func TestUsageMetricsAreCleanedWhenATenantGoes(t *testing.T) {
	dep := whv1.MeteredDepartment{Namespace: "ns-usage", Tenant: "t", ProjectID: "p", CostCode: "CC",
		UsageFigures: whv1.UsageFigures{VCPUHours: "2.000", Cost: "0.04", Currency: "GBP"}}
	countUsage(nil, []whv1.MeteredDepartment{dep})
	recordUsageMetrics("metrics-cloud", []whv1.MeteredDepartment{dep})
	if v := value(t, usageVCPUHours.WithLabelValues("ns-usage", "t", "CC")); v != 2 {
		t.Errorf("counter = %v, want 2", v)
	}
	later := dep
	later.VCPUHours = "5.000"
	countUsage([]whv1.MeteredDepartment{dep}, []whv1.MeteredDepartment{later})
	if v := value(t, usageVCPUHours.WithLabelValues("ns-usage", "t", "CC")); v != 5 {
		t.Errorf("counter = %v, want 5 (only the increase is added)", v)
	}
	if v := value(t, usageMonthCost.WithLabelValues("ns-usage", "t", "CC", "GBP")); v != 0.04 {
		t.Errorf("month cost = %v", v)
	}
	gone := later
	gone.Deleted = true
	recordUsageMetrics("metrics-cloud", []whv1.MeteredDepartment{gone})
	for name, n := range map[string]int{
		"month vcpu": len(frametest.SeriesOf(t, usageMonthVCPUHours, "ns-usage")), "month cost": len(frametest.SeriesOf(t, usageMonthCost, "ns-usage")),
		"vcpu total": len(frametest.SeriesOf(t, usageVCPUHours, "ns-usage")), "cost total": len(frametest.SeriesOf(t, usageCost, "ns-usage")),
	} {
		if n != 0 {
			t.Errorf("%s: %d series left after the Tenant went", name, n)
		}
	}
}

// value reads a gauge or counter.
func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	if pb.Counter != nil {
		return pb.Counter.GetValue()
	}
	return pb.Gauge.GetValue()
}
