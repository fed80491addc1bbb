package envtest

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// writesLike are the fake's recorded writes to project that start with prefix.
func writesLike(project, prefix string) func() []string {
	return func() []string {
		var out []string
		for _, w := range cloud.Writes(project) {
			if strings.HasPrefix(w, prefix) {
				out = append(out, w)
			}
		}
		return out
	}
}

// driftOf polls status.drift of obj (a Tenant or a ComputeQuota) once its status
// describes its generation.
func driftOf(obj client.Object) func(Gomega) []whv1.DriftEntry {
	return func(g Gomega) []whv1.DriftEntry {
		out := obj.DeepCopyObject().(client.Object)
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
		switch o := out.(type) {
		case *whv1.Tenant:
			g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation))
			return o.Status.Drift
		case *whv1.ComputeQuota:
			g.Expect(o.Status.ObservedGeneration).To(Equal(o.Generation))
			return o.Status.Drift
		}
		panic("driftOf: no drift on this kind")
	}
}

var _ = Describe("ComputeQuota under managementPolicy Observe (drift)", func() {
	var (
		ns        string
		projectID string
	)
	BeforeEach(func() {
		ns = newNamespace()
		projectID = departmentProject(ns)
	})

	It("lists each quota field that differs, writes nothing, and on the switch to Manage writes exactly the drift", func() {
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "cores", 8)
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "instances", 5)
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "observed"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Baseline: whv1.QuotaSet{
					Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20), Instances: ptr.To[int64](5)},
					Network: &whv1.NetworkLimits{Ports: ptr.To[int64](50)},
				},
				ManagementPolicy: whv1.ManagementPolicyObserve,
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())

		By("listing the drift, InSync False with the count, Ready saying observed")
		Eventually(driftOf(cq)).Should(Equal([]whv1.DriftEntry{
			{Field: "compute.cores", Desired: "20", Actual: "8"},
			{Field: "network.ports", Desired: "50", Actual: "10"},
		}))
		Eventually(conditionOf(cq, whv1.ConditionInSync)).Should(And(
			notReadyBecause(whv1.ReasonDrifted, "2 difference(s)")))
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Message", ContainSubstring("observed, not managed"))))
		got := fetch(cq)
		Expect(got.Status.Effective.Compute).To(Equal(&whv1.ComputeLimits{Cores: ptr.To[int64](8), Instances: ptr.To[int64](5)}),
			"effective shows what OpenStack holds")

		By("writing nothing, resync after resync")
		Consistently(writesLike(projectID, "SetQuota")).Should(BeEmpty())

		By("switching to Manage: exactly the drift is written, and nothing more")
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		Eventually(writesLike(projectID, "SetQuota")).Should(ConsistOf("SetQuota compute.cores=20", "SetQuota network.ports=50"))
		Consistently(writesLike(projectID, "SetQuota")).Should(HaveLen(2))
		Eventually(func(g Gomega) {
			q := fetch(cq)
			g.Expect(q.Status.Drift).To(BeEmpty(), "no drift under Manage")
			g.Expect(conditionsOf(q)).NotTo(ContainElement(HaveField("Type", whv1.ConditionInSync)), "no InSync under Manage")
		}).Should(Succeed())

		By("switching back to Observe: in sync")
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.ManagementPolicy = whv1.ManagementPolicyObserve })
		Eventually(conditionOf(cq, whv1.ConditionInSync)).Should(HaveField("Reason", whv1.ReasonInSync))
		Expect(fetch(cq).Status.Drift).To(BeEmpty())

		By("deleting it under Observe: the project keeps its quota")
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "cores", 99)
		Expect(k8s.Delete(ctx, cq)).To(Succeed())
		Eventually(isGone(cq)).Should(BeTrue())
		Expect(cloud.Quota(projectID, quota.ComputeService)).To(HaveKeyWithValue("cores", int64(99)))
		Expect(writesLike(projectID, "SetQuota")()).To(HaveLen(2))
	})
})

