package e2e

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The specs of the operator rely on kube-controller-manager doing its part: a deleted
// department namespace really goes, and owned objects go with their owner.
var _ = Describe("the local control plane", func() {
	It("deletes a namespace with what it holds", func() {
		const ns = "e2e-doomed"
		kubectl("create", "namespace", ns)
		kubectl("-n", ns, "create", "configmap", "content", "--from-literal=k=v")

		kubectl("delete", "namespace", ns, "--wait=false")
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{}))
		}).Should(BeTrue(), "the namespace controller empties and removes the namespace")
		out, err := tryKubectl("-n", ns, "get", "configmap", "content")
		Expect(err).To(HaveOccurred(), "the ConfigMap went with its namespace: %s", out)
	})

	It("garbage-collects an object whose owner is deleted", func() {
		owner := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "e2e-owner", Namespace: "default"}}
		Expect(k8s.Create(ctx, owner)).To(Succeed())
		owned := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "e2e-owned", Namespace: "default",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "ConfigMap", Name: owner.Name, UID: owner.UID}}}}
		Expect(k8s.Create(ctx, owned)).To(Succeed())

		kubectl("-n", "default", "delete", "configmap", owner.Name)
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(owned), &corev1.ConfigMap{}))
		}).Should(BeTrue(), "the garbage collector deletes the dependent")
	})
})
