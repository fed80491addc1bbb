package departmentpolicy

import (
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

var policyViolations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
	Name: "whitehall_policy_violations",
	Help: "Existing objects that break a DepartmentPolicy, by kind (Tenant, ComputeQuota, TestEnvironment).",
}, []string{"policy", "kind"})

func init() { metrics.Registry.MustRegister(policyViolations) }

// policySeries remembers the series each DepartmentPolicy published.
var policySeries = frame.NewPublished()

// The kinds a DepartmentPolicy governs, as whitehall_policy_violations names them.
const (
	policyKindTenant      = "Tenant"
	policyKindQuota       = "ComputeQuota"
	policyKindEnvironment = "TestEnvironment"
)

// recordPolicyMetrics publishes how many objects of each kind break a policy (zero
// included, so a mended breach shows as 0).
func recordPolicyMetrics(name string, violations map[string]int) {
	samples := make([]frame.Sample, 0, 3)
	for _, kind := range []string{policyKindTenant, policyKindQuota, policyKindEnvironment} {
		samples = append(samples, frame.Sample{Vec: policyViolations, Labels: []string{name, kind}, Value: float64(violations[kind])})
	}
	policySeries.Publish(types.NamespacedName{Name: name}, samples)
}

// forgetPolicyMetrics drops the series of a DepartmentPolicy that is gone.
func forgetPolicyMetrics(key types.NamespacedName) { policySeries.Forget(key) }
