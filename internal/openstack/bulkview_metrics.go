package openstack

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// The bulk view's metrics, by cloud (its auth URL): how often it lists, when it last
// did (its age is time() minus that), how many projects it holds, and how many reads it
// served instead of OpenStack.
var (
	viewRefreshes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_openstack_bulk_view_refreshes_total",
		Help: "Listings made by the bulk view, by cloud (auth URL), listing and result (ok, error).",
	}, []string{"cloud", "listing", "result"})

	viewRefreshed = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_openstack_bulk_view_refreshed_timestamp_seconds",
		Help: "When the bulk view of a cloud last began a refresh (Unix time): its age is time() minus this.",
	}, []string{"cloud"})

	viewProjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_openstack_bulk_view_projects",
		Help: "Projects in the bulk view of a cloud, as of its last refresh.",
	}, []string{"cloud"})

	viewReads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "whitehall_openstack_bulk_view_reads_total",
		Help: "Reads at rest asked of the bulk view, by cloud, listing and whether the view served them (view) or they went to OpenStack (live).",
	}, []string{"cloud", "listing", "served"})

	viewWakes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "whitehall_openstack_bulk_view_wakes_total",
		Help: "Projects a bulk view refresh found changed and passed on to the controllers.",
	})

	viewWakesDropped = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "whitehall_openstack_bulk_view_wakes_dropped_total",
		Help: "Changed projects not passed on because a controller was behind: their objects' own resync catches them.",
	})
)

func init() {
	metrics.Registry.MustRegister(viewRefreshes, viewRefreshed, viewProjects, viewReads, viewWakes, viewWakesDropped)
}

// count records a read at rest, served from the view or not.
func (v *BulkView) count(listing Listing, served bool) {
	how := "live"
	if served {
		how = "view"
	}
	viewReads.WithLabelValues(v.cloud, string(listing), how).Inc()
}

// refreshed records one listing of a refresh.
func (v *BulkView) refreshed(listing Listing, ok bool) {
	result := "ok"
	if !ok {
		result = "error"
	}
	viewRefreshes.WithLabelValues(v.cloud, string(listing), result).Inc()
}

// published records a refresh made current.
func (v *BulkView) published(s *snapshot) {
	viewRefreshed.WithLabelValues(v.cloud).Set(float64(s.began.UnixNano()) / 1e9)
	if s.projects != nil {
		viewProjects.WithLabelValues(v.cloud).Set(float64(len(s.projects)))
	}
}
