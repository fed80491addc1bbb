package envtest

import (
	"encoding/json"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The operator adds its finalizers with a patch of metadata.finalizers alone: a spec
// written back in Go's canonical form (ttl 72h as 72h0m0s) once made every TTL as a
// person writes it fail the immutability rule for good.
var _ = Describe("Finalizers", func() {
	var ns string
	BeforeEach(func() { ns = newDepartment() })

	// stored reads obj as the API server holds it.
	stored := func(obj *unstructured.Unstructured) *unstructured.Unstructured {
		out := &unstructured.Unstructured{}
		out.SetGroupVersionKind(obj.GroupVersionKind())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
		return out
	}
	specJSON := func(u *unstructured.Unstructured) string {
		b, err := json.Marshal(u.Object["spec"])
		Expect(err).NotTo(HaveOccurred())
		return string(b)
	}

	It("are added to a TestEnvironment without writing its spec back: each ttl reads as written and the environment becomes Ready", func() {
		createTenant(ns, "dept", func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.30.0.0/24"} })
		var envs []*unstructured.Unstructured
		for i, ttl := range []string{"72h", "90s", "1h30m"} {
			env := manifest(ns, fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: ttl-%d}
spec:
  tenantRef: {name: dept}
  replicas: 1
  ttl: %s
  template: {flavor: m1.tiny, image: cirros}
`, i, ttl))
			Expect(k8s.Create(ctx, env)).To(Succeed())
			envs = append(envs, env)
		}
		for i, ttl := range []string{"72h", "90s", "1h30m"} {
			env := envs[i]
			Eventually(func(g Gomega) {
				got := &whv1.TestEnvironment{}
				g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), got)).To(Succeed())
				g.Expect(got.Finalizers).To(ContainElement(whv1.TestEnvironmentFinalizer))
				g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "conditions: %v", got.Status.Conditions)
			}).Should(Succeed(), "ttl %s", ttl)
			Expect(stored(env).Object["spec"]).To(HaveKeyWithValue("ttl", ttl))
		}
	})

	It("are added to a Tenant without changing a byte of its spec", func() {
		tenant := manifest(ns, `apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: exact}
spec:
  cloudRef: {name: whitehall}
  project: {description: Written by hand, tags: [hmrc]}
  applicationCredential: {secretName: exact-openstack, roles: [member], expiresAfter: 720h, rotateBefore: 48h, gracePeriod: 90m}
`)
		Expect(k8s.Create(ctx, tenant)).To(Succeed())
		created := specJSON(tenant) // as the API server stored it, defaults and all
		Eventually(func() []string { return stored(tenant).GetFinalizers() }).Should(ContainElement(whv1.TenantFinalizer))
		Eventually(readyTenant(&whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "exact"}})).ShouldNot(BeNil())
		Expect(specJSON(stored(tenant))).To(Equal(created))
		Expect(stored(tenant).GetGeneration()).To(Equal(int64(1)), "no write ever touched the spec")
	})
})
