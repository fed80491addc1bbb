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

var _ = Describe("crashes during a mixed workload", Ordered, Label("crash"), func() {
	const (
		ns      = "crash"
		kills   = 20
		servers = 50
	)
	var projectID string

	tenantName := func(i int) string { return fmt.Sprintf("dept-%d", i) }
	projectOf := func(name string) string {
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
		return t.Status.ProjectID
	}
	burst := func(g Gomega) []string {
		list, err := admin.ProjectServers(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		var names []string
		for _, s := range list {
			if strings.HasPrefix(s.Name, "wave-") {
				names = append(names, s.Name+"="+s.Status)
			}
		}
		slices.Sort(names)
		return names
	}

	BeforeAll(func() {
		departmentNamespace(ns) // served by the Cloud whitehall: no credentials in it
		Expect(admin.DeleteOwnedProjects(ctx, "crash_bursting", "crash_dept-0", "crash_dept-1", "crash_dept-2", "crash_dept-3", "crash_dept-4")).To(Succeed())
		apply(tenantYAML(ns, "bursting", "network: {cidr: 10.80.0.0/24}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/bursting", "--timeout=120s")
		projectID = projectOf("bursting")
	})

	It("ends with OpenStack exactly as desired after 20 SIGKILLs", func() {
		opens := time.Now().Truncate(time.Second).Add(45 * time.Second)
		london, err := time.LoadLocation("Europe/London")
		Expect(err).NotTo(HaveOccurred())
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: crash-wave}
spec:
  windows: [{from: %q, to: "2099-01-01T00:00:00"}]
`, opens.In(london).Format("2006-01-02T15:04:05")))
		DeferCleanup(func() { kubectl("delete", "peakseason", "crash-wave", "--ignore-not-found") })
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: bursting, namespace: %s}
spec:
  tenantRef: {name: bursting}
  baseline: {compute: {instances: 60, cores: 60, ramMiB: 61440}, network: {ports: 100}}
  peaks: [{season: crash-wave, compute: {cores: 120}}]
`, ns))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/bursting", "--timeout=60s")
		for i := range 5 {
			apply(tenantYAML(ns, tenantName(i), ""))
		}
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: wave, namespace: %s}
spec:
  tenantRef: {name: bursting}
  replicas: %d
  template: {flavor: m1.tiny, image: cirros}
`, ns, servers))

		// Kill at random points: each time the burst passes a random number of servers,
		// and the season opens meanwhile; half way, three Tenants are deleted. The points
		// follow Ginkgo's seed, so a failing run can be repeated.
		seed := uint64(GinkgoRandomSeed())
		thresholds := rand.New(rand.NewPCG(seed, seed>>1)).Perm(servers - 1)[:kills]
		AddReportEntry("crash kill points", fmt.Sprint(thresholds))
		slices.Sort(thresholds)
		start := time.Now()
		for i, k := range thresholds {
			Eventually(func(g Gomega) int { return len(burst(g)) }).WithTimeout(3 * time.Minute).WithPolling(50 * time.Millisecond).
				Should(BeNumerically(">=", k+1))
			stopManager(os.Kill)
			startManager()
			if i == kills/2 {
				for j := range 3 {
					kubectl("-n", ns, "delete", "tenant", tenantName(j), "--wait=false")
				}
			}
		}
		AddReportEntry("20 kills spread over", time.Since(start).String())

		By("checking OpenStack holds exactly what the manifests say")
		want := make([]string, 0, servers)
		for i := range servers {
			want = append(want, fmt.Sprintf("wave-%d=ACTIVE", i))
		}
		slices.Sort(want)
		Eventually(burst).WithTimeout(5*time.Minute).Should(Equal(want), "exactly 50 servers, no duplicate")
		env := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "wave"}, env)).To(Succeed())
		list, err := admin.ProjectServers(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(list).To(HaveEach(HaveField("Metadata", HaveKeyWithValue("whitehall_environment_uid", string(env.UID)))), "no orphan")

		for i := 3; i < 5; i++ {
			kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+tenantName(i), "--timeout=120s")
			Expect(admin.FindProject(ctx, ns+"_"+tenantName(i))).NotTo(BeEmpty())
		}
		for j := range 3 {
			kubectl("-n", ns, "wait", "--for=delete", "tenant/"+tenantName(j), "--timeout=120s")
			Expect(admin.FindProject(ctx, ns+"_"+tenantName(j))).To(BeEmpty(), "a deleted Tenant's project is gone")
		}
		Eventually(func(g Gomega) int {
			q, err := admin.GetQuota(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			return q.Cores
		}).WithTimeout(time.Until(opens)+time.Minute).Should(Equal(120), "the season opened during the crashes")
	})

	AfterAll(func() {
		kubectl("-n", ns, "delete", "testenvironment", "wave", "--ignore-not-found", "--timeout=300s")
		kubectl("-n", ns, "delete", "computequota,tenants", "--all", "--timeout=300s")
		for _, name := range []string{"crash-bursting", "crash-dept-3", "crash-dept-4"} {
			Expect(admin.FindProject(ctx, name)).To(BeEmpty(), "%s was deleted with its Tenant", name)
		}
	})
})
