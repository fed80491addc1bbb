package peakseason

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

var (
	seasonActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_season_active",
		Help: "1 while a PeakSeason (ramps included) is active.",
	}, []string{"season"})
	seasonOpens = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_season_next_opening_timestamp_seconds",
		Help: "When a PeakSeason next turns on (Unix time); absent while it is on or when it never turns on again.",
	}, []string{"season"})
	seasonAtRisk = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_season_capacity_at_risk",
		Help: "1 while the peaks committed to a PeakSeason exceed the cloud's capacity (CapacityAtRisk True), 0 while they fit; absent when unknown.",
	}, []string{"season"})
	seasonPeaksAtRisk = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_season_peaks_at_risk",
		Help: "How many approved peaks of a PeakSeason do not fit in full in the window it is judging (status.confirmation.atRisk); absent outside confirmAhead.",
	}, []string{"season"})
)

func init() {
	metrics.Registry.MustRegister(seasonActive, seasonOpens, seasonAtRisk, seasonPeaksAtRisk)
}

// seasonSeries remembers the series each PeakSeason published.
var seasonSeries = frame.NewPublished()

// recordSeasonMetrics publishes whether a PeakSeason is active, when it next opens, and
// whether its committed peaks fit: what the alerts of the chart's PrometheusRule read.
func recordSeasonMetrics(ps *whv1.PeakSeason) {
	labels := []string{ps.Name}
	samples := []frame.Sample{{Vec: seasonActive, Labels: labels, Value: boolValue(ps.Status.Active)}}
	if !ps.Status.Active && ps.Status.NextTransition != nil {
		samples = append(samples, frame.Sample{Vec: seasonOpens, Labels: labels, Value: float64(ps.Status.NextTransition.Unix())})
	}
	if c := meta.FindStatusCondition(ps.Status.Conditions, whv1.ConditionCapacityAtRisk); c != nil && c.Status != metav1.ConditionUnknown {
		samples = append(samples, frame.Sample{Vec: seasonAtRisk, Labels: labels, Value: boolValue(c.Status == metav1.ConditionTrue)})
	}
	if conf := ps.Status.Confirmation; conf != nil {
		samples = append(samples, frame.Sample{Vec: seasonPeaksAtRisk, Labels: labels, Value: float64(conf.AtRisk)})
	}
	seasonSeries.Publish(types.NamespacedName{Name: ps.Name}, samples)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// forgetSeasonMetrics drops the series of a PeakSeason.
func forgetSeasonMetrics(key types.NamespacedName) { seasonSeries.Forget(key) }
