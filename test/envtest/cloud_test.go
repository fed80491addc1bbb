package envtest

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/discovery"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// newCloud creates a Cloud with its own admin Secret in the operator's namespace, and
// deletes both after the test.
func newCloud(prefix string, selector metav1.LabelSelector) *whv1.Cloud {
	name := prefix + utilrand.String(6)
	// Its Secret is named after it, so what the connectors are asked for is this Cloud's alone.
	secret := adminSecret(operatorNamespace, "admin-"+name)
	Expect(k8s.Create(ctx, secret)).To(Succeed())
	c := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: whv1.CloudSpec{
		CredentialsSecretRef: whv1.CloudSecretReference{Name: secret.Name, CloudName: "dev"},
		NamespaceSelector:    selector,
	}}
	Expect(k8s.Create(ctx, c)).To(Succeed())
	DeferCleanup(func() {
		_ = k8s.Delete(ctx, c)
		_ = k8s.Delete(ctx, secret)
	})
	return c
}

// outsideNamespace creates a namespace that no Cloud selects, with no Secret in it.
func outsideNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "outside-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// setNamespaceLabel sets (or, with value "", removes) a label on a namespace.
func setNamespaceLabel(name, key, value string) {
	change(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, func(ns *corev1.Namespace) {
		if value == "" {
			delete(ns.Labels, key)
			return
		}
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[key] = value
	})
}

var _ = Describe("Cloud validation", func() {
	const header = `
apiVersion: whitehall.cloud/v1alpha1
kind: Cloud
metadata: {generateName: bad-}
spec:
`
	DescribeTable("rejects a bad Cloud with a clear message",
		func(spec, message string) {
			err := k8s.Create(ctx, manifest("", header+spec), client.FieldValidation("Strict"))
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", spec)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("no namespaceSelector", `  credentialsSecretRef: {name: openstack-admin, cloudName: dev}`, `spec.namespaceSelector: Required value`),
		Entry("no credentials", `  namespaceSelector: {}`, `spec.credentialsSecretRef: Required value`),
		Entry("credentials without a cloud name", `  credentialsSecretRef: {name: openstack-admin}
  namespaceSelector: {}`, `spec.credentialsSecretRef.cloudName: Required value`),
		Entry("credentials in a department's namespace", `  credentialsSecretRef: {name: openstack-admin, cloudName: dev, namespace: hmrc}
  namespaceSelector: {}`, `unknown field "spec.credentialsSecretRef.namespace"`),
		Entry("an empty protected project", `  credentialsSecretRef: {name: openstack-admin, cloudName: dev}
  namespaceSelector: {}
  protectedProjects: [""]`, `spec.protectedProjects[0]: Invalid value`),
		Entry("a protected project twice", `  credentialsSecretRef: {name: openstack-admin, cloudName: dev}
  namespaceSelector: {}
  protectedProjects: [admin, admin]`, `spec.protectedProjects[1]: Duplicate value: "admin"`),
	)

	It("protects admin and service unless told otherwise", func() {
		c := manifest("", header+"  credentialsSecretRef: {name: openstack-admin, cloudName: dev}\n  namespaceSelector: {}\n")
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, c) })
		protected, found, err := unstructured.NestedStringSlice(c.Object, "spec", "protectedProjects")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(protected).To(Equal([]string{"admin", "service"}))
	})

	It("is known to kubectl as oscloud: cluster-scoped, in the whitehall category", func() {
		dc, err := discovery.NewDiscoveryClientForConfig(cfg)
		Expect(err).NotTo(HaveOccurred())
		list, err := dc.ServerResourcesForGroupVersion(whv1.GroupVersion.String())
		Expect(err).NotTo(HaveOccurred())
		i := slices.IndexFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == "clouds" })
		Expect(i).NotTo(Equal(-1), "no clouds resource in %s", whv1.GroupVersion)
		r := list.APIResources[i]
		Expect(r.Kind).To(Equal("Cloud"))
		Expect(r.ShortNames).To(ConsistOf("oscloud"))
		Expect(r.Categories).To(ContainElement("whitehall"))
		Expect(r.Namespaced).To(BeFalse())
	})
})

var _ = Describe("Cloud controller", func() {
	It("logs in with the Secret in the operator's namespace and says where the cloud is", func() {
		c := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: sharedCloud}}
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonReady)))
		got := fetch(c)
		Expect(got.Status.AuthURL).To(Equal("http://keystone.fake/v3"))
		Expect(got.Status.Region).To(Equal("RegionOne"))
		Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
		Eventually(conditionOf(c, whv1.ConditionInsecureTLS)).Should(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", whv1.ReasonVerified)))
	})

	It("never reads a department's Secret, and is Ready once the Secret is in the operator's namespace", func() {
		ns := newNamespace()
		c := &whv1.Cloud{
			ObjectMeta: metav1.ObjectMeta{Name: "late-" + ns},
			Spec: whv1.CloudSpec{
				CredentialsSecretRef: whv1.CloudSecretReference{Name: "late-" + ns, CloudName: "dev"},
				NamespaceSelector:    metav1.LabelSelector{},
			},
		}
		// A Secret of that name in a department's namespace is nothing to a Cloud.
		Expect(k8s.Create(ctx, adminSecret(ns, "late-"+ns))).To(Succeed())
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, c) })
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonCredentialsError, operatorNamespace+"/late-"+ns))

		secret := adminSecret(operatorNamespace, "late-"+ns)
		Expect(k8s.Create(ctx, secret)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, secret) })
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
	})

	It("warns when clouds.yaml turns TLS verification off", func() {
		verified := cloud.Endpoint()
		insecure := verified
		insecure.Insecure = true
		cloud.SetEndpoint(insecure)
		DeferCleanup(func() { cloud.SetEndpoint(verified) })
		c := newCloud("insecure-", metav1.LabelSelector{})
		Eventually(conditionOf(c, whv1.ConditionInsecureTLS)).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonVerifyDisabled),
			HaveField("Message", ContainSubstring("verify: false"))))
		Expect(apimeta.FindStatusCondition(fetch(c).Status.Conditions, whv1.ConditionReady)).To(HaveField("Status", metav1.ConditionTrue), "it works, with a warning")
		Eventually(func(g Gomega) []string {
			var reasons []string
			for _, e := range eventsAbout(g, "Cloud", c.Name) {
				reasons = append(reasons, e.Type+"/"+e.Reason)
			}
			return reasons
		}).Should(ContainElement(corev1.EventTypeWarning + "/" + whv1.ReasonVerifyDisabled))
	})
})

