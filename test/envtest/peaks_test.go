package envtest

import (
	"slices"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// A peak always comes down, policy or not; nothing is deleted out from under a Tenant;
// and no two namespaces default to one project name.
var _ = Describe("peaks: limits come down and nothing goes out from under a Tenant", func() {
	const peaksLabel = "whitehall.cloud/peaks-test"

	compute := func(projectID string) func() map[string]int64 {
		return func() map[string]int64 { return cloud.Quota(projectID, quota.ComputeService) }
	}
	computeQuota := func(ns, name string, baseline whv1.QuotaSet, peaks ...whv1.QuotaPeak) *whv1.ComputeQuota {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "dept"}, Baseline: baseline, Peaks: peaks},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		return cq
	}

	It("peaks: lowers a ComputeQuota in PolicyViolation and holds only its raises", func() {
		ns := newNamespace()
		setNamespaceLabel(ns, peaksLabel, ns)
		// Made before the policy, so admission does not refuse it; its Tenant comes later,
		// so nothing is written before the policy holds it.
		cq := computeQuota(ns, "held", whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](5), RAMMiB: ptr.To[int64](4096)}})
		p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "peaks-"}, Spec: whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{peaksLabel: ns}},
			QuotaCeiling:      &whv1.QuotaSet{Compute: &whv1.ComputeLimits{RAMMiB: ptr.To[int64](1024)}},
		}}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, p) })
		Eventually(conditionOf(cq, whv1.ConditionPolicyViolation)).Should(HaveField("Status", metav1.ConditionTrue))

		projectID := departmentProject(ns) // every limit starts at 10
		Eventually(compute(projectID)).Should(HaveKeyWithValue("cores", int64(5)), "cores come down, policy or not")
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"raises are not written: compute.ramMiB held at 10 (wanted 4096); limits that come down are still written"))
		Consistently(compute(projectID)).Should(HaveKeyWithValue("ramMiB", int64(10)), "the raise is held")
		Expect(cloud.QuotaWrites(projectID, quota.ComputeService)).To(Equal([]map[string]int64{{"cores": 5}}))
		Expect(fetch(cq).Status.Effective.Compute).To(Equal(&whv1.ComputeLimits{Cores: ptr.To[int64](5), RAMMiB: ptr.To[int64](10)}),
			"status shows what OpenStack holds")

		By("a raise of a field that was lowered is held too; a further lowering is written")
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](8) })
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Message", ContainSubstring("compute.cores held at 5 (wanted 8)")))
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](3) })
		Eventually(compute(projectID)).Should(HaveKeyWithValue("cores", int64(3)))
		Expect(cloud.QuotaWrites(projectID, quota.ComputeService)).To(Equal([]map[string]int64{{"cores": 5}, {"cores": 3}}),
			"only lowers were ever written")

		By("removing the policy: the raise is written")
		Expect(k8s.Delete(ctx, p)).To(Succeed())
		Eventually(compute(projectID)).Should(HaveKeyWithValue("ramMiB", int64(4096)))
	})

	It("peaks: returns the project to its baseline before a ComputeQuota deleted during a peak goes", func() {
		ns := newNamespace()
		projectID := departmentProject(ns)
		season := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: "peaks-" + ns}, Spec: whv1.PeakSeasonSpec{
			Windows: []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-01", To: "12-31"}}},
		}}
		Expect(k8s.Create(ctx, season)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, season) })
		cq := computeQuota(ns, "peak",
			whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20), Instances: ptr.To[int64](5)}},
			whv1.QuotaPeak{Season: season.Name, QuotaSet: whv1.QuotaSet{
				Compute:      &whv1.ComputeLimits{Cores: ptr.To[int64](100)},
				BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](500)},
			}})
		Eventually(compute(projectID)).Should(HaveKeyWithValue("cores", int64(100)))
		Eventually(func() []string { return fetch(cq).Status.ActiveSeasons }).Should(ConsistOf(season.Name))
		Expect(fetch(cq).Finalizers).To(ContainElement(whv1.ComputeQuotaFinalizer))

		Expect(k8s.Delete(ctx, cq)).To(Succeed())
		Eventually(isGone(cq)).Should(BeTrue())
		// Read once it is gone, without waiting: the baseline was written before the
		// finalizer went.
		Expect(compute(projectID)()).To(And(HaveKeyWithValue("cores", int64(20)), HaveKeyWithValue("instances", int64(5))))
		writes := cloud.QuotaWrites(projectID, quota.ComputeService)
		Expect(writes[len(writes)-1]).To(Equal(map[string]int64{"cores": 20}), "only what came down was written")
		Expect(cloud.Quota(projectID, quota.BlockStorageService)).To(HaveKeyWithValue("gigabytes", int64(500)),
			"a field the baseline leaves out is not managed: it stays, as when a season ends")
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("QuotaRestored"))
	})

	It("peaks: lets a ComputeQuota whose Tenant is gone go at once", func() {
		ns := newNamespace()
		cq := computeQuota(ns, "orphan", whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](4)}})
		Eventually(func() []string { return fetch(cq).Finalizers }).Should(ContainElement(whv1.ComputeQuotaFinalizer))
		Expect(k8s.Delete(ctx, cq)).To(Succeed())
		Eventually(isGone(cq)).Should(BeTrue())
	})

	It("peaks: keeps a Cloud while a Tenant uses it, naming the Tenant, and lets it go after", func() {
		c := newCloud("peaks-", metav1.LabelSelector{})
		ns := newDepartment()
		t := createTenant(ns, "dept", func(t *whv1.Tenant) { t.Spec.CloudRef.Name = c.Name })
		Eventually(readyTenant(t)).ShouldNot(BeNil())

		Expect(k8s.Delete(ctx, c)).To(Succeed())
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonDeletionBlocked,
			"1 Tenant(s) still use this Cloud: "+ns+"/dept;"))
		Consistently(isGone(c)).Should(BeFalse())

		By("the Tenant's cleanup still works with the Cloud's credentials")
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
		Expect(cloud.ProjectsNamed(ns + "_dept")).To(BeZero())
		Eventually(isGone(c)).Should(BeTrue())
	})

	It("peaks: names the foreign finalizer a TestEnvironment waits for when its Tenant is deleted", func() {
		ns := newNamespace()
		departmentProject(ns)
		const foreign = "example.org/keep-for-audit"
		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "burst", Finalizers: []string{foreign}},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"}, Replicas: ptr.To[int32](0),
				Template: whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros", Networks: []whv1.NetworkRef{{ID: ptr.To("net-shared")}}},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))

		t := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"}}
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonDeletionBlocked,
			"held by finalizers the operator does not own, which whoever added them must remove: burst ("+foreign+")"))

		change(env, func(e *whv1.TestEnvironment) {
			e.Finalizers = slices.DeleteFunc(e.Finalizers, func(f string) bool { return f == foreign })
		})
		Eventually(isGone(env)).Should(BeTrue())
		Eventually(isGone(t)).Should(BeTrue())
	})

	It("peaks: gives the two Tenants whose old default names collided different projects, and a Tenant keeps a project made under the old default", func() {
		base := "peaks-" + utilrand.String(5)
		nsA, nsB := base+"-universal", base
		for _, ns := range []string{nsA, nsB} {
			Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{departmentLabel: "true"}}})).To(Succeed())
		}
		// Someone's project under the old, shared default name blocks neither.
		cloud.AddProject(openstack.Project{Name: base + "-universal-credit", DomainID: "default", Enabled: true})
		a := createTenant(nsA, "credit")
		b := createTenant(nsB, "universal-credit")
		gotA, gotB := readyTenant(a), readyTenant(b)
		Eventually(gotA).Should(HaveField("Status.ProjectName", nsA+"_credit"))
		Eventually(gotB).Should(HaveField("Status.ProjectName", nsB+"_universal-credit"))
		Expect(gotA(Default).Status.ProjectID).NotTo(Equal(gotB(Default).Status.ProjectID))

		By("a project this Tenant made under the old default, and never recorded, keeps its name")
		admit := newCloud("peaks-legacy-", metav1.LabelSelector{MatchLabels: map[string]string{peaksLabel: base}})
		ns := outsideNamespace()
		t := createTenant(ns, "legacy", func(t *whv1.Tenant) { t.Spec.CloudRef.Name = admit.Name })
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonNamespaceNotAllowed))
		t = fetch(t)
		legacy := cloud.AddProject(openstack.Project{Name: ns + "-legacy", DomainID: "default", Enabled: true,
			Owner: string(t.UID), OwnerNamespace: ns, OwnerName: t.Name})
		setNamespaceLabel(ns, peaksLabel, base)
		Eventually(readyTenant(t)).Should(And(HaveField("Status.ProjectID", legacy.ID), HaveField("Status.ProjectName", ns+"-legacy")))
		Expect(cloud.Project(legacy.ID).Name).To(Equal(ns+"-legacy"), "not renamed")
		Expect(cloud.ProjectsNamed(ns+"_legacy")).To(BeZero(), "no second project")
	})
})
