package e2e

import (
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The centre's standards on the dev cloud: what breaks a DepartmentPolicy across objects
// never reaches OpenStack, and a network without a cidr is given a block of the pool.
var _ = Describe("DepartmentPolicy", Ordered, func() {
	const (
		ns     = "e2e-policy"
		policy = "e2e-policy"
		pool   = "10.99.0.0/16"
	)

	BeforeAll(func() {
		// Admitted by the Cloud whitehall, and governed by this policy only.
		apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels: {whitehall.cloud/department: "true", whitehall.cloud/e2e-policy: "true"}
`, ns))
		// As the chart installs them (admissionPolicies.enabled); applying twice is harmless.
		kubectl("apply", "-f", filepath.Join(repoRoot, "config", "admission"))
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: %s}
spec:
  namespaceSelector: {matchLabels: {whitehall.cloud/e2e-policy: "true"}}
  quotaCeiling: {compute: {cores: 8}}
  networks: {pool: %q, prefixLength: 26}
`, policy, pool))
		DeferCleanup(func() {
			for _, kind := range []string{"computequotas", "tenants"} {
				_, _ = tryKubectl("-n", ns, "delete", kind, "--all", "--timeout=120s")
			}
			_, _ = tryKubectl("delete", "departmentpolicy", policy, "--ignore-not-found")
			_, _ = tryKubectl("delete", "namespace", ns, "--timeout=120s")
		})
		kubectl("wait", "--for=condition=Ready", "departmentpolicy/"+policy, "--timeout=60s")
		// A ValidatingAdmissionPolicy is enforced a moment after it is made.
		Eventually(func() error {
			_, err := tryKubectl("apply", "--dry-run=server", "-f", isoManifest(policyQuotaYAML(ns, "probe", "probe", 9)))
			return err
		}).WithTimeout(30*time.Second).Should(HaveOccurred(), "the department admission policies are not enforced")
	})

	tenantOf := func(name string) func(Gomega) *whv1.Tenant {
		return func(g Gomega) *whv1.Tenant {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
			return t
		}
	}
	readyOf := func(obj client.Object, conditions func() []metaCondition) func(Gomega) metaCondition {
		return func(g Gomega) metaCondition {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj)).To(Succeed())
			c := meta.FindStatusCondition(conditions(), whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}
	}

	It("gives a network without a cidr the first block of the pool, and creates it in Neutron with that block", func() {
		apply(tenantYAML(ns, "a", "network: {}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/a", "--timeout=180s")
		t := tenantOf("a")(Default)
		Expect(t.Status.Network).NotTo(BeNil())
		Expect(t.Status.Network.CIDR).To(Equal("10.99.0.0/26"))
		n, err := admin.GetNetwork(ctx, t.Status.Network.NetworkID)
		Expect(err).NotTo(HaveOccurred())
		Expect(n).NotTo(BeNil())
		Expect(n.CIDRs).To(ConsistOf("10.99.0.0/26"))
	})

	It("never creates a network that overlaps another Tenant's block", func() {
		apply(tenantYAML(ns, "b", "network: {cidr: 10.99.0.0/27}"))
		b := &whv1.Tenant{}
		b.Namespace, b.Name = ns, "b"
		Eventually(readyOf(b, func() []metaCondition { return b.Status.Conditions })).Should(And(
			HaveField("Reason", whv1.ReasonPolicyViolation),
			HaveField("Message", And(ContainSubstring("DepartmentPolicy "+policy), ContainSubstring("10.99.0.0/26")))))
		Expect(b.Status.Network == nil || b.Status.Network.NetworkID == "").To(BeTrue(), "no network recorded")
		if b.Status.ProjectID != "" {
			Expect(admin.NetworkResources(ctx, b.Status.ProjectID)).NotTo(ContainElement(HavePrefix("network ")))
		}
	})

	It("refuses at kubectl apply a ComputeQuota over the ceiling on its own", func() {
		out, err := isoTryApply(policyQuotaYAML(ns, "too-big", "a", 9))
		Expect(err).To(HaveOccurred(), "kubectl apply accepted it: %s", out)
		Expect(out).To(ContainSubstring("DepartmentPolicy " + policy + ": quotaCeiling"))
	})

	It("holds in OpenStack the raise of the ComputeQuota that takes the namespace over its ceiling", func() {
		apply(tenantYAML(ns, "c", ""))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/c", "--timeout=180s")
		projectC := tenantOf("c")(Default).Status.ProjectID
		// A breach holds raises only (a lower limit is always written): give the project
		// 2 cores by hand, so the quota's 3 is a raise.
		Expect(admin.SetComputeQuota(ctx, projectC, ptr.To(2), nil)).To(Succeed())
		before, err := admin.GetQuota(ctx, projectC)
		Expect(err).NotTo(HaveOccurred())
		Expect(before.Cores).To(Equal(2))

		apply(policyQuotaYAML(ns, "a", "a", 6))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/a", "--timeout=60s")
		projectA := tenantOf("a")(Default).Status.ProjectID
		Expect(admin.GetQuota(ctx, projectA)).To(HaveField("Cores", 6))

		apply(policyQuotaYAML(ns, "c", "c", 3)) // 6 + 3 > 8
		c := &whv1.ComputeQuota{}
		c.Namespace, c.Name = ns, "c"
		Eventually(readyOf(c, func() []metaCondition { return c.Status.Conditions })).Should(And(
			HaveField("Reason", whv1.ReasonPolicyViolation),
			HaveField("Message", And(ContainSubstring("DepartmentPolicy "+policy+": quotaCeiling"), ContainSubstring(`"a"`)))))
		Expect(admin.GetQuota(ctx, projectC)).To(HaveField("Cores", before.Cores), "the raise over the ceiling reached Nova")
		Expect(kubectl("-n", ns, "get", "events", "--field-selector", "reason=PolicyViolation")).To(ContainSubstring("PolicyViolation"))
		Expect(kubectl("get", "departmentpolicy", policy, "-o", "jsonpath={.status.violations}")).NotTo(Equal("0"))
	})
})

// metaCondition shortens metav1.Condition in the matchers above.
type metaCondition = metav1.Condition

// policyQuotaYAML is a ComputeQuota of tenant with a baseline of cores only.
func policyQuotaYAML(ns, name, tenant string, cores int) string {
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: %s, namespace: %s}
spec:
  tenantRef: {name: %s}
  baseline: {compute: {cores: %d}}
`, name, ns, tenant, cores)
}