var _ = Describe("Tenant under managementPolicy Observe (drift)", func() {
	var ns string
	BeforeEach(func() { ns = newDepartment() })

	It("imports a handed-over project in Observe: lists its drift, writes nothing, and the switch to Manage makes exactly the drift", func() {
		p := cloud.AddProject(openstack.Project{Name: "hmrc-" + ns, DomainID: "default", Enabled: true, Description: "made by hand",
			Tags: []string{whv1.HandoverTagPrefix + ns, "legacy"}})
		vat := cloud.AddGroup("default", ns+"-vat")
		other := cloud.AddGroup("default", ns+"-other")
		cloud.GrantDirectly(p.ID, openstack.Assignment{GroupID: vat, RoleID: "role-reader"})
		cloud.GrantDirectly(p.ID, openstack.Assignment{GroupID: other, RoleID: "role-member"})
		t := createTenant(ns, "vat", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
			t.Spec.Project.Description = ptr.To("VAT returns")
			t.Spec.Project.Tags = []string{"vat"}
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-vat"), Roles: []string{"member"}}}
		})

		By("listing each difference, the people the spec names included")
		want := []whv1.DriftEntry{
			{Field: "description", Desired: "VAT returns", Actual: "made by hand"},
			{Field: "tags", Desired: "vat", Actual: "legacy," + whv1.HandoverTagPrefix + ns},
			{Field: "roleAssignments", Desired: "absent", Actual: "role-reader to group " + vat},
			{Field: "roleAssignments", Desired: "member to group " + vat, Actual: "absent"},
		}
		Eventually(driftOf(t)).Should(Equal(want))
		Eventually(conditionOf(t, whv1.ConditionInSync)).Should(notReadyBecause(whv1.ReasonDrifted, "4 difference(s)"))
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Message", ContainSubstring("observed, not managed")),
			HaveField("Message", ContainSubstring("Manage records Tenant "+ns+"/vat as its owner"))))
		got := fetch(t)
		Expect(got.Status.ProjectID).To(Equal(p.ID), "recorded, so a ComputeQuota can observe its quota")
		Expect(got.Status.Adopted).To(BeFalse())
		Expect(got.Status.RoleAssignments).To(BeEmpty())

		By("writing nothing to OpenStack, resync after resync")
		Consistently(func() []string { return cloud.Writes(p.ID) }).Should(BeEmpty())
		Expect(cloud.Project(p.ID).Owner).To(BeEmpty())

		By("switching to Manage: exactly the drift is made, and the owner record the import asks for")
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		made := []string{
			"UpdateProject owner=" + ns + "/vat",
			"UpdateProject description=VAT returns",
			"UpdateProject tags=vat",
			"Revoke role-reader group " + vat,
			"Grant role-member group " + vat,
		}
		Eventually(func() []string { return cloud.Writes(p.ID) }).Should(ConsistOf(made))
		Consistently(func() []string { return cloud.Writes(p.ID) }).Should(HaveLen(len(made)))
		Expect(cloud.Assignments(p.ID)).To(ContainElement(openstack.Assignment{GroupID: other, RoleID: "role-member"}),
			"a principal the spec never named is not touched")
		Eventually(readyTenant(t)).Should(And(HaveField("Status.Adopted", BeTrue()), HaveField("Status.Drift", BeEmpty())))
		Expect(conditionsOf(fetch(t))).NotTo(ContainElement(HaveField("Type", whv1.ConditionInSync)))
	})

	It("lets a ComputeQuota observe an observed Tenant's project, and write to it only once the Tenant manages it", func() {
		p := cloud.AddProject(openstack.Project{Name: "quota-" + ns, DomainID: "default", Enabled: true,
			Tags: []string{whv1.HandoverTagPrefix + ns}})
		cloud.SetLimitDirectly(p.ID, quota.ComputeService, "cores", 8)
		t := createTenant(ns, "adopt", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
		})
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "adopt"},
			Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: t.Name},
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](16)}}},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonTenantNotReady, "under managementPolicy Observe"))
		Consistently(writesLike(p.ID, "SetQuota")).Should(BeEmpty())

		change(cq, func(q *whv1.ComputeQuota) { q.Spec.ManagementPolicy = whv1.ManagementPolicyObserve })
		Eventually(driftOf(cq)).Should(Equal([]whv1.DriftEntry{{Field: "compute.cores", Desired: "16", Actual: "8"}}))
		Expect(cloud.Writes(p.ID)).To(BeEmpty())
	})

	It("refuses an import that was not handed over, even to observe it", func() {
		p := cloud.AddProject(openstack.Project{Name: "theirs-" + ns, DomainID: "default", Enabled: true, Description: "theirs"})
		t := createTenant(ns, "peek", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonImportNotAllowed, "was not handed over"))
		got := fetch(t)
		Expect(got.Status.ProjectID).To(BeEmpty())
		Expect(got.Status.Drift).To(BeEmpty(), "nothing of the project is shown")
		Expect(cloud.Writes(p.ID)).To(BeEmpty())
	})

	It("creates nothing for a new Tenant in Observe, and lists the project as absent", func() {
		t := createTenant(ns, "new", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Project.Name = ptr.To("observe-new-" + ns)
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{SecretName: "creds", Roles: []string{"member"},
				ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour}, RotateBefore: metav1.Duration{Duration: 720 * time.Hour},
				GracePeriod: metav1.Duration{Duration: time.Hour}}
		})
		Eventually(driftOf(t)).Should(ContainElements(
			whv1.DriftEntry{Field: "project", Desired: "observe-new-" + ns, Actual: "absent"},
			HaveField("Field", "serviceUser"),
			whv1.DriftEntry{Field: "applicationCredential", Desired: "issued into Secret creds", Actual: "absent"}))
		Consistently(func() int { return cloud.ProjectsNamed("observe-new-" + ns) }).Should(BeZero())
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "creds"}, &corev1.Secret{})).To(
			WithTransform(apierrors.IsNotFound, BeTrue()), "no credential Secret under Observe")
		Expect(fetch(t).Status.ServiceUserID).To(BeEmpty())
	})
})

