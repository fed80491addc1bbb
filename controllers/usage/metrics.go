package usage

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// Usage, per department: month-to-date gauges, and counters that only grow.
var (
	usageMonthVCPUHours = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_usage_month_vcpu_hours",
		Help: "vCPU-hours a department's project ran this month so far (the Cloud's time zone).",
	}, []string{"namespace", "tenant", "cost_code"})
	usageMonthCost = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_usage_month_cost",
		Help: "Cost of a department's usage this month so far, at the Cloud's tariff.",
	}, []string{"namespace", "tenant", "cost_code", "currency"})
	usageVCPUHours = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_usage_vcpu_hours_total",
		Help: "vCPU-hours a department's project ran, as read from Nova.",
	}, []string{"namespace", "tenant", "cost_code"})
	usageRAMGiBHours = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_usage_ram_gib_hours_total",
		Help: "RAM GiB-hours a department's project ran, as read from Nova.",
	}, []string{"namespace", "tenant", "cost_code"})
	usageCost = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_usage_cost_total",
		Help: "Cost of a department's usage at the Cloud's tariff.",
	}, []string{"namespace", "tenant", "cost_code", "currency"})
)

func init() {
	metrics.Registry.MustRegister(usageMonthVCPUHours, usageMonthCost, usageVCPUHours, usageRAMGiBHours, usageCost)
}

// usageSeries remembers the series each Cloud's usage published.
var usageSeries = frame.NewPublished()

// recordUsageMetrics publishes the month so far of each department a Cloud meters whose
// Tenant is still there; a gone Tenant's series are deleted.
func recordUsageMetrics(cloud string, deps []whv1.MeteredDepartment) {
	var samples []frame.Sample
	for _, d := range deps {
		if d.Deleted {
			forgetUsageCounters(d)
			continue
		}
		labels := []string{d.Namespace, d.Tenant, d.CostCode}
		samples = append(samples, frame.Sample{Vec: usageMonthVCPUHours, Labels: labels, Value: number(d.VCPUHours)})
		if d.Cost != "" {
			samples = append(samples, frame.Sample{Vec: usageMonthCost, Labels: append(labels, d.Currency), Value: number(d.Cost)})
		}
	}
	usageSeries.Publish(types.NamespacedName{Name: cloud}, samples)
}

// forgetUsageMetrics drops the month-to-date series of a Cloud that is gone.
func forgetUsageMetrics(cloud string) { usageSeries.Forget(types.NamespacedName{Name: cloud}) }

// countUsage adds to the counters what each department used between two readings of one
// month (before may be of the month so far, after of the same month later or closed).
func countUsage(before, after []whv1.MeteredDepartment) {
	prev := map[string]whv1.MeteredDepartment{}
	for _, d := range before {
		prev[d.ProjectID] = d
	}
	for _, d := range after {
		if d.Deleted {
			continue
		}
		p := prev[d.ProjectID]
		labels := []string{d.Namespace, d.Tenant, d.CostCode}
		if v := number(d.VCPUHours) - number(p.VCPUHours); v > 0 {
			usageVCPUHours.WithLabelValues(labels...).Add(v)
		}
		if v := number(d.RAMGiBHours) - number(p.RAMGiBHours); v > 0 {
			usageRAMGiBHours.WithLabelValues(labels...).Add(v)
		}
		if v := number(d.Cost) - number(p.Cost); d.Cost != "" && v > 0 {
			usageCost.WithLabelValues(append(labels, d.Currency)...).Add(v)
		}
	}
}

// forgetUsageCounters deletes the counters of a department whose Tenant is gone.
func forgetUsageCounters(d whv1.MeteredDepartment) {
	tenant := map[string]string{"namespace": d.Namespace, "tenant": d.Tenant}
	usageVCPUHours.DeletePartialMatch(tenant)
	usageRAMGiBHours.DeletePartialMatch(tenant)
	usageCost.DeletePartialMatch(tenant)
}

// number reads a decimal figure for a metric; "" is zero.
func number(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}
