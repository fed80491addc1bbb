package envtest

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("A department rotating its own credential", func() {
	var ns string
	BeforeEach(func() {
		ns = newDepartment()
		cloud.AddGroup("default", ns+"-devops")
	})

	// memoryTenant asks for a credential whose replaced ones stay for an hour, so every
	// rotation in a spec adds one to status.applicationCredential.retiring.
	memoryTenant := func(name string) *whv1.Tenant {
		return createTenant(ns, name, func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}}}
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", Roles: []string{"member"},
				ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour}, RotateBefore: metav1.Duration{Duration: 720 * time.Hour},
				GracePeriod: metav1.Duration{Duration: time.Hour},
			}
		})
	}
	// credentialIn waits until the Secret holds the credential status names, other than
	// not, and returns status.
	credentialIn := func(t *whv1.Tenant, not string) *whv1.ApplicationCredentialStatus {
		var st *whv1.ApplicationCredentialStatus
		Eventually(func(g Gomega) {
			st = fetch(t).Status.ApplicationCredential
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.ID).NotTo(Or(BeEmpty(), Equal(not)))
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s)).To(Succeed())
			g.Expect(parseClouds(g, s).Auth.ID).To(Equal(st.ID))
		}).Should(Succeed())
		return st
	}
	// asEditor is a department member with the built-in edit role in the namespace only:
	// its rules, system:aggregate-to-edit, since envtest runs no controller to aggregate
	// them into edit.
	asEditor := func() client.Client {
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "memory-editor"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "system:aggregate-to-edit"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: "memory-editor"}},
		})).To(Succeed())
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: "memory-editor"}
		editor, err := client.New(c, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		return editor
	}
	annotateSecret := func(c client.Client, value string) {
		Eventually(func() error {
			s := &corev1.Secret{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s); err != nil {
				return err
			}
			s.Annotations = map[string]string{whv1.RotateAnnotation: value}
			return c.Update(ctx, s)
		}).Should(Succeed())
	}

	It("rotates once for each new value of the rotate annotation an editor sets on the Secret", func() {
		t := memoryTenant("self")
		first := credentialIn(t, "")
		editor := asEditor()
		Expect(editor.Update(ctx, fetch(t))).NotTo(Succeed(), "here edit has no rights on Tenants")
		projectID := fetch(t).Status.ProjectID
		made := cloud.Calls("CreateApplicationCredential/" + projectID)

		annotateSecret(editor, "leaked-2026-12-07")
		second := credentialIn(t, first.ID)
		Expect(second.SecretRotation).To(Equal("leaked-2026-12-07"))
		Expect(second.Retiring).To(ConsistOf(HaveField("ID", first.ID)))
		Expect(cloud.Calls("CreateApplicationCredential/" + projectID)).To(Equal(made + 1))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("CredentialRotated"))

		By("the same value again, or the Secret rewritten by the operator: no new credential")
		change(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openstack"}}, func(s *corev1.Secret) {
			s.Data[openstack.CloudsYAMLKey] = []byte("clouds: {}")
		})
		Consistently(func() int { return cloud.Calls("CreateApplicationCredential/" + projectID) }).
			WithTimeout(2 * time.Second).Should(Equal(made + 1))
		Expect(credentialIn(t, first.ID).ID).To(Equal(second.ID), "the repaired Secret holds the same credential")

		By("a value too long for status: kept as its digest, and acted on once")
		annotateSecret(editor, fmt.Sprintf("%0100d", 7))
		third := credentialIn(t, second.ID)
		Expect(third.SecretRotation).To(HavePrefix("sha256:"))
		Consistently(func() int { return cloud.Calls("CreateApplicationCredential/" + projectID) }).
			WithTimeout(2 * time.Second).Should(Equal(made + 2))
	})

	It("keeps at most four replaced credentials, deleting the oldest in Keystone first", func() {
		t := memoryTenant("many")
		st := credentialIn(t, "")
		userID := fetch(t).Status.ServiceUserID
		ids := []string{st.ID}
		for i := range 7 {
			if i%2 == 0 {
				change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{whv1.RotateAnnotation: fmt.Sprint(i)} })
			} else {
				annotateSecret(k8s, fmt.Sprint(i))
			}
			st = credentialIn(t, st.ID)
			ids = append(ids, st.ID)
			Expect(len(st.Retiring)).To(BeNumerically("<=", 4), "after rotation %d", i+1)
		}
		// The four replaced last are kept, oldest first; the three before are gone in
		// Keystone, not just from status.
		var kept []string
		for _, r := range st.Retiring {
			kept = append(kept, r.ID)
		}
		Expect(kept).To(Equal(ids[3:7]))
		Eventually(func() []string {
			var held []string
			for _, ac := range cloud.ApplicationCredentials(userID) {
				held = append(held, ac.ID)
			}
			return held
		}).Should(ConsistOf(ids[3:]))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("CredentialDeleted"))
	})
})

var _ = Describe("Credential schedule validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("the time between scheduled rotations leaves room for the grace period",
		func(ac string, message string) {
			err := k8s.Create(ctx, manifest(ns, tenantHeader+"  applicationCredential: {secretName: openstack, "+ac+"}\n"))
			if message == "" {
				Expect(err).NotTo(HaveOccurred())
				return
			}
			Expect(err).To(MatchError(ContainSubstring(message)))
		},
		Entry("rotating every hour with a day's grace", "expiresAfter: 25h, rotateBefore: 24h, gracePeriod: 24h",
			"expiresAfter - rotateBefore (the time between scheduled rotations) must be at least gracePeriod"),
		Entry("the grace period equal to the time between rotations", "expiresAfter: 48h, rotateBefore: 24h, gracePeriod: 24h", ""),
		Entry("the defaults' grace with a short interval", "expiresAfter: 2h, rotateBefore: 90m",
			"expiresAfter - rotateBefore (the time between scheduled rotations) must be at least gracePeriod"),
		Entry("rotateBefore as long as expiresAfter", "expiresAfter: 2h, rotateBefore: 2h, gracePeriod: 0s",
			"rotateBefore must be shorter than expiresAfter"),
	)
})
