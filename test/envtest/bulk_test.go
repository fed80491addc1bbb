package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Observe in bulk, act per department: the suite's admin cloud has a bulk view
// refreshed once per resync (suite_test.go), as every Cloud's admin login has in the
// manager. A drift made behind the operator's back in any field the view lists is found
// by a refresh and repaired by the object's own reconcile, and at rest the Tenant and
// the ComputeQuota make no read of their own project in Keystone, nor of its Neutron
// limits.
var _ = Describe("Bulk view", func() {
	var (
		ns      string
		groupID string
	)
	BeforeEach(func() {
		ns = newNamespace()
		groupID = cloud.AddGroup("default", ns+"-devops")
	})

	newTenant := func(name string) (*whv1.Tenant, string) {
		t := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: whv1.TenantSpec{
				CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"},
				Project:             whv1.ProjectSpec{Description: ptr.To("Self Assessment"), Tags: []string{"hmrc", "self-assessment"}},
				RoleAssignments:     []whv1.RoleAssignment{{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}}},
			},
		}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		ready := func(g Gomega) *whv1.Tenant { return readyTenant(t)(g) }
		Eventually(ready).Should(Not(BeNil()))
		return t, fetch(t).Status.ProjectID
	}
	// liveReads are the per-project reads the view replaces.
	liveReads := func(id string) []int {
		return []int{cloud.Calls("GetProject/" + id), cloud.Calls("ListAssignments/" + id), cloud.Calls("GetQuota.network/" + id)}
	}
	// atRest waits until a refresh began after the operator's last write to the project
	// (a write is served live until then), and returns the live reads made so far.
	atRest := func(id string) []int {
		listings := cloud.Calls("ListAllProjects")
		Eventually(func() int { return cloud.Calls("ListAllProjects") }).Should(BeNumerically(">=", listings+2))
		return liveReads(id)
	}

	It("reads no project of its own at rest, and lists the cloud about once per resync", func() {
		_, id := newTenant("steady")
		before := atRest(id)
		listings := cloud.Calls("ListAllProjects")
		Consistently(func() []int { return liveReads(id) }).WithTimeout(3*resync).Should(Equal(before),
			"GetProject, ListAssignments and Neutron quota reads of the project at rest: the bulk view serves them")
		// Every object of the suite shares the one admin cloud and its one view.
		Expect(cloud.Calls("ListAllProjects") - listings).To(BeNumerically("<=", 3+1))
		Expect(cloud.Calls("ListAllAssignments")).To(BeNumerically("~", cloud.Calls("ListAllProjects"), 1))
	})

	It("repairs each project field changed behind its back, with no read of its own", func() {
		t, id := newTenant("fields")
		for _, drift := range []struct {
			what string
			edit func(*openstack.Project)
			ok   func(Gomega, *openstack.Project)
		}{
			{"name", func(p *openstack.Project) { p.Name = "renamed" }, func(g Gomega, p *openstack.Project) { g.Expect(p.Name).To(Equal(ns + "_fields")) }},
			{"description", func(p *openstack.Project) { p.Description = "" }, func(g Gomega, p *openstack.Project) { g.Expect(p.Description).To(Equal("Self Assessment")) }},
			{"enabled", func(p *openstack.Project) { p.Enabled = false }, func(g Gomega, p *openstack.Project) { g.Expect(p.Enabled).To(BeTrue()) }},
			{"tags", func(p *openstack.Project) { p.Tags = []string{"hmrc"} }, func(g Gomega, p *openstack.Project) {
				g.Expect(p.Tags).To(ConsistOf("hmrc", "self-assessment"))
			}},
			{"owner cluster property", func(p *openstack.Project) { p.OwnerCluster = "" }, func(g Gomega, p *openstack.Project) {
				g.Expect(p.OwnerCluster).NotTo(BeEmpty())
			}},
		} {
			By("drift in the " + drift.what)
			before := atRest(id)
			cloud.EditProject(id, drift.edit)
			Eventually(func(g Gomega) { drift.ok(g, cloud.Project(id)) }).Should(Succeed(), drift.what)
			// Planned from the view; the one live read allowed is the look after its own write.
			Expect(cloud.Calls("GetProject/"+id)).To(BeNumerically("<=", before[0]+1), "the repair of the %s was planned from the view", drift.what)
		}
		Eventually(readyTenant(t)).Should(Not(BeNil()))
	})

	It("catches a project whose owner property names someone else, as a live read would", func() {
		t, id := newTenant("owner")
		atRest(id)
		cloud.EditProject(id, func(p *openstack.Project) { p.Owner = "someone-else" })
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonAlreadyOwned, "does not record this Tenant as its owner"))
		Expect(cloud.Project(id).Owner).To(Equal("someone-else"), "a project that is not the Tenant's is left alone")
	})

	It("restores a role assignment removed and revokes one added behind its back", func() {
		_, id := newTenant("people")
		member := openstack.Assignment{GroupID: groupID, RoleID: "role-member"}
		extra := openstack.Assignment{GroupID: groupID, RoleID: "role-admin"}
		stranger := openstack.Assignment{UserID: "someone-else", RoleID: "role-admin"}
		before := atRest(id)
		cloud.GrantDirectly(id, extra)
		cloud.GrantDirectly(id, stranger)
		Eventually(func() []openstack.Assignment { return cloud.Assignments(id) }).Should(ConsistOf(member, stranger),
			"the managed group's extra role is revoked; a principal the Tenant does not manage is left alone")
		// Planned from the view; the one live read allowed is the look after its own write.
		Expect(cloud.Calls("ListAssignments/"+id)).To(BeNumerically("<=", before[1]+1), "the revocation was planned from the view")

		before = atRest(id)
		Expect(cloud.Revoke(ctx, id, member)).To(Succeed()) // as a person would, not through the operator's view
		Eventually(func() []openstack.Assignment { return cloud.Assignments(id) }).Should(ContainElement(member))
		Expect(cloud.Calls("ListAssignments/"+id)).To(BeNumerically("<=", before[1]+1), "the grant was planned from the view")
	})

	It("repairs a Neutron limit changed or reset behind its back, and keeps the usage last read", func() {
		_, id := newTenant("neutron")
		cloud.SetInUse(id, quota.NetworkService, "ports", 7)
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "quota"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: "neutron"},
				Baseline:  whv1.QuotaSet{Network: &whv1.NetworkLimits{Ports: ptr.To[int64](50), Networks: ptr.To[int64](3)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		ports := func(g Gomega) *int64 {
			out := fetch(cq)
			g.Expect(out.Status.Usage.Network).NotTo(BeNil())
			return out.Status.Usage.Network.Ports
		}
		Eventually(ports).Should(HaveValue(BeEquivalentTo(7)), "the first full read is live: the operator's own write came after the listing")

		before := atRest(id)
		cloud.SetLimitDirectly(id, quota.NetworkService, "ports", 500)
		Eventually(func() int64 { return cloud.Quota(id, quota.NetworkService)["ports"] }).Should(BeEquivalentTo(50))
		Expect(cloud.Calls("GetQuota.network/"+id)).To(BeNumerically("<=", before[2]+1), "the repair was planned from the view")
		Expect(ports(Default)).To(HaveValue(BeEquivalentTo(7)), "the view lists no usage: the usage last read is kept")

		By("a quota reset to Neutron's defaults is not in the listing: read live and repaired")
		atRest(id)
		cloud.RemoveNetworkQuotaDirectly(id)
		Eventually(func() map[string]int64 { return cloud.Quota(id, quota.NetworkService) }).Should(
			And(HaveKeyWithValue("ports", BeEquivalentTo(50)), HaveKeyWithValue("networks", BeEquivalentTo(3))))
	})

	It("makes a new Tenant Ready without waiting for a refresh: a new project is read live", func() {
		// A view that is fresh for the whole spec: no refresh comes while it runs.
		cloud.ObserveInBulk(time.Hour)
		DeferCleanup(func() { cloud.ObserveInBulk(resync) })
		newTenant("first")
		listings := cloud.Calls("ListAllProjects")
		_, id := newTenant("second")
		Expect(cloud.Project(id)).NotTo(BeNil())
		Expect(cloud.Calls("ListAllProjects")).To(Equal(listings), "Ready with no listing after the Tenant was made")
	})
})
