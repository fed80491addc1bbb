package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

var _ = Describe("ComputeQuota with a PeakSeason", Ordered, func() {
	const ns = "hmrc"
	var projectID string

	BeforeAll(func() {
		apply(tenantYAML(ns, "e2e-quota", ""))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/e2e-quota", "--timeout=120s")
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e-quota"}, t)).To(Succeed())
		projectID = t.Status.ProjectID
		DeferCleanup(func() {
			kubectl("-n", ns, "delete", "computequota", "e2e-quota", "--ignore-not-found", "--timeout=60s")
			kubectl("delete", "peakseason", "e2e-burst", "--ignore-not-found", "--timeout=60s")
			kubectl("-n", ns, "delete", "tenant", "e2e-quota", "--timeout=60s")
		})
	})

	quota := func(g Gomega) cloudtest.Quota {
		q, err := admin.GetQuota(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		return q
	}
	baseline := And(HaveField("Cores", 16), HaveField("Instances", 8), HaveField("RAM", 32768), HaveField("Ports", 100), HaveField("Gigabytes", 500))
	peak := And(HaveField("Cores", 64), HaveField("Instances", 8), HaveField("RAM", 32768), HaveField("Ports", 400), HaveField("Gigabytes", 2000))

	It("raises Nova, Neutron and Cinder quota within 2 s of a window opening, and lowers it within 2 s of it closing", func() {
		Expect(admin.SetComputeQuota(ctx, projectID, nil, ptr.To(33))).To(Succeed())

		opens := time.Now().Truncate(time.Second).Add(12 * time.Second)
		closes := opens.Add(8 * time.Second)
		london, err := time.LoadLocation("Europe/London")
		Expect(err).NotTo(HaveOccurred())
		stamp := func(t time.Time) string { return t.In(london).Format("2006-01-02T15:04:05") }
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: e2e-burst}
spec:
  timeZone: Europe/London
  windows: [{from: %q, to: %q}]
`, stamp(opens), stamp(closes)))
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: e2e-quota, namespace: %s}
spec:
  tenantRef: {name: e2e-quota}
  baseline:
    compute: {cores: 16, instances: 8, ramMiB: 32768}
    network: {ports: 100}
    blockStorage: {gigabytes: 500}
  peaks:
    - season: e2e-burst
      compute: {cores: 64}
      network: {ports: 400}
      blockStorage: {gigabytes: 2000}
`, ns))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/e2e-quota", "--timeout=60s")
		kubectl("wait", "--for=condition=Ready", "peakseason/e2e-burst", "--timeout=60s")
		Expect(quota(Default)).To(baseline)
		Expect(time.Now()).To(BeTemporally("<", opens), "the baseline must be in place before the window opens; raise the lead time")

		Eventually(quota).WithTimeout(time.Until(opens) + 2*time.Second).WithPolling(100 * time.Millisecond).Should(peak)
		AddReportEntry("peak visible in OpenStack after the window opened", time.Since(opens).String())
		Expect(time.Now()).To(BeTemporally(">=", opens), "the peak must not come early")
		Expect(kubectl("-n", ns, "get", "computequota", "e2e-quota", "-o", "jsonpath={.status.activeSeasons}")).To(ContainSubstring("e2e-burst"))

		Eventually(quota).WithTimeout(time.Until(closes) + 2*time.Second).WithPolling(100 * time.Millisecond).Should(baseline)
		AddReportEntry("baseline visible in OpenStack after the window closed", time.Since(closes).String())
		Expect(time.Now()).To(BeTemporally(">=", closes), "the baseline must not come back early")

		Expect(quota(Default).KeyPairs).To(Equal(33), "a field the spec leaves out keeps the value set by hand")
	})

	It("exposes quota, season and OpenStack API metrics with sensible values", func() {
		metrics := scrapeMetrics()
		Expect(metrics).To(HaveKeyWithValue(fmt.Sprintf(`whitehall_quota_limit{namespace="%s",resource="compute.cores",tenant="e2e-quota"}`, ns), 16.0))
		Expect(metrics).To(HaveKey(fmt.Sprintf(`whitehall_quota_in_use{namespace="%s",resource="compute.cores",tenant="e2e-quota"}`, ns)))
		Expect(metrics).To(HaveKeyWithValue(`whitehall_season_active{season="e2e-burst"}`, 0.0))
		Expect(metrics).To(HaveKeyWithValue(`whitehall_quota_writes_total{service="compute"}`, BeNumerically(">=", 3)))
		Expect(metrics).To(HaveKeyWithValue(`whitehall_openstack_requests_total{code="200",method="GET",service="compute"}`, BeNumerically(">", 0)))
		Expect(metrics).To(HaveKeyWithValue(`whitehall_openstack_request_duration_seconds_count{method="PUT",service="network"}`, BeNumerically(">", 0)))
		Expect(metrics).To(HaveKeyWithValue("whitehall_season_transition_lag_seconds_count", BeNumerically(">=", 2)))
		lag := metrics["whitehall_season_transition_lag_seconds_sum"] / metrics["whitehall_season_transition_lag_seconds_count"]
		AddReportEntry("mean time from a season boundary to the quota written in OpenStack, seen by the operator", fmt.Sprintf("%.3f s", lag))
		Expect(lag).To(BeNumerically("<", 2), "a boundary reaches OpenStack within 2 s")
	})

	It("repairs a limit changed by hand within the resync period", func() {
		Expect(admin.SetComputeQuota(ctx, projectID, ptr.To(3), nil)).To(Succeed())
		Eventually(quota).WithTimeout(4 * resyncPeriod).Should(baseline)
		Expect(quota(Default).KeyPairs).To(Equal(33))
	})
})

