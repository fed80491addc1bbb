package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The operator is one process for every department (issue 20): here one namespace does
// every attack of the issue at once, while another department scales an environment,
// crosses a season boundary and rotates its credential, all on time; the operator is
// never restarted and stays within the chart's memory limit.
const (
	nbNoisy   = "e2e-neighbour-noisy"
	nbCalm    = "e2e-neighbour-calm"
	nbOutside = "e2e-neighbour-outside" // no Cloud admits it
	nbSeason  = "e2e-neighbour-peak"
	nbPolicy  = "e2e-neighbour-maxttl"
	// nbGrace is the calm department's credential grace period.
	nbGrace = 30 * time.Second
	// nbCores are the calm department's cores outside and inside its peak.
	nbCores, nbPeakCores = 10, 20
)

// nbProjects are the Keystone projects the suite's Tenants make (default names).
var nbProjects = []string{nbCalm + "_calm", nbCalm + "_late", nbNoisy + "_noisy", nbNoisy + "_broke"}

var _ = Describe("hostile neighbour: one namespace attacks while another department works on time", Ordered, ContinueOnFailure, Label("neighbour"), func() {
	s := &nbState{tasks: map[string]*nbTask{}}

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, nbProjects...)).To(Succeed())
		departmentNamespace(nbNoisy)
		departmentNamespace(nbCalm)
		apply("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + nbOutside + "}\n")
		s.dir = GinkgoT().TempDir()
		DeferCleanup(func() {
			s.cleanup()
			Expect(deleteLeftoverProjects(ctx, nbProjects...)).To(Succeed())
		})
		s.setUp()
	})

	It("measures the calm department alone: an environment scaled 0→5 until 5 servers are ACTIVE in Nova", func() {
		s.alone = s.scaleUp(Default)
		GinkgoWriter.Printf("calm department alone: 0→5 servers ACTIVE in %s\n", s.alone.Round(100*time.Millisecond))
		AddReportEntry("calm 0→5 alone", s.alone.Round(100*time.Millisecond).String())
		kubectl("-n", nbCalm, "scale", "testenvironment/calm", "--replicas=0")
		Eventually(s.servers(s.calmProject, "calm-")).WithTimeout(3 * time.Minute).Should(BeEmpty())
	})

	It("starts every attack of the noisy namespace and the calm department's work at once", func() {
		s.refusalsBefore = scrapeMetrics()[nbQuotaRefusals]
		opens := time.Now().Truncate(time.Second).Add(75 * time.Second)
		apply(nbSeasonYAML(opens, opens.Add(30*time.Second)))
		s.start(opens)
	})

	It("calm: scales its environment 0→5 beside the neighbour, on time", func() {
		s.tasks["calm scale"].expect(6 * time.Minute)
	})

	It("calm: its quota crosses the season boundary on time (not held up by the neighbour, never early)", func() {
		s.tasks["calm season"].expect(5 * time.Minute)
	})

	It("calm: its application credential rotates on time, and the old one works during the grace period", func() {
		s.tasks["calm rotation"].expect(4 * time.Minute)
	})

	It("a: a DepartmentPolicy with a badly spelled maxTTL (14d, 2w, P14D) is refused at kubectl apply", func() {
		s.tasks["a maxTTL"].expect(time.Minute)
	})

	It("b: a department clouds.yaml that names a local file (cacert: /dev/zero) is refused with CredentialsError naming the key", func() {
		s.tasks["b cacert"].expect(4 * time.Minute)
	})

	It("b: a department auth_url that accepts and never answers fails that Tenant alone, sooner than the request timeout", func() {
		s.tasks["b silent auth_url"].expect(3 * time.Minute)
	})

	It("c: removing a TestEnvironment's ttl with a JSON patch is refused", func() {
		s.tasks["c ttl removal"].expect(time.Minute)
	})

	It("d: 300 labelled ~900 KiB Secrets and 200 maximal TestEnvironments in a namespace no Cloud admits are created, and the environments are looked at", func() {
		s.tasks["d outside"].expect(8 * time.Minute)
	})

	It("e: networks named like the external network in the noisy project do not stop another department's new Tenant", func() {
		s.tasks["e public networks"].expect(5 * time.Minute)
	})

	It("f: servers the noisy department stopped itself are left as they are, and not as still building", func() {
		s.tasks["f stopped servers"].expect(6 * time.Minute)
	})

	It("f: an environment refused for quota says so and backs off", func() {
		s.tasks["f quota 0"].expect(3 * time.Minute)
		refusals := scrapeMetrics()[nbQuotaRefusals] - s.refusalsBefore
		GinkgoWriter.Printf("Nova quota refusals (403 on POST) during the attack: %.0f in %s\n", refusals, time.Since(s.started).Round(time.Second))
		AddReportEntry("Nova 403s on POST during the attack", fmt.Sprintf("%.0f in %s", refusals, time.Since(s.started).Round(time.Second)))
	})

	It("the operator process was never restarted and its RSS stayed within the chart's memory limit", func() {
		for name, t := range s.tasks {
			Expect(t.finished(8*time.Minute)).To(BeTrue(), "%s is still running", name)
		}
		Expect(starts).To(Equal(s.starts), "the suite restarted the manager during the attack")
		Expect(manager).NotTo(BeNil())
		Expect(manager.Process.Pid).To(Equal(s.pid), "another manager process")
		Expect(manager.ProcessState).To(BeNil(), "the manager exited")
		limit := nbChartMemoryLimit()
		rss, peak := nbMemory(Default, s.pid)
		GinkgoWriter.Printf("manager RSS now %s, peak %s, chart limit %s\n", nbMiB(rss), nbMiB(peak), limit.String())
		AddReportEntry("manager RSS now / peak / chart limit", fmt.Sprintf("%s / %s / %s", nbMiB(rss), nbMiB(peak), limit.String()))
		Expect(peak.Cmp(limit)).To(BeNumerically("<=", 0), "the manager's peak RSS %s is above the chart's limit %s", nbMiB(peak), limit.String())
		GinkgoWriter.Printf("calm 0→5 servers ACTIVE: alone %s, beside the noisy neighbour %s\n",
			s.alone.Round(100*time.Millisecond), s.beside.Round(100*time.Millisecond))
	})

	It("cleans up: Tenants deleted, projects gone, the namespaces' objects removed", func() {
		s.cleanup()
		for _, name := range nbProjects {
			Expect(admin.FindProject(ctx, name)).To(BeEmpty(), "project %s is still in Keystone", name)
		}
		for _, ns := range []string{nbNoisy, nbCalm, nbOutside} {
			err := k8s.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
			Expect(apierrors.IsNotFound(err)).To(BeTrue(), "namespace %s: %v", ns, err)
		}
		Expect(kubectl("get", "departmentpolicy,peakseason", "-o", "name")).NotTo(Or(ContainSubstring(nbPolicy), ContainSubstring(nbSeason)))
	})
})

