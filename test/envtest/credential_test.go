package envtest

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// departmentClouds is the clouds.yaml the operator writes for a department.
type departmentClouds struct {
	Clouds map[string]departmentCloud `json:"clouds"`
}

type departmentCloud struct {
	AuthType string `json:"auth_type"`
	Auth     struct {
		AuthURL string `json:"auth_url"`
		ID      string `json:"application_credential_id"`
		Secret  string `json:"application_credential_secret"`
	} `json:"auth"`
	Region             string `json:"region_name"`
	Interface          string `json:"interface"`
	IdentityAPIVersion int    `json:"identity_api_version"`
	CACert             string `json:"cacert"`
}

// gracePeriod is short, so a replaced credential is seen both kept and deleted.
const gracePeriod = 3 * time.Second

var _ = Describe("A project's identity and application credential", func() {
	var (
		ns      string
		groupID string
	)
	BeforeEach(func() {
		ns = newDepartment()
		groupID = cloud.AddGroup("default", ns+"-devops")
	})

	newTenant := func(name string, mutate ...func(*whv1.Tenant)) *whv1.Tenant {
		return createTenant(ns, name, append([]func(*whv1.Tenant){func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}}}
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", Roles: []string{"member"},
				ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour}, RotateBefore: metav1.Duration{Duration: 720 * time.Hour},
				GracePeriod: metav1.Duration{Duration: gracePeriod},
			}
		}}, mutate...)...)
	}
	secretOf := func(t *whv1.Tenant) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace, Name: t.Spec.ApplicationCredential.SecretName}}
	}
	// written waits until the department's Secret holds the credential status names, and
	// returns it.
	written := func(t *whv1.Tenant) *corev1.Secret {
		s := &corev1.Secret{}
		Eventually(func(g Gomega) {
			got := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), got)).To(Succeed())
			g.Expect(got.Status.ApplicationCredential).NotTo(BeNil())
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(secretOf(t)), s)).To(Succeed())
			g.Expect(parseClouds(g, s).Auth.ID).To(Equal(got.Status.ApplicationCredential.ID))
		}).Should(Succeed())
		return s
	}
	identityStore := func(t *whv1.Tenant) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "whitehall-tenant-" + string(fetch(t).UID)}}
	}

	It("writes a clouds.yaml for the project's own service user into the namespace", func() {
		t := newTenant("sa")
		Eventually(readyTenant(t)).Should(Not(BeNil()))
		got := fetch(t)
		projectID, userID := got.Status.ProjectID, got.Status.ServiceUserID
		Expect(userID).NotTo(BeEmpty())
		Expect(got.Status.ApplicationCredential).NotTo(BeNil())
		credID := got.Status.ApplicationCredential.ID
		Expect(got.Status.ApplicationCredential.ExpiresAt.Time).To(BeTemporally("~", got.Status.ApplicationCredential.CreatedAt.Add(2160*time.Hour), time.Second))
		Expect(got.Status.ApplicationCredential.RotateAt.Time).To(BeTemporally("~", got.Status.ApplicationCredential.ExpiresAt.Add(-720*time.Hour), time.Second))

		By("the Secret: owned by the Tenant, labelled as the operator's, one clouds.yaml")
		secret := written(t)
		Expect(secret.OwnerReferences).To(ConsistOf(And(
			HaveField("Kind", "Tenant"), HaveField("Name", "sa"), HaveField("UID", got.UID), HaveField("Controller", ptr.To(true)))))
		Expect(secret.Labels).To(HaveKeyWithValue(access.ManagedByLabel, access.ManagedByValue))
		Expect(secret.Data).To(HaveLen(1))
		Expect(secret.Data).To(HaveKey(openstack.CloudsYAMLKey))
		var clouds departmentClouds
		Expect(yaml.Unmarshal(secret.Data[openstack.CloudsYAMLKey], &clouds)).To(Succeed())
		Expect(clouds.Clouds).To(HaveLen(1))
		Expect(clouds.Clouds).To(HaveKey(sharedCloud), "the cloud is named after the Cloud object")
		c := clouds.Clouds[sharedCloud]
		Expect(c.AuthType).To(Equal("v3applicationcredential"))
		Expect(c.Auth.AuthURL).To(Equal("http://keystone.fake/v3"))
		Expect(c.Auth.ID).To(Equal(credID))
		Expect(c.Region).To(Equal("RegionOne"))
		Expect(c.Interface).To(Equal("public"))
		Expect(c.IdentityAPIVersion).To(Equal(3))
		Expect(cloud.CheckApplicationCredential(c.Auth.ID, c.Auth.Secret)).To(Succeed(), "the department can log in with it")
		Expect(cloud.ApplicationCredentialRoles(credID)).To(Equal([]string{"member"}))

		By("the service user: made for this project, the only principal besides those listed")
		users := cloud.ServiceUsers()
		Expect(users).To(HaveKey(userID))
		Expect(users[userID]).To(And(HaveField("ProjectID", projectID), HaveField("Name", "whitehall-project-"+projectID)))
		Expect(cloud.ApplicationCredentials(userID)).To(ConsistOf(HaveField("ID", credID)))
		Expect(cloud.Assignments(projectID)).To(ConsistOf(
			openstack.Assignment{GroupID: groupID, RoleID: "role-member"},
			openstack.Assignment{UserID: userID, RoleID: "role-member"},
		))

		By("its password: in the operator's namespace only, never in status or in the department's namespace")
		store := fetch(identityStore(t))
		Expect(string(store.Data["password"])).To(Equal(users[userID].Password))
		status, err := json.Marshal(fetch(t).Status)
		Expect(err).NotTo(HaveOccurred())
		Expect(string(status)).NotTo(Or(ContainSubstring(users[userID].Password), ContainSubstring(c.Auth.Secret)))
		var inNamespace corev1.SecretList
		Expect(k8s.List(ctx, &inNamespace, client.InNamespace(ns))).To(Succeed())
		for _, s := range inNamespace.Items {
			for k, v := range s.Data {
				Expect(string(v)).NotTo(ContainSubstring(users[userID].Password), "Secret %s key %s", s.Name, k)
			}
		}
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElements("CredentialRotated", "SecretWritten"))
		for _, e := range eventsAbout(Default, "Tenant", "sa") {
			Expect(e.Note).NotTo(Or(ContainSubstring(c.Auth.Secret), ContainSubstring(users[userID].Password)))
		}
	})

	It("hands the department the Cloud's CA with the clouds.yaml", func() {
		plain := cloud.Endpoint()
		withCA := plain
		withCA.CACert = []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
		cloud.SetEndpoint(withCA)
		DeferCleanup(func() { cloud.SetEndpoint(plain) })
		secret := written(newTenant("ca"))
		Expect(secret.Data).To(HaveKeyWithValue(openstack.CACertKey, withCA.CACert))
		Expect(parseClouds(Default, secret).CACert).To(Equal("/etc/openstack/cacert"), "where the Secret is mounted for openstackclient")
	})

	It("rewrites the Secret when it is deleted, edited or unlabelled by hand", func() {
		t := newTenant("repair")
		orig := written(t)

		Expect(k8s.Delete(ctx, orig)).To(Succeed())
		Eventually(func(g Gomega) {
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(orig), s)).To(Succeed())
			g.Expect(s.UID).NotTo(Equal(orig.UID))
			g.Expect(s.Data).To(Equal(orig.Data))
		}).Should(Succeed())

		change(secretOf(t), func(s *corev1.Secret) {
			s.Data[openstack.CloudsYAMLKey] = []byte("clouds: {}")
			s.Data["extra"] = []byte("x")
		})
		Eventually(func() map[string][]byte { return fetch(secretOf(t)).Data }).Should(Equal(orig.Data))

		change(secretOf(t), func(s *corev1.Secret) {
			delete(s.Labels, access.ManagedByLabel)
			s.Data[openstack.CloudsYAMLKey] = []byte("clouds: {}")
		})
		Eventually(func(g Gomega) {
			s := fetch(secretOf(t))
			g.Expect(s.Data).To(Equal(orig.Data))
			g.Expect(s.Labels).To(HaveKeyWithValue(access.ManagedByLabel, access.ManagedByValue))
		}).Should(Succeed())
	})

	It("never overwrites a Secret it did not write", func() {
		foreign := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openstack"},
			Data:       map[string][]byte{"token": []byte("the department's own")},
		}
		Expect(k8s.Create(ctx, foreign)).To(Succeed())
		t := newTenant("conflict")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonSecretConflict,
			"Secret "+ns+"/openstack exists and was not written for this Tenant"))
		Consistently(func() map[string][]byte { return fetch(foreign).Data }).Should(Equal(foreign.Data))
		Expect(fetch(foreign).OwnerReferences).To(BeEmpty())

		By("writing its own once the department's Secret has gone")
		Expect(k8s.Delete(ctx, foreign)).To(Succeed())
		written(t)
		Eventually(readyTenant(t)).Should(Not(BeNil()))
	})

	It("rotates at once when the rotate annotation changes, and deletes the old credential after the grace period", func() {
		t := newTenant("rotate")
		written(t)
		userID := fetch(t).Status.ServiceUserID
		// Start from one credential and nothing retiring.
		Eventually(func() []openstack.ApplicationCredential { return cloud.ApplicationCredentials(userID) }).Should(HaveLen(1))
		Eventually(func() []whv1.RetiringCredential { return fetch(t).Status.ApplicationCredential.Retiring }).Should(BeEmpty())
		before := parseClouds(Default, written(t))

		change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{whv1.RotateAnnotation: "2027-01-01"} })
		var st *whv1.ApplicationCredentialStatus
		Eventually(func(g Gomega) {
			st = fetch(t).Status.ApplicationCredential
			g.Expect(st.ID).NotTo(Equal(before.Auth.ID))
			g.Expect(st.Rotation).To(Equal("2027-01-01"))
		}).Should(Succeed())
		Expect(st.Retiring).To(ConsistOf(HaveField("ID", before.Auth.ID)))
		Expect(st.Retiring[0].DeleteAt.Time).To(BeTemporally("~", st.CreatedAt.Add(gracePeriod), time.Second))
		// Checked at once: within the grace period the old one still works.
		Expect(cloud.CheckApplicationCredential(before.Auth.ID, before.Auth.Secret)).To(Succeed(), "the old credential works during the grace period")

		after := parseClouds(Default, written(t))
		Expect(after.Auth.ID).To(Equal(st.ID))
		Expect(cloud.CheckApplicationCredential(after.Auth.ID, after.Auth.Secret)).To(Succeed())

		Eventually(func() []openstack.ApplicationCredential { return cloud.ApplicationCredentials(userID) }).
			Should(ConsistOf(HaveField("ID", after.Auth.ID)))
		Expect(cloud.CheckApplicationCredential(before.Auth.ID, before.Auth.Secret)).NotTo(Succeed())
		Eventually(func() []whv1.RetiringCredential { return fetch(t).Status.ApplicationCredential.Retiring }).Should(BeEmpty())
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("CredentialDeleted"))
	})

	It("makes one credential for a new Tenant, however soon it is reconciled again", func() {
		// The reconcile right after the first credential is made (woken by the Secret it
		// wrote) must not see a mismatch between its caches and make another.
		for i := range 5 {
			t := newTenant(fmt.Sprintf("once-%d", i), func(t *whv1.Tenant) { t.Spec.ApplicationCredential.SecretName = fmt.Sprintf("openstack-%d", i) })
			written(t)
			projectID := fetch(t).Status.ProjectID
			Consistently(func() int { return cloud.Calls("CreateApplicationCredential/" + projectID) }).
				WithTimeout(time.Second).Should(Equal(1), "Tenant %s: credentials made", t.Name)
		}
	})

	It("rotates when the credential's roles change", func() {
		t := newTenant("roles")
		before := parseClouds(Default, written(t))
		change(t, func(t *whv1.Tenant) { t.Spec.ApplicationCredential.Roles = []string{"member", "reader"} })
		Eventually(func(g Gomega) {
			st := fetch(t).Status.ApplicationCredential
			g.Expect(st.ID).NotTo(Equal(before.Auth.ID))
			g.Expect(st.Roles).To(ConsistOf("member", "reader"))
			g.Expect(cloud.ApplicationCredentialRoles(st.ID)).To(Equal([]string{"member", "reader"}))
		}).Should(Succeed())
		got := fetch(t)
		Expect(cloud.Assignments(got.Status.ProjectID)).To(ContainElement(openstack.Assignment{UserID: got.Status.ServiceUserID, RoleID: "role-reader"}))
		written(t)
	})

	It("deletes the credentials and the Secret when applicationCredential is removed", func() {
		t := newTenant("dropped")
		written(t)
		userID := fetch(t).Status.ServiceUserID
		change(t, func(t *whv1.Tenant) { t.Spec.ApplicationCredential = nil })
		Eventually(func() *whv1.ApplicationCredentialStatus { return fetch(t).Status.ApplicationCredential }).Should(BeNil())
		Eventually(isGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openstack"}})).Should(BeTrue())
		Expect(cloud.ApplicationCredentials(userID)).To(BeEmpty())
		Eventually(readyTenant(t)).Should(Not(BeNil()))
	})

	It("deletes the service user, its credentials and its identity store with the Tenant", func() {
		t := newTenant("bye")
		written(t)
		got := fetch(t)
		userID, projectID := got.Status.ServiceUserID, got.Status.ProjectID
		store := identityStore(t)
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(store), &corev1.Secret{})).To(Succeed())

		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
		Expect(cloud.ServiceUsers()).NotTo(HaveKey(userID))
		Expect(cloud.ApplicationCredentials(userID)).To(BeEmpty())
		Expect(isGone(store)()).To(BeTrue(), "the identity store goes with the Tenant")
		Expect(isGone(secretOf(got))()).To(BeTrue())
		Expect(cloud.Project(projectID)).To(BeNil())
	})
})