var _ = Describe("A season that closes over servers above the baseline", Ordered, func() {
	const ns = "hmrc"
	var projectID string
	london, _ := time.LoadLocation("Europe/London")
	stamp := func(t time.Time) string { return t.In(london).Format("2006-01-02T15:04:05") }
	seasonYAML := func(to time.Time) string {
		return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: e2e-closing}
spec:
  timeZone: Europe/London
  windows: [{from: %q, to: %q}]
`, stamp(time.Now().Add(-time.Hour)), stamp(to))
	}

	BeforeAll(func() {
		apply(tenantYAML(ns, "e2e-below", "network: {cidr: 10.51.0.0/24}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/e2e-below", "--timeout=120s")
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e-below"}, t)).To(Succeed())
		projectID = t.Status.ProjectID
		DeferCleanup(func() {
			kubectl("-n", ns, "delete", "testenvironment", "e2e-below", "--ignore-not-found", "--timeout=180s")
			kubectl("-n", ns, "delete", "computequota", "e2e-below", "--ignore-not-found", "--timeout=60s")
			kubectl("delete", "peakseason", "e2e-closing", "--ignore-not-found", "--timeout=60s")
			kubectl("-n", ns, "delete", "tenant", "e2e-below", "--timeout=180s")
		})
	})

	It("lowers Nova's cores below the cores in use when the season closes, flags it, and keeps the servers", func() {
		apply(seasonYAML(time.Now().Add(time.Hour)))
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: e2e-below, namespace: %s}
spec:
  tenantRef: {name: e2e-below}
  baseline:
    compute: {cores: 1}
    network: {ports: 2}
  peaks:
    - season: e2e-closing
      compute: {cores: 8}
      network: {ports: 50}
`, ns))
		Eventually(func(g Gomega) cloudtest.Quota {
			q, err := admin.GetQuota(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			return q
		}).WithTimeout(60 * time.Second).Should(And(HaveField("Cores", 8), HaveField("Ports", 50)))

		By("booting 3 one-core servers during the season")
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: e2e-below, namespace: %s}
spec:
  tenantRef: {name: e2e-below}
  replicas: 3
  template: {flavor: m1.tiny, image: cirros}
`, ns))
		activeServers := func(g Gomega) int {
			list, err := admin.ProjectServers(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			n := 0
			for _, s := range list {
				if s.Status == "ACTIVE" {
					n++
				}
			}
			return n
		}
		Eventually(activeServers).WithTimeout(5 * time.Minute).WithPolling(2 * time.Second).Should(Equal(3))

		// For reading the numbers below: how long Nova takes to answer a quota write for
		// this project (it counts usage on every write).
		start := time.Now()
		Expect(admin.SetComputeQuota(ctx, projectID, ptr.To(8), nil)).To(Succeed())
		AddReportEntry("one Nova quota write by hand for a project with 3 servers", time.Since(start).String())

		for run := 1; run <= 2; run++ {
			By(fmt.Sprintf("closing the season (run %d)", run))
			if run > 1 {
				apply(seasonYAML(time.Now().Add(time.Hour)))
				Eventually(func(g Gomega) int {
					q, err := admin.GetQuota(ctx, projectID)
					g.Expect(err).NotTo(HaveOccurred())
					return q.Cores
				}).WithTimeout(30 * time.Second).Should(Equal(8))
			}
			closes := time.Now().Truncate(time.Second).Add(8 * time.Second)
			apply(seasonYAML(closes))
			Eventually(func(g Gomega) int {
				q, err := admin.GetQuota(ctx, projectID)
				g.Expect(err).NotTo(HaveOccurred())
				return q.Cores
			}).WithTimeout(time.Until(closes) + 10*time.Second).WithPolling(100 * time.Millisecond).Should(Equal(1))
			AddReportEntry(fmt.Sprintf("run %d: Nova's lowered cores limit visible after the season's end", run), time.Since(closes).String())
			Expect(time.Now()).To(BeTemporally(">=", closes), "the baseline must not come back early")

			q, err := admin.GetQuota(ctx, projectID)
			Expect(err).NotTo(HaveOccurred())
			Expect(q.Ports).To(Equal(2), "Neutron takes a limit below usage as set")
			Eventually(func(g Gomega) string {
				cq := &whv1.ComputeQuota{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e-below"}, cq)).To(Succeed())
				c := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionBelowUsage)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
				g.Expect(meta.IsStatusConditionTrue(cq.Status.Conditions, whv1.ConditionReady)).To(BeTrue())
				return c.Message
			}).WithTimeout(10 * time.Second).Should(ContainSubstring("compute.cores limit 1 < 3 in use"))
		}
		Expect(activeServers(Default)).To(Equal(3), "lowering quota never deletes a server")
	})
})
