package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("TestEnvironment of a Tenant under managementPolicy Observe", func() {
	It("boots nothing in an observed project, and boots once the Tenant manages it", func() {
		ns := newDepartment()
		p := cloud.AddProject(openstack.Project{Name: "observed-" + ns, DomainID: "default", Enabled: true,
			Tags: []string{whv1.HandoverTagPrefix + ns}})
		t := createTenant(ns, "seen", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
		})
		Eventually(func() string { return fetch(t).Status.ProjectID }).Should(Equal(p.ID))
		env := &whv1.TestEnvironment{
			// Named for this spec: other specs count servers named burst-<i> in the whole cloud.
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "observed"},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: t.Name},
				Replicas:  ptr.To[int32](2),
				Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros", Networks: []whv1.NetworkRef{{Name: ptr.To("public")}}},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() {
			_ = k8s.Delete(ctx, env)
			Eventually(isGone(env)).Should(BeTrue())
		})
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonTenantNotReady,
			"under managementPolicy Observe: no server is booted in its project"))
		Consistently(func() map[string]string { return cloud.ServersIn(p.ID) }).Should(BeEmpty())
		Expect(cloud.Writes(p.ID)).To(BeEmpty(), "nothing written to the observed project for the environment")
		Expect(fetch(t).Status.ServiceUserID).To(BeEmpty(), "no service user made under Observe")

		By("switching the Tenant to Manage: the environment boots")
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		Eventually(func() map[string]string { return cloud.ServersIn(p.ID) }).Should(HaveLen(2))
	})
})
