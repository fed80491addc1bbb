package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

var _ = Describe("TestEnvironment on the Tenant's network", Ordered, func() {
	const ns = "hmrc"
	var (
		tenant *whv1.Tenant
	)

	BeforeAll(func() {
		apply(tenantYAML(ns, "e2e-env", "network: {cidr: 10.50.0.0/24, externalNetwork: public, dnsNameservers: [10.0.0.2]}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/e2e-env", "--timeout=120s")
		tenant = &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "e2e-env"}, tenant)).To(Succeed())
		Expect(tenant.Status.Network).NotTo(BeNil())
		Expect(tenant.Status.Network.RouterID).NotTo(BeEmpty())
		Expect(admin.NetworkExists(ctx, tenant.Status.Network.NetworkID)).To(BeTrue())
	})

	// servers returns name → status of the project's servers whose names start with prefix.
	servers := func(prefix string) func(Gomega) map[string]string {
		return func(g Gomega) map[string]string {
			list, err := admin.ProjectServers(ctx, tenant.Status.ProjectID)
			g.Expect(err).NotTo(HaveOccurred())
			out := map[string]string{}
			for _, s := range list {
				if strings.HasPrefix(s.Name, prefix) {
					g.Expect(out).NotTo(HaveKey(s.Name), "a duplicate server %s", s.Name)
					out[s.Name] = s.Status
				}
			}
			return out
		}
	}
	active := func(prefix string, n int) map[string]string {
		out := map[string]string{}
		for i := range n {
			out[fmt.Sprintf("%s-%d", prefix, i)] = "ACTIVE"
		}
		return out
	}
	envYAML := func(name string, replicas int, extra string) string {
		return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: %s, namespace: %s}
spec:
  tenantRef: {name: e2e-env}
  replicas: %d
  template: {flavor: m1.tiny, image: cirros, metadata: {purpose: e2e}}
  %s
