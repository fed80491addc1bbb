package testenvironment

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

var environmentServers = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "whitehall_testenvironment_servers",
	Help: "Servers of a TestEnvironment by Nova status.",
}, []string{"namespace", "environment", "status"})

func init() { metrics.Registry.MustRegister(environmentServers) }

// serverSeries remembers the series each TestEnvironment published.
var serverSeries = frame.NewPublished()

// recordServerMetrics publishes an environment's servers by status.
func recordServerMetrics(env *whv1.TestEnvironment) {
	counts := map[string]int{}
	for _, s := range env.Status.Servers {
		counts[s.Status]++
	}
	samples := make([]frame.Sample, 0, len(counts))
	for status, n := range counts {
		samples = append(samples, frame.Sample{Vec: environmentServers, Labels: []string{env.Namespace, env.Name, status}, Value: float64(n)})
	}
	serverSeries.Publish(types.NamespacedName{Namespace: env.Namespace, Name: env.Name}, samples)
}

// forgetServerMetrics drops the series of an environment.
func forgetServerMetrics(namespace, name string) {
	serverSeries.Forget(types.NamespacedName{Namespace: namespace, Name: name})
}
