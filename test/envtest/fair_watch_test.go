package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// The usage reader writes every Tenant's status.usage each hour; nothing that depends on
// a Tenant reads it, so those writes reconcile nothing.
var _ = Describe("Watches of a Tenant", func() {
	It("reconcile none of its ComputeQuotas and TestEnvironments when only its status.usage is written", func() {
		ns := newNamespace() // the department's own credentials: the connectors count its asks alone
		creds := openstack.CredentialsRef{Namespace: ns, SecretName: goodSecret, CloudName: "dev"}
		tenant := createTenant(ns, "dept", func(t *whv1.Tenant) {
			t.Spec.CloudRef = nil
			t.Spec.CloudCredentialsRef = &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.30.0.0/24"}
		})
		Eventually(readyTenant(tenant)).Should(HaveField("Status.Network", Not(BeNil())))
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Instances: ptr.To[int64](10)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Replicas:  ptr.To[int32](1),
				Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros"},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, env) })
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))

		// Each reconcile of either kind asks its connector for the namespace's cloud. The
		// resync (2 s) reconciles each about once in a 2 s window: measure that first.
		asked := func() int { return quotaClouds.Asked(creds) + serverClouds.Asked(creds) }
		start := asked()
		Consistently(func() int { return asked() - start }).WithTimeout(2 * resync).Should(BeNumerically(">=", 0))
		quiet := asked() - start
		GinkgoWriter.Printf("asks in %v of resync alone: %d\n", 2*resync, quiet)

		// The same window with a status.usage write (as the usage reader patches it) every
		// 100 ms: up to 40 writes; at least 10 even on a loaded machine.
		writes, start := 0, asked()
		Consistently(func(g Gomega) int {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), t)).To(Succeed())
			orig := t.DeepCopy()
			t.Status.Usage = &whv1.TenantUsage{ReadAt: ptr.To(metav1.Now())}
			g.Expect(k8s.Status().Patch(ctx, t, client.MergeFrom(orig))).To(Succeed())
			writes++
			return asked() - start
		}).WithTimeout(2*resync).WithPolling(100*time.Millisecond).Should(BeNumerically("<=", quiet+4),
			"reconciles of the ComputeQuota and TestEnvironment followed the Tenant's status.usage writes")
		GinkgoWriter.Printf("asks in %v with %d status.usage writes: %d\n", 2*resync, writes, asked()-start)
		Expect(writes).To(BeNumerically(">=", 10))
	})
})
