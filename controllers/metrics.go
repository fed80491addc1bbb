package controllers

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

var (
	quotaLimit = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_quota_limit",
		Help: "Quota limit in force per department project and resource (-1: unlimited).",
	}, []string{"namespace", "tenant", "resource"})
	quotaInUse = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_quota_in_use",
		Help: "Quota in use per department project and resource.",
	}, []string{"namespace", "tenant", "resource"})
	quotaSeasonActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_quota_season_active",
		Help: "1 while a season's peak applies to a department's quota.",
	}, []string{"namespace", "tenant", "season"})
	quotaWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_quota_writes_total",
		Help: "Quota writes to OpenStack, by service.",
	}, []string{"service"})
	environmentServers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_testenvironment_servers",
		Help: "Servers of a TestEnvironment by Nova status.",
	}, []string{"namespace", "environment", "status"})
	transitionLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "whitehall_season_transition_lag_seconds",
		Help:    "Time from a season boundary until the quota it changes is written to OpenStack.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30},
	})
	seasonActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_season_active",
		Help: "1 while a PeakSeason (ramps included) is active.",
	}, []string{"season"})
)

func init() {
	metrics.Registry.MustRegister(quotaLimit, quotaInUse, quotaSeasonActive, quotaWrites, seasonActive, environmentServers, transitionLag)
}

// recordQuotaMetrics publishes a ComputeQuota's status as gauges.
func recordQuotaMetrics(cq *whv1.ComputeQuota) {
	tenant := cq.Spec.TenantRef.Name
	for key, v := range flatten(cq.Status.Effective) {
		quotaLimit.WithLabelValues(cq.Namespace, tenant, key).Set(float64(v))
	}
	for key, v := range flatten(cq.Status.Usage) {
		quotaInUse.WithLabelValues(cq.Namespace, tenant, key).Set(float64(v))
	}
	for _, p := range cq.Spec.Peaks {
		v := 0.0
		for _, s := range cq.Status.ActiveSeasons {
			if s == p.Season {
				v = 1
			}
		}
		quotaSeasonActive.WithLabelValues(cq.Namespace, tenant, p.Season).Set(v)
	}
}

// recordServerMetrics publishes an environment's servers by status.
func recordServerMetrics(env *whv1.TestEnvironment) {
	forgetServerMetrics(env.Namespace, env.Name)
	counts := map[string]int{}
	for _, s := range env.Status.Servers {
		counts[s.Status]++
	}
	for status, n := range counts {
		environmentServers.WithLabelValues(env.Namespace, env.Name, status).Set(float64(n))
	}
}

// forgetServerMetrics drops the series of an environment.
func forgetServerMetrics(namespace, name string) {
	environmentServers.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "environment": name})
}

// observeTransitionLag records how long after the season boundary it was waiting for
// the quota reached OpenStack, when this write is that boundary's.
func observeTransitionLag(cq *whv1.ComputeQuota, started time.Time) {
	boundary := cq.Status.NextTransition
	if boundary == nil || started.Before(boundary.Time) || started.Sub(boundary.Time) > time.Minute {
		return
	}
	transitionLag.Observe(time.Since(boundary.Time).Seconds())
}
