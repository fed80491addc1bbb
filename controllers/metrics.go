package controllers

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
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
	policyViolations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "whitehall_policy_violations",
		Help: "Existing objects that break a DepartmentPolicy, by kind (Tenant, ComputeQuota, TestEnvironment).",
	}, []string{"policy", "kind"})
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

func init() {
	metrics.Registry.MustRegister(quotaLimit, quotaInUse, quotaSeasonActive, quotaWrites, seasonActive, environmentServers, transitionLag, policyViolations)
}

// quotaSeries, serverSeries and seasonSeries remember the series each object published.
var (
	quotaSeries  = NewPublished()
	serverSeries = NewPublished()
	seasonSeries = NewPublished()
	usageSeries  = NewPublished()
	policySeries = NewPublished()
)

// recordQuotaMetrics publishes a ComputeQuota's status as gauges, and deletes the series
// it published before that no longer hold: a peak removed from the spec, a field no
// longer managed, the series of the Tenant it named before. While its Tenant is gone or
// has no project, nothing is in force that it manages: it publishes nothing.
func recordQuotaMetrics(cq *whv1.ComputeQuota) {
	var samples []Sample
	if ready := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionReady); ready == nil || ready.Reason != whv1.ReasonTenantNotReady {
		tenant := cq.Spec.TenantRef.Name
		for field, v := range quota.FromAPI(cq.Status.Effective) {
			samples = append(samples, Sample{quotaLimit, []string{cq.Namespace, tenant, field.String()}, float64(v)})
		}
		for field, v := range quota.FromAPI(cq.Status.Usage) {
			samples = append(samples, Sample{quotaInUse, []string{cq.Namespace, tenant, field.String()}, float64(v)})
		}
		for _, p := range cq.Spec.Peaks {
			v := 0.0
			if slices.Contains(cq.Status.ActiveSeasons, p.Season) {
				v = 1
			}
			samples = append(samples, Sample{quotaSeasonActive, []string{cq.Namespace, tenant, p.Season}, v})
		}
	}
	quotaSeries.Publish(types.NamespacedName{Namespace: cq.Namespace, Name: cq.Name}, samples)
}

// forgetQuotaMetrics deletes the series of a ComputeQuota that is gone or going.
func forgetQuotaMetrics(key types.NamespacedName) { quotaSeries.Forget(key) }

// recordServerMetrics publishes an environment's servers by status.
func recordServerMetrics(env *whv1.TestEnvironment) {
	counts := map[string]int{}
	for _, s := range env.Status.Servers {
		counts[s.Status]++
	}
	samples := make([]Sample, 0, len(counts))
	for status, n := range counts {
		samples = append(samples, Sample{environmentServers, []string{env.Namespace, env.Name, status}, float64(n)})
	}
	serverSeries.Publish(types.NamespacedName{Namespace: env.Namespace, Name: env.Name}, samples)
}

// forgetServerMetrics drops the series of an environment.
func forgetServerMetrics(namespace, name string) {
	serverSeries.Forget(types.NamespacedName{Namespace: namespace, Name: name})
}

// recordSeasonMetrics publishes whether a PeakSeason is active.
func recordSeasonMetrics(ps *whv1.PeakSeason) {
	v := 0.0
	if ps.Status.Active {
		v = 1
	}
	seasonSeries.Publish(types.NamespacedName{Name: ps.Name}, []Sample{{seasonActive, []string{ps.Name}, v}})
}

// forgetSeasonMetrics drops the series of a PeakSeason.
func forgetSeasonMetrics(key types.NamespacedName) { seasonSeries.Forget(key) }

// The kinds a DepartmentPolicy governs, as whitehall_policy_violations names them.
const (
	policyKindTenant      = "Tenant"
	policyKindQuota       = "ComputeQuota"
	policyKindEnvironment = "TestEnvironment"
)

// recordPolicyMetrics publishes how many objects of each kind break a policy (zero
// included, so a mended breach shows as 0).
func recordPolicyMetrics(name string, violations map[string]int) {
	samples := make([]Sample, 0, 3)
	for _, kind := range []string{policyKindTenant, policyKindQuota, policyKindEnvironment} {
		samples = append(samples, Sample{policyViolations, []string{name, kind}, float64(violations[kind])})
	}
	policySeries.Publish(types.NamespacedName{Name: name}, samples)
}

// forgetPolicyMetrics drops the series of a DepartmentPolicy that is gone.
func forgetPolicyMetrics(key types.NamespacedName) { policySeries.Forget(key) }

// Sample is one gauge value to publish.
type Sample struct {
	Vec    *prometheus.GaugeVec
	Labels []string
	Value  float64
}

// series names one gauge series: its vector and its label values, joined.
type series struct {
	vec    *prometheus.GaugeVec
	labels string
}

const labelSep = "\x00"

// Published remembers the series each object Published, so that the series of a deleted
// object, or one it no longer publishes, are deleted rather than kept for good. A series
// two objects publish (two ComputeQuotas naming one Tenant, one of them refused) goes
// only when neither publishes it.
type Published struct {
	mu       sync.Mutex
	byObject map[types.NamespacedName]map[series]struct{}
	holders  map[series]int
}

func NewPublished() *Published {
	return &Published{byObject: map[types.NamespacedName]map[series]struct{}{}, holders: map[series]int{}}
}

// Publish sets obj's samples and deletes the series obj published last time and not now.
func (p *Published) Publish(obj types.NamespacedName, samples []Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := make(map[series]struct{}, len(samples))
	for _, s := range samples {
		s.Vec.WithLabelValues(s.Labels...).Set(s.Value)
		key := series{s.Vec, strings.Join(s.Labels, labelSep)}
		if _, dup := now[key]; dup {
			continue
		}
		now[key] = struct{}{}
		if _, had := p.byObject[obj][key]; !had {
			p.holders[key]++
		}
	}
	for key := range p.byObject[obj] {
		if _, still := now[key]; !still {
			p.release(key)
		}
	}
	if len(now) == 0 {
		delete(p.byObject, obj)
		return
	}
	p.byObject[obj] = now
}

// Forget deletes every series of obj.
func (p *Published) Forget(obj types.NamespacedName) { p.Publish(obj, nil) }

// release drops one holder of key, and the series with the last.
func (p *Published) release(key series) {
	if p.holders[key]--; p.holders[key] > 0 {
		return
	}
	delete(p.holders, key)
	key.vec.DeleteLabelValues(strings.Split(key.labels, labelSep)...)
}

// observeTransitionLag records how long after a season boundary (the nextTransition the
// last reconcile set) the quota it changes reached OpenStack, when this write, started
// at started, is that boundary's.
func observeTransitionLag(boundary *metav1.Time, started time.Time) {
	if boundary == nil || started.Before(boundary.Time) || started.Sub(boundary.Time) > time.Minute {
		return
	}
	transitionLag.Observe(time.Since(boundary.Time).Seconds())
}