var _ = Describe("Grantable roles", func() {
	var ns string
	BeforeEach(func() {
		ns = newDepartment()
		cloud.AddGroup("default", ns+"-devops")
	})
	const refusal = "role(s) admin may not be granted by this operator; grantable roles are member, reader"

	It("refuses a role the operator may not grant, before any OpenStack call", func() {
		t := createTenant(ns, "admins", func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-devops"), Roles: []string{"member", "admin"}}}
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonRoleNotAllowed, refusal))
		Consistently(func() int { return cloud.ProjectsNamed(ns + "_admins") }).Should(BeZero())
	})

	It("refuses admin added to a ready Tenant, and grants nothing", func() {
		t := createTenant(ns, "grow", func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}}}
		})
		Eventually(readyTenant(t)).Should(Not(BeNil()))
		projectID := fetch(t).Status.ProjectID
		grants, held := cloud.Calls("Grant/"+projectID), cloud.Assignments(projectID)

		change(t, func(t *whv1.Tenant) { t.Spec.RoleAssignments[0].Roles = []string{"member", "admin"} })
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonRoleNotAllowed, refusal))
		Consistently(func(g Gomega) {
			g.Expect(cloud.Calls("Grant/" + projectID)).To(Equal(grants))
			g.Expect(cloud.Assignments(projectID)).To(ConsistOf(held))
		}).Should(Succeed())
		Expect(held).NotTo(ContainElement(HaveField("RoleID", "role-admin")))
	})

	It("refuses an application credential with a role the operator may not grant", func() {
		t := createTenant(ns, "cred", func(t *whv1.Tenant) {
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", Roles: []string{"admin"},
				ExpiresAfter: metav1.Duration{Duration: time.Hour}, RotateBefore: metav1.Duration{Duration: time.Minute},
			}
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonRoleNotAllowed, refusal))
		Expect(isGone(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "openstack"}})()).To(BeTrue())
		Expect(cloud.ProjectsNamed(ns + "_cred")).To(BeZero())
	})
})

// parseClouds returns the one cloud of a department's clouds.yaml.
func parseClouds(g Gomega, s *corev1.Secret) departmentCloud {
	var clouds departmentClouds
	g.Expect(yaml.Unmarshal(s.Data[openstack.CloudsYAMLKey], &clouds)).To(Succeed())
	g.Expect(clouds.Clouds).To(HaveLen(1), "clouds.yaml: %s", strings.TrimSpace(string(s.Data[openstack.CloudsYAMLKey])))
	for _, c := range clouds.Clouds {
		return c
	}
	return departmentCloud{}
}
