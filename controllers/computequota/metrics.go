package computequota

import (
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
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
	peakPending = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_peak_pending_approval_opens_timestamp_seconds",
		Help: "A peak awaiting approval: when its season next opens (Unix time; 0 while it is open now). Alert: (value - time()) < 7 days.",
	}, []string{"namespace", "computequota", "season"})
	quotaNextTransition = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_quota_next_transition_timestamp_seconds",
		Help: "When a department's quota next changes with a season (Unix time): the dashboard's next 90 days.",
	}, []string{"namespace", "computequota"})
	peakConfirmed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_peak_capacity_confirmed",
		Help: "1 while a peak's season confirms it in full for its next (or open) window, 0 while it is at risk (granted less); absent when not judged.",
	}, []string{"namespace", "computequota", "season"})
	transitionLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "whitehall_season_transition_lag_seconds",
		Help:    "Time from a season boundary until the quota it changes is written to OpenStack.",
		Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30},
	})
)

// init registers the quota metrics with the registry the manager serves.
func init() {
	metrics.Registry.MustRegister(quotaLimit, quotaInUse, quotaSeasonActive, quotaWrites, transitionLag, peakPending, quotaNextTransition, peakConfirmed)
}

// quotaSeries remembers the series each ComputeQuota published.
var quotaSeries = frame.NewPublished()

// recordQuotaMetrics publishes a ComputeQuota's status as gauges, and deletes the series
// it published before that no longer apply: a peak removed from the spec, a field no
// longer managed, the series of the Tenant it named before. While its Tenant is gone or
// has no project, nothing is in force that it manages: it publishes nothing.
func recordQuotaMetrics(cq *whv1.ComputeQuota) {
	var samples []frame.Sample
	if ready := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionReady); ready == nil || ready.Reason != whv1.ReasonTenantNotReady {
		tenant := cq.Spec.TenantRef.Name
		for field, v := range quota.FromAPI(cq.Status.Effective) {
			samples = append(samples, frame.Sample{Vec: quotaLimit, Labels: []string{cq.Namespace, tenant, field.String()}, Value: float64(v)})
		}
		for field, v := range quota.FromAPI(cq.Status.Usage) {
			samples = append(samples, frame.Sample{Vec: quotaInUse, Labels: []string{cq.Namespace, tenant, field.String()}, Value: float64(v)})
		}
		for _, p := range cq.Spec.Peaks {
			v := 0.0
			if slices.Contains(cq.Status.ActiveSeasons, p.Season) {
				v = 1
			}
			samples = append(samples, frame.Sample{Vec: quotaSeasonActive, Labels: []string{cq.Namespace, tenant, p.Season}, Value: v})
		}
	}
	if next := cq.Status.NextTransition; next != nil {
		samples = append(samples, frame.Sample{Vec: quotaNextTransition, Labels: []string{cq.Namespace, cq.Name}, Value: float64(next.Unix())})
	}
	for _, p := range cq.Status.PendingPeaks {
		opens := 0.0
		if p.OpensAt != nil {
			opens = float64(p.OpensAt.Unix())
		}
		samples = append(samples, frame.Sample{Vec: peakPending, Labels: []string{cq.Namespace, cq.Name, p.Season}, Value: opens})
	}
	for _, st := range cq.Status.PeakCapacity {
		if st.Verdict != whv1.VerdictNotJudged {
			samples = append(samples, frame.Sample{Vec: peakConfirmed, Labels: []string{cq.Namespace, cq.Name, st.Season},
				Value: boolValue(st.Verdict == whv1.VerdictConfirmed)})
		}
	}
	quotaSeries.Publish(types.NamespacedName{Namespace: cq.Namespace, Name: cq.Name}, samples)
}

// forgetQuotaMetrics deletes the series of a ComputeQuota that is gone or going.
func forgetQuotaMetrics(key types.NamespacedName) { quotaSeries.Forget(key) }

// observeTransitionLag records how long after a season boundary (the nextTransition the
// last reconcile set) the quota it changes reached OpenStack, when this write, started
// at started, is that boundary's.
func observeTransitionLag(boundary *metav1.Time, started time.Time) {
	if boundary == nil || started.Before(boundary.Time) || started.Sub(boundary.Time) > time.Minute {
		return
	}
	transitionLag.Observe(time.Since(boundary.Time).Seconds())
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