var _ = Describe("A Cloud's namespaceSelector", func() {
	const admitted = "test.whitehall.cloud/admitted"
	var (
		ns string
		c  *whv1.Cloud
	)
	BeforeEach(func() {
		ns = outsideNamespace()
		c = newCloud("selective-", metav1.LabelSelector{MatchLabels: map[string]string{admitted: ns}})
	})
	tenantOf := func(name string) *whv1.Tenant {
		return createTenant(ns, name, func(t *whv1.Tenant) { t.Spec.CloudRef.Name = c.Name })
	}
	creds := func() openstack.CredentialsRef { return cloudCredentials(c.Spec.CredentialsSecretRef.Name) }

	It("refuses a Tenant of a namespace it does not select, with no OpenStack call, until the namespace is labelled", func() {
		t := tenantOf("dept")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonNamespaceNotAllowed,
			"does not admit namespace "+ns))
		Consistently(func() int { return tenantClouds.Asked(creds()) }).Should(BeZero(), "no cloud was even asked for")
		Expect(cloud.ProjectsNamed(ns + "_dept")).To(BeZero())
		Expect(fetch(t).Status.ProjectID).To(BeEmpty())

		setNamespaceLabel(ns, admitted, ns)
		Eventually(readyTenant(t)).Should(Not(BeNil()))
		Expect(cloud.ProjectsNamed(ns + "_dept")).To(Equal(1))
	})

	It("makes no quota or server call for a Tenant of a namespace it no longer selects", func() {
		setNamespaceLabel(ns, admitted, ns)
		t := tenantOf("dept")
		Eventually(readyTenant(t)).Should(Not(BeNil()))
		projectID := fetch(t).Status.ProjectID

		setNamespaceLabel(ns, admitted, "")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonNamespaceNotAllowed, "does not admit namespace "+ns))
		before := tenantClouds.Asked(creds())
		reads := cloud.Calls("GetProject/" + projectID)

		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "quota"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](99)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "burst"},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"}, Replicas: ptr.To[int32](2),
				Template: whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros", Networks: []whv1.NetworkRef{{Name: ptr.To("private")}}},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, env) })
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonNamespaceNotAllowed, "does not admit namespace "+ns))
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonNamespaceNotAllowed, "does not admit namespace "+ns))

		Consistently(func(g Gomega) {
			g.Expect(quotaClouds.Asked(creds())).To(BeZero())
			g.Expect(serverClouds.Asked(creds())).To(BeZero())
			g.Expect(tenantClouds.Asked(creds())).To(Equal(before))
			g.Expect(cloud.Calls("GetProject/" + projectID)).To(Equal(reads))
		}).Should(Succeed())
		for _, service := range []quota.Service{quota.ComputeService, quota.NetworkService, quota.BlockStorageService} {
			Expect(cloud.Calls("GetQuota." + string(service) + "/" + projectID)).To(BeZero())
			Expect(cloud.Calls("SetQuota." + string(service) + "/" + projectID)).To(BeZero())
		}
		Expect(cloud.Servers("^burst-[0-9]+$")).To(BeEmpty())
	})

	It("admits every namespace when it is empty", func() {
		all := newCloud("open-", metav1.LabelSelector{})
		t := createTenant(ns, "dept", func(t *whv1.Tenant) { t.Spec.CloudRef.Name = all.Name })
		Eventually(readyTenant(t)).Should(Not(BeNil()))
	})

	It("reports a Cloud that does not exist, and goes on once it is created", func() {
		name := "later-" + ns
		t := createTenant(ns, "dept", func(t *whv1.Tenant) { t.Spec.CloudRef.Name = name })
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonCloudNotFound, `Cloud "`+name+`" does not exist`))

		later := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: whv1.CloudSpec{
			CredentialsSecretRef: whv1.CloudSecretReference{Name: goodSecret, CloudName: "dev"},
			NamespaceSelector:    metav1.LabelSelector{},
		}}
		Expect(k8s.Create(ctx, later)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, later) })
		Eventually(readyTenant(t)).Should(Not(BeNil()))
	})

	It("lets a Tenant of a namespace it never admitted go, leaving nothing behind", func() {
		t := tenantOf("dept")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonNamespaceNotAllowed))
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
		Expect(cloud.ProjectsNamed(ns + "_dept")).To(BeZero())
	})
})
