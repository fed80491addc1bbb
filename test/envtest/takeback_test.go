package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// The cluster is lost and the same manifests are applied to a new one: the Tenant there
// has the same namespace and name and a new UID. The project it made records its former
// self, of a cluster that may or may not still be alive.
var _ = Describe("A Tenant applied again after its cluster was lost", func() {
	var ns string
	BeforeEach(func() { ns = newDepartment() })

	// formerProject is the project a Tenant ns/name of cluster made before its loss.
	formerProject := func(name, cluster string) *openstack.Project {
		return cloud.AddProject(openstack.Project{
			Name: ns + "_" + name, DomainID: "default", Enabled: true, Description: "hmrc",
			Owner: "uid-of-the-lost-tenant", OwnerNamespace: ns, OwnerName: name, OwnerCluster: cluster,
		})
	}
	record := func(renewed time.Time) *openstack.ClusterRecord { return &openstack.ClusterRecord{RenewedAt: renewed} }
	described := func(t *whv1.Tenant) { t.Spec.Project.Description = ptr.To("hmrc") }

	It("takes its project back once the old cluster's record has expired, and makes nothing new", func() {
		cloud.SetClusterRecord("lost-"+ns, record(time.Now().Add(-time.Hour)))
		p := formerProject("sa", "lost-"+ns)
		t := createTenant(ns, "sa", described)
		got := readyTenantWithin(t)
		Expect(got.Status.ProjectID).To(Equal(p.ID), "the same project, not a new one")
		owner := cloud.Project(p.ID)
		Expect(owner.Owner).To(Equal(string(got.UID)))
		Expect(owner.OwnerCluster).NotTo(BeEmpty())
		Expect(owner.OwnerCluster).NotTo(Equal("lost-" + ns))
		Expect(owner.PreviousOwner).To(Equal("uid-of-the-lost-tenant"))
		Expect(cloud.ProjectsNamed(p.Name)).To(Equal(1))
		Expect(cloud.Writes(p.ID)).To(Equal([]string{"UpdateProject owner=" + ns + "/sa"}), "only the owner record changed")
		Eventually(func(g Gomega) {
			g.Expect(eventsAbout(g, "Tenant", "sa")).To(ContainElement(HaveField("Reason", "TakenBack")))
		}).Should(Succeed())
	})

	It("leaves the project alone while the other cluster renews its record, and says until when", func() {
		cloud.SetClusterRecord("alive-"+ns, record(time.Now()))
		p := formerProject("paye", "alive-"+ns)
		t := createTenant(ns, "paye", described)
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonOwnedByAnotherCluster,
			"is managed from another cluster (alive-"+ns+")"))
		Consistently(func(g Gomega) {
			g.Expect(cloud.Writes(p.ID)).To(BeEmpty())
			g.Expect(cloud.Project(p.ID)).To(Equal(p))
		}, "2s").Should(Succeed())
		Expect(cloud.ProjectsNamed(p.Name)).To(Equal(1), "no second project made beside it")

		By("taking it once the other cluster leaves the cloud")
		cloud.SetClusterRecord("alive-"+ns, &openstack.ClusterRecord{Left: true})
		change(t, func(t *whv1.Tenant) { t.Spec.Project.Tags = []string{"moved"} })
		got := readyTenantWithin(t)
		Expect(got.Status.ProjectID).To(Equal(p.ID))
		Expect(cloud.Project(p.ID).Owner).To(Equal(string(got.UID)))
	})

	It("needs the take-over annotation for a cluster that keeps no record in this cloud", func() {
		p := formerProject("vat", "elsewhere-"+ns)
		t := createTenant(ns, "vat", described)
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonOwnedByAnotherCluster,
			whv1.TakeOverAnnotation+"=elsewhere-"+ns))
		Expect(cloud.Writes(p.ID)).To(BeEmpty())

		By("annotating it with another cluster's ID: still refused")
		change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{whv1.TakeOverAnnotation: "some-other"} })
		Consistently(func(g Gomega) { g.Expect(cloud.Writes(p.ID)).To(BeEmpty()) }, "1s").Should(Succeed())

		By("annotating it with the recorded cluster")
		change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{whv1.TakeOverAnnotation: "elsewhere-" + ns} })
		got := readyTenantWithin(t)
		Expect(got.Status.ProjectID).To(Equal(p.ID))
	})

	It("never takes a project that records another namespace or name, whatever its cluster", func() {
		cloud.SetClusterRecord("lost2-"+ns, record(time.Now().Add(-time.Hour)))
		p := cloud.AddProject(openstack.Project{
			Name: ns + "_ct", DomainID: "default", Enabled: true,
			Owner: "uid-x", OwnerNamespace: "dwp", OwnerName: "ct", OwnerCluster: "lost2-" + ns,
		})
		t := createTenant(ns, "ct")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonAlreadyOwned, "belongs to another Tenant"))
		Expect(cloud.Writes(p.ID)).To(BeEmpty())
	})

	It("takes back the network its former self made, with the same range", func() {
		cloud.SetClusterRecord("lost3-"+ns, record(time.Now().Add(-time.Hour)))
		p := formerProject("net", "lost3-"+ns)
		_, _, err := cloud.EnsureNetworkBundle(ctx, openstack.NetworkBundleSpec{
			ProjectID: p.ID, Name: p.Name, CIDR: "10.77.0.0/24", Owner: "uid-of-the-lost-tenant"}, openstack.NetworkBundle{})
		Expect(err).NotTo(HaveOccurred())
		before := *cloud.NetworkBundle(p.ID, p.Name)
		writes := len(cloud.Writes(p.ID))
		t := createTenant(ns, "net", described, func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.77.0.0/24"} })
		got := readyTenantWithin(t)
		Expect(got.Status.Network).NotTo(BeNil())
		Expect(got.Status.Network.NetworkID).To(Equal(before.NetworkID), "the same network, claimed")
		Expect(got.Status.Network.SubnetID).To(Equal(before.SubnetID))
		Expect(cloud.Writes(p.ID)[writes:]).To(Equal([]string{"UpdateProject owner=" + ns + "/net"}), "no network made")
	})
})

// readyTenantWithin waits for the Tenant to be Ready and returns it.
func readyTenantWithin(t *whv1.Tenant) *whv1.Tenant {
	var got *whv1.Tenant
	Eventually(func(g Gomega) { got = readyTenant(t)(g) }).Should(Succeed())
	return got
}
