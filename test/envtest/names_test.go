package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// A department's credential never waits behind its network: a network step that fails
// for good (here, an external network name several usable networks share) leaves the
// credential issued and rotated, and the failure is what Ready says.
var _ = Describe("A Tenant whose network step fails", func() {
	It("still gets its credential and rotates it, and Ready names the network's failure", func() {
		ns := newDepartment()
		external := ns + "-public"
		cloud.UnusableExternalNetwork(external, "2 external networks that the project may use have this name: give the ID of one")
		t := createTenant(ns, "names", func(t *whv1.Tenant) {
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.30.0.0/24", ExternalNetwork: ptr.To(external)}
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour},
				RotateBefore: metav1.Duration{Duration: 720 * time.Hour}, GracePeriod: metav1.Duration{Duration: time.Hour},
			}
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonNameNotUsable, "2 external networks"))

		secret := &corev1.Secret{}
		credentialWritten := func(g Gomega) string {
			st := fetch(t).Status.ApplicationCredential
			g.Expect(st).NotTo(BeNil())
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, secret)).To(Succeed())
			g.Expect(parseClouds(g, secret).Auth.ID).To(Equal(st.ID))
			return st.ID
		}
		var first string
		Eventually(func(g Gomega) { first = credentialWritten(g) }).Should(Succeed())

		change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{whv1.RotateAnnotation: "names-1"} })
		Eventually(func(g Gomega) {
			g.Expect(credentialWritten(g)).NotTo(Equal(first))
			g.Expect(fetch(t).Status.ApplicationCredential.Rotation).To(Equal("names-1"))
		}).Should(Succeed())
		Expect(conditionOf(t, whv1.ConditionReady)(Default)).To(notReadyBecause(whv1.ReasonNameNotUsable, "2 external networks"),
			"the network's failure is still shown")
	})
})
