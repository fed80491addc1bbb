package usage

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

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