var _ = Describe("managementPolicy and drift validation (Observe)", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	It("defaults managementPolicy to Manage and refuses anything but Manage or Observe", func() {
		cq := manifest(ns, `
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: policy}
spec:
  tenantRef: {name: dept}
  baseline: {compute: {cores: 4}}
`)
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		Expect(cq.Object["spec"]).To(HaveKeyWithValue("managementPolicy", "Manage"))
		for _, doc := range []string{`
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: bad-policy}
spec:
  tenantRef: {name: dept}
  baseline: {compute: {cores: 4}}
  managementPolicy: Adopt
`, `
apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: bad-policy}
spec:
  cloudRef: {name: whitehall}
  managementPolicy: observe
`} {
			err := k8s.Create(ctx, manifest(ns, doc))
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "%v", err)
			Expect(err.Error()).To(ContainSubstring("managementPolicy"))
		}
	})

	It("admits the longest drift the operator writes, and refuses a longer one", func() {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bounds"},
			Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "absent"},
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](1)}}},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		// The controller writes this status too (its Tenant is missing): read afresh each time.
		setDrift := func(drift []whv1.DriftEntry) error {
			return retry.RetryOnConflict(retry.DefaultRetry, func() error {
				got := fetch(cq)
				got.Status.Drift = drift
				return k8s.Status().Update(ctx, got)
			})
		}
		long := strings.Repeat("x", whv1.MaxDriftValue)
		full := make([]whv1.DriftEntry, whv1.MaxDrift)
		for i := range full {
			full[i] = whv1.DriftEntry{Field: long, Desired: long, Actual: long}
		}
		Expect(setDrift(full)).To(Succeed())
		Expect(apierrors.IsInvalid(setDrift(append(full, full[0])))).To(BeTrue(), "more than MaxDrift entries")
		Expect(apierrors.IsInvalid(setDrift([]whv1.DriftEntry{{Field: long + "x"}}))).To(BeTrue(), "a string longer than MaxDriftValue")
	})
})