`, name, ns, replicas, extra)
	}

	It("bursts 0→10 servers ACTIVE, then scales to 3 with kubectl scale, highest indexes gone", func() {
		start := time.Now()
		apply(envYAML("burst", 10, ""))
		Eventually(servers("burst-")).WithTimeout(5 * time.Minute).Should(Equal(active("burst", 10)))
		AddReportEntry("0→10 servers ACTIVE", time.Since(start).String())
		kubectl("-n", ns, "wait", "--for=condition=Ready", "testenvironment/burst", "--timeout=60s")
		Expect(kubectl("-n", ns, "get", "testenvironment", "burst")).To(MatchRegexp(`burst\s+10\s+10`))

		kubectl("-n", ns, "scale", "testenvironment/burst", "--replicas=3")
		Eventually(servers("burst-")).WithTimeout(2 * time.Minute).Should(Equal(active("burst", 3)))
		kubectl("-n", ns, "wait", "--for=jsonpath={.status.replicas}=3", "testenvironment/burst", "--timeout=60s")
	})

	It("deletes an environment and its servers when the TTL passes", func() {
		apply(envYAML("brief", 2, "ttl: 25s"))
		Eventually(servers("brief-")).WithTimeout(2 * time.Minute).Should(HaveLen(2))
		kubectl("-n", ns, "wait", "--for=delete", "testenvironment/brief", "--timeout=120s")
		Eventually(servers("brief-")).WithTimeout(time.Minute).Should(BeEmpty())
	})

	It("shows QuotaExceeded when the quota is below the replicas, and completes when the quota is raised", func() {
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: e2e-env, namespace: %s}
spec:
  tenantRef: {name: e2e-env}
  baseline: {compute: {instances: 5, cores: 50, ramMiB: 51200}}
`, ns))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/e2e-env", "--timeout=60s")
		kubectl("-n", ns, "scale", "testenvironment/burst", "--replicas=7")
		kubectl("-n", ns, "wait", "--for=condition=QuotaExceeded", "testenvironment/burst", "--timeout=120s")
		msg := kubectl("-n", ns, "get", "testenvironment", "burst", "-o", `jsonpath={.status.conditions[?(@.type=="QuotaExceeded")].message}`)
		Expect(msg).To(ContainSubstring("Quota exceeded for instances"))
		Eventually(servers("burst-")).WithTimeout(2 * time.Minute).Should(HaveLen(5))

		kubectl("-n", ns, "patch", "computequota", "e2e-env", "--type=merge", "-p", `{"spec":{"baseline":{"compute":{"instances":20}}}}`)
		Eventually(servers("burst-")).WithTimeout(3 * time.Minute).Should(Equal(active("burst", 7)))
		kubectl("-n", ns, "wait", "--for=condition=QuotaExceeded=false", "testenvironment/burst", "--timeout=60s")
	})

	It("boots servers no host can take again only after a back-off, with Nova's fault in status", func() {
		// Room for 20 more servers, so Nova's scheduler, not the quota, refuses them.
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: e2e-env, namespace: %s}
spec:
  tenantRef: {name: e2e-env}
  baseline: {compute: {instances: 40, cores: 80, ramMiB: 102400}}
`, ns))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/e2e-env", "--timeout=60s")
		flavor, err := admin.CreateFlavor(ctx, "e2e-no-host", 1, 64, 10000000) // 10 PB: more than the fake driver's 600 TB
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(admin.DeleteFlavor(ctx, flavor)).To(Succeed()) })

		computePOSTs := func() float64 {
			var n float64
			for series, v := range scrapeMetrics() {
				if strings.HasPrefix(series, "whitehall_openstack_requests_total{") &&
					strings.Contains(series, `method="POST"`) && strings.Contains(series, `service="compute"`) {
					n += v
				}
			}
			return n
		}
		before := computePOSTs()
		apply(strings.Replace(envYAML("nohost", 20, ""), "flavor: m1.tiny", "flavor: e2e-no-host", 1))
		// Over three minutes each index boots at 0s, ~30s and ~90s: 60 creates. Without a
		// back-off it was 53-65 a minute.
		const window = 3 * time.Minute
		Consistently(func() float64 { return computePOSTs() - before }).WithTimeout(window).WithPolling(10 * time.Second).
			Should(BeNumerically("<=", 80))
		posts := computePOSTs() - before
		AddReportEntry("compute POSTs per minute, 20 servers no host can take", fmt.Sprintf("%.1f", posts/window.Minutes()))
		GinkgoWriter.Printf("compute POSTs in %s for 20 servers no host can take: %.0f (%.1f/min)\n", window, posts, posts/window.Minutes())

		env := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "nohost"}, env)).To(Succeed())
		Expect(env.Status.Failures).To(HaveLen(20))
		Expect(env.Status.Failures).To(HaveEach(And(
			HaveField("Fault", ContainSubstring("No valid host")),
			HaveField("Count", BeNumerically(">=", 2)),
		)))
		Expect(kubectl("-n", ns, "get", "events", "--field-selector", "reason=ServerFailed", "-o", "name")).NotTo(BeEmpty())
		kubectl("-n", ns, "delete", "testenvironment", "nohost", "--timeout=180s")
		Eventually(servers("nohost-")).WithTimeout(2 * time.Minute).Should(BeEmpty())
	})

	It("ends with exactly 10 servers and no orphan when the operator is killed again and again during a burst", func() {
		kubectl("-n", ns, "delete", "testenvironment", "burst", "--timeout=180s")
		Eventually(servers("burst-")).WithTimeout(2 * time.Minute).Should(BeEmpty())

		apply(envYAML("crash", 10, ""))
		// Kill it at random points of the burst: once a random number of servers exist.
		kills := rand.Perm(9)[:4]
		slices.Sort(kills)
		for i, k := range kills {
			Eventually(func(g Gomega) int { return len(servers("crash-")(g)) }).WithPolling(20 * time.Millisecond).
				Should(BeNumerically(">=", k+1))
			stopManager(os.Kill)
			GinkgoWriter.Printf("killed the operator (%d) with %d servers in Nova\n", i+1, len(servers("crash-")(Default)))
			startManager()
		}
		Eventually(servers("crash-")).WithTimeout(5 * time.Minute).Should(Equal(active("crash", 10)))
		env := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "crash"}, env)).To(Succeed())
		list, err := admin.ProjectServers(ctx, tenant.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(list).To(HaveEach(HaveField("Metadata", HaveKeyWithValue("whitehall_environment_uid", string(env.UID)))),
			"every server in the project belongs to the environment: none is orphaned")
		Expect(list).To(HaveLen(10))
	})

	It("deletes the environments, then the network bundle, then the project with the Tenant", func() {
		network := tenant.Status.Network.NetworkID
		kubectl("-n", ns, "delete", "computequota", "e2e-env", "--timeout=60s")
		kubectl("-n", ns, "delete", "tenant", "e2e-env", "--timeout=240s")
		Expect(kubectl("-n", ns, "get", "testenvironments", "-o", "name")).NotTo(ContainSubstring("crash"))
		Expect(admin.NetworkExists(ctx, network)).To(BeFalse())
		p, err := admin.GetProject(ctx, tenant.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(p).To(BeNil())
	})
})
