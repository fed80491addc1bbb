package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("creds: a department's clouds.yaml that names a file", func() {
	It("gives its Tenant CredentialsError naming the key, never the value, and makes no OpenStack call", func() {
		ns := newNamespace()
		Expect(k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dev-zero"},
			Data:       map[string][]byte{openstack.CloudsYAMLKey: []byte("clouds: {dev: {cacert: /dev/zero, auth: {auth_url: https://keystone.example/v3}}}")},
		})).To(Succeed())
		t := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "zero"},
			Spec:       whv1.TenantSpec{CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: "dev-zero", CloudName: "dev"}},
		}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonCredentialsError,
			`cannot use cloud "dev" from Secret `+ns+`/dev-zero: clouds.yaml key "cacert" names a file on the operator; put the CA into the Secret's "cacert" key`))
		Expect(fetch(t).Status.ProjectID).To(BeEmpty())
		Expect(conditionsOf(fetch(t))).NotTo(ContainElement(HaveField("Message", ContainSubstring("/dev/zero"))))
	})
})