// nbQuotaRefusals is the operator's count of Nova refusals of a server create: quota.
const nbQuotaRefusals = `whitehall_openstack_requests_total{code="403",method="POST",service="compute"}`

// nbSeasonYAML is the calm department's PeakSeason, one window from opens to closes.
func nbSeasonYAML(opens, closes time.Time) string {
	stamp := func(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05") }
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: %s}
spec:
  timeZone: UTC
  windows: [{from: %q, to: %q}]
`, nbSeason, stamp(opens), stamp(closes))
}

// nbEnvYAML is a TestEnvironment with a ttl.
func nbEnvYAML(ns, name, tenant string, replicas int) string {
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: %s, namespace: %s}
spec:
  tenantRef: {name: %s}
  replicas: %d
  template: {flavor: m1.tiny, image: cirros}
  ttl: 2h
`, name, ns, tenant, replicas)
}

// nbCalmYAML is the calm department: a Tenant with a network and an application
// credential, a ComputeQuota with a peak, and an environment with no servers yet.
func nbCalmYAML() string {
	return tenantYAML(nbCalm, "calm", fmt.Sprintf("network: {cidr: 10.93.0.0/24, externalNetwork: public}\n  applicationCredential: {secretName: openstack, gracePeriod: %s}", nbGrace)) +
		fmt.Sprintf(`---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: calm, namespace: %[1]s}
spec:
  tenantRef: {name: calm}
  baseline: {compute: {instances: 10, cores: %[2]d, ramMiB: 10240}}
  peaks: [{season: %[3]s, compute: {cores: %[4]d}}]
---
`, nbCalm, nbCores, nbSeason, nbPeakCores) + nbEnvYAML(nbCalm, "calm", "calm", 0)
}

// nbNoisyYAML is the noisy department's own Tenants, each with a network for its
// servers: one with an application credential, and one whose quota allows no server.
func nbNoisyYAML() string {
	return tenantYAML(nbNoisy, "noisy", "network: {cidr: 10.95.0.0/24}\n  applicationCredential: {secretName: openstack}") + "---\n" +
		tenantYAML(nbNoisy, "broke", "network: {cidr: 10.96.0.0/24}") + fmt.Sprintf(`---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: broke, namespace: %s}
spec:
  tenantRef: {name: broke}
  baseline: {compute: {instances: 0}}
`, nbNoisy)
}

// nbTenantStatus reads a Tenant with g.
func nbTenantStatus(g Gomega, ns, name string) *whv1.Tenant {
	t := &whv1.Tenant{}
	g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
	return t
}
