package peakseason

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

var seasonActive = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "whitehall_season_active",
	Help: "1 while a PeakSeason (ramps included) is active.",
}, []string{"season"})

func init() { metrics.Registry.MustRegister(seasonActive) }

// seasonSeries remembers the series each PeakSeason published.
var seasonSeries = frame.NewPublished()

// recordSeasonMetrics publishes whether a PeakSeason is active.
func recordSeasonMetrics(ps *whv1.PeakSeason) {
	v := 0.0
	if ps.Status.Active {
		v = 1
	}
	seasonSeries.Publish(types.NamespacedName{Name: ps.Name}, []frame.Sample{{Vec: seasonActive, Labels: []string{ps.Name}, Value: v}})
}

// forgetSeasonMetrics drops the series of a PeakSeason.
func forgetSeasonMetrics(key types.NamespacedName) { seasonSeries.Forget(key) }
