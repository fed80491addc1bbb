package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// /scale as other controllers drive it: the real HorizontalPodAutoscaler controller of
// the local kube-controller-manager, and the KEDA ScaledObject of docs/test-environments.md
// checked against KEDA's own CRD.
var _ = Describe("TestEnvironment /scale driven by other controllers", Ordered, func() {
	const (
		ns     = "hmrc"
		tenant = "e2e-hpa"
		env    = "hpa"
	)
	var projectID string

	BeforeAll(func() {
		apply(tenantYAML(ns, tenant, "network: {cidr: 10.51.0.0/24}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+tenant, "--timeout=120s")
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant}, t)).To(Succeed())
		projectID = t.Status.ProjectID
		DeferCleanup(func() {
			kubectl("-n", ns, "delete", "tenant", tenant, "--ignore-not-found", "--timeout=180s")
		})
	})

	serverNames := func(g Gomega) []string {
		list, err := admin.ProjectServers(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		names := make([]string, 0, len(list))
		for _, s := range list {
			names = append(names, s.Name)
		}
		return names
	}

	It("follows an HPA whose maxReplicas is below the environment's replicas, down to one server", func() {
		apply(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: ` + env + `, namespace: ` + ns + `}
spec:
  tenantRef: {name: ` + tenant + `}
  replicas: 3
  template: {flavor: m1.tiny, image: cirros}
  ttl: 2h
`)
		DeferCleanup(func() {
			kubectl("-n", ns, "delete", "testenvironment", env, "--ignore-not-found", "--timeout=180s")
			Eventually(serverNames).Should(BeEmpty())
		})
		kubectl("-n", ns, "wait", "--for=condition=Ready", "testenvironment/"+env, "--timeout=180s")
		Eventually(serverNames).Should(ConsistOf(env+"-0", env+"-1", env+"-2"))

		start := time.Now()
		apply(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: ` + env + `, namespace: ` + ns + `}
spec:
  scaleTargetRef: {apiVersion: whitehall.cloud/v1alpha1, kind: TestEnvironment, name: ` + env + `}
  minReplicas: 1
  maxReplicas: 1
`)
		DeferCleanup(func() { kubectl("-n", ns, "delete", "hpa", env, "--ignore-not-found") })

		By("the HPA controller writes spec.replicas through /scale")
		Eventually(func(g Gomega) *int32 {
			te := &whv1.TestEnvironment{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: env}, te)).To(Succeed())
			return te.Spec.Replicas
		}).WithTimeout(2 * time.Minute).Should(HaveValue(BeEquivalentTo(1)))
		By("Nova follows: the highest indexes go")
		Eventually(serverNames).WithTimeout(2 * time.Minute).Should(ConsistOf(env + "-0"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "testenvironment/"+env, "--timeout=120s")
		AddReportEntry("HPA maxReplicas 1 → one server left after", time.Since(start).String())
		By("the HPA reads the one replica back through /scale (status.replicas) at its next sync")
		Eventually(func() string {
			return kubectl("-n", ns, "get", "hpa", env, "-o", "jsonpath={.status.currentReplicas}")
		}).WithTimeout(time.Minute).Should(Equal("1"))
	})

	It("the docs' KEDA ScaledObject is valid against KEDA's own CRD, and a misspelt field is refused", func() {
		kubectl("apply", "--server-side", "-f", filepath.Join(repoRoot, "test", "e2e", "testdata", "keda", "keda.sh_scaledobjects.yaml"))
		kubectl("wait", "--for=condition=Established", "crd/scaledobjects.keda.sh", "--timeout=60s")

		page, err := os.ReadFile(filepath.Join(repoRoot, "docs", "test-environments.md"))
		Expect(err).NotTo(HaveOccurred())
		var example string
		for _, m := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllStringSubmatch(string(page), -1) {
			if strings.Contains(m[1], "kind: ScaledObject") {
				example = m[1]
			}
		}
		Expect(example).NotTo(BeEmpty(), "docs/test-environments.md has a ScaledObject example")

		path := filepath.Join(GinkgoT().TempDir(), "scaledobject.yaml")
		Expect(os.WriteFile(path, []byte(example), 0o644)).To(Succeed())
		kubectl("apply", "--dry-run=server", "--validate=strict", "-f", path)

		misspelt := strings.Replace(example, "minReplicaCount", "minReplicasCount", 1)
		Expect(misspelt).NotTo(Equal(example))
		Expect(os.WriteFile(path, []byte(misspelt), 0o644)).To(Succeed())
		out, err := tryKubectl("apply", "--dry-run=server", "--validate=strict", "-f", path)
		Expect(err).To(HaveOccurred(), "strict validation refuses a field KEDA does not have")
		Expect(out).To(ContainSubstring("minReplicasCount"))
	})
})
