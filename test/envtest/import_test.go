package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("Importing a project", func() {
	var ns string
	BeforeEach(func() { ns = newDepartment() })

	handedTo := func(namespace string) []string { return []string{whv1.HandoverTagPrefix + namespace} }
	importing := func(id string) func(*whv1.Tenant) {
		return func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(id)} }
	}
	// untouched checks, for a while, that the operator neither wrote to the project nor
	// changed it in any way.
	untouched := func(p *openstack.Project) {
		Consistently(func(g Gomega) {
			g.Expect(cloud.Calls("UpdateProject/" + p.ID)).To(BeZero())
			g.Expect(cloud.Calls("DeleteProject/" + p.ID)).To(BeZero())
			g.Expect(cloud.Project(p.ID)).To(Equal(p))
		}).Should(Succeed())
	}

	It("refuses a project that was not handed over, and changes nothing on it", func() {
		p := cloud.AddProject(openstack.Project{Name: "legacy-" + ns, DomainID: "default", Enabled: true, Description: "theirs"})
		t := createTenant(ns, "grab", importing(p.ID), func(t *whv1.Tenant) {
			t.Spec.Project.Description = ptr.To("mine")
			t.Spec.Project.Enabled = ptr.To(false)
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonImportNotAllowed,
			"tags it "+whv1.HandoverTagPrefix+ns+" to allow the import; nothing was changed"))
		untouched(p)
		got := fetch(t)
		Expect(got.Status.ProjectID).To(BeEmpty())
		Expect(got.Status.Adopted).To(BeFalse())

		By("deleting the Tenant, which never adopted it")
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
		Expect(cloud.Project(p.ID)).To(Equal(p))
	})

	It("refuses a project handed over to another namespace", func() {
		p := cloud.AddProject(openstack.Project{Name: "dwp-" + ns, DomainID: "default", Enabled: true, Tags: handedTo("dwp")})
		t := createTenant(ns, "grab", importing(p.ID))
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonAlreadyOwned,
			"was handed over to another namespace, not "+ns))
		untouched(p)
	})

	It("never imports a protected project, by name or by ID, even when it is tagged", func() {
		if cloud.ProjectsNamed("admin") == 0 {
			cloud.AddProject(openstack.Project{Name: "admin", DomainID: "default", Enabled: true})
		}
		admin, err := cloud.FindProject(ctx, "default", "admin")
		Expect(err).NotTo(HaveOccurred())
		cloud.EditProject(admin.ID, func(p *openstack.Project) { p.Tags = append(p.Tags, whv1.HandoverTagPrefix+ns) })
		admin = cloud.Project(admin.ID)
		updates := cloud.Calls("UpdateProject/" + admin.ID)

		byName := createTenant(ns, "by-name", func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{Name: ptr.To("admin")} })
		byID := createTenant(ns, "by-id", importing(admin.ID))
		Eventually(conditionOf(byName, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonProjectProtected, "is protected by the Cloud"))
		Eventually(conditionOf(byID, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonProjectProtected, "is protected by the Cloud"))

		By("nor creates one by a protected name")
		services := cloud.ProjectsNamed("service")
		named := createTenant(ns, "named", func(t *whv1.Tenant) { t.Spec.Project.Name = ptr.To("service") })
		Eventually(conditionOf(named, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonProjectProtected, `project name "service" is protected`))

		Consistently(func(g Gomega) {
			g.Expect(cloud.Calls("UpdateProject/" + admin.ID)).To(Equal(updates))
			g.Expect(cloud.Project(admin.ID)).To(Equal(admin))
			g.Expect(cloud.ProjectsNamed("service")).To(Equal(services))
		}).Should(Succeed())
	})

	It("adopts a handed-over project, records its owner, and never lets another Tenant have it", func() {
		p := cloud.AddProject(openstack.Project{Name: "legacy-" + ns, DomainID: "default", Enabled: true, Tags: handedTo(ns)})
		t := createTenant(ns, "legacy", importing(p.ID))
		Eventually(readyTenant(t)).Should(HaveField("Status.Adopted", BeTrue()))
		got := fetch(t)
		Expect(got.Status.ProjectID).To(Equal(p.ID))
		owned := cloud.Project(p.ID)
		Expect(owned).To(And(HaveField("Owner", string(got.UID)), HaveField("OwnerNamespace", ns), HaveField("OwnerName", "legacy")))

		By("refusing it to a Tenant of another namespace")
		other := newDepartment()
		rival := createTenant(other, "grab", importing(p.ID))
		Eventually(conditionOf(rival, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonAlreadyOwned, "belongs to another Tenant"))

		By("still refusing it once the project is also handed over to that namespace")
		cloud.EditProject(p.ID, func(p *openstack.Project) { p.Tags = append(p.Tags, whv1.HandoverTagPrefix+other) })
		Consistently(func(g Gomega) {
			g.Expect(conditionOf(rival, whv1.ConditionReady)(g)).To(HaveField("Reason", whv1.ReasonAlreadyOwned))
			g.Expect(cloud.Project(p.ID)).To(And(HaveField("Owner", string(got.UID)), HaveField("OwnerNamespace", ns)))
		}).Should(Succeed())
		Expect(fetch(rival).Status.ProjectID).To(BeEmpty())
		Eventually(readyTenant(t)).Should(Not(BeNil()), "the owner is not disturbed")

		By("handing it on once its owner has gone (retained: it was imported)")
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
		Expect(cloud.Project(p.ID)).NotTo(BeNil())
		Eventually(readyTenant(rival)).Should(HaveField("Status.Adopted", BeTrue()))
		Expect(cloud.Project(p.ID)).To(And(HaveField("Owner", string(fetch(rival).UID)), HaveField("OwnerNamespace", other)))
	})

	It("keeps an imported project when its Tenant goes, unless deletionPolicy is an explicit Delete", func() {
		kept := cloud.AddProject(openstack.Project{Name: "kept-" + ns, DomainID: "default", Enabled: true, Tags: handedTo(ns)})
		gone := cloud.AddProject(openstack.Project{Name: "gone-" + ns, DomainID: "default", Enabled: true, Tags: handedTo(ns)})
		keep := createTenant(ns, "keep", importing(kept.ID), func(t *whv1.Tenant) {
			// An application credential gives the project an identity, which goes with the Tenant.
			t.Spec.ApplicationCredential = &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", Roles: []string{"member"},
				ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour}, RotateBefore: metav1.Duration{Duration: 720 * time.Hour},
				GracePeriod: metav1.Duration{Duration: time.Hour},
			}
		})
		drop := createTenant(ns, "drop", importing(gone.ID), func(t *whv1.Tenant) { t.Spec.DeletionPolicy = whv1.DeletionPolicyDelete })
		Eventually(readyTenant(keep)).Should(Not(BeNil()))
		Eventually(readyTenant(drop)).Should(Not(BeNil()))
		var serviceUser string
		Eventually(func() string { serviceUser = fetch(keep).Status.ServiceUserID; return serviceUser }).ShouldNot(BeEmpty())
		Expect(fetch(keep).Spec.DeletionPolicy).To(BeEmpty(), "not defaulted by the CRD")

		Expect(k8s.Delete(ctx, keep)).To(Succeed())
		Expect(k8s.Delete(ctx, drop)).To(Succeed())
		Eventually(isGone(keep)).Should(BeTrue())
		Eventually(isGone(drop)).Should(BeTrue())
		Expect(cloud.Project(kept.ID)).NotTo(BeNil())
		Expect(cloud.Project(gone.ID)).To(BeNil())
		Expect(cloud.ServiceUsers()).NotTo(HaveKey(serviceUser), "the project's identity goes whatever the policy")
		Expect(cloud.Assignments(kept.ID)).To(BeEmpty())
	})

	It("refuses a project name that another Tenant's project has, and leaves that project alone", func() {
		owner := createTenant(ns, "sa", func(t *whv1.Tenant) { t.Spec.Project.Description = ptr.To("Self Assessment") })
		Eventually(readyTenant(owner)).Should(Not(BeNil()))
		theirs := cloud.Project(fetch(owner).Status.ProjectID)
		updates := cloud.Calls("UpdateProject/" + theirs.ID)

		other := newDepartment()
		cloud.AddUser("default", "someone")
		rival := createTenant(other, "sa", func(t *whv1.Tenant) {
			t.Spec.Project.Name = ptr.To(theirs.Name)
			t.Spec.Project.Description = ptr.To("taken over")
			t.Spec.Project.Enabled = ptr.To(false)
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{User: ptr.To("someone"), Roles: []string{"member"}}}
		})
		Eventually(conditionOf(rival, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonAlreadyOwned,
			`project name "`+theirs.Name+`" in domain default belongs to another Tenant`))
		assignments := cloud.Assignments(theirs.ID)
		Consistently(func(g Gomega) {
			g.Expect(cloud.Calls("UpdateProject/" + theirs.ID)).To(Equal(updates))
			g.Expect(cloud.Project(theirs.ID)).To(Equal(theirs))
			g.Expect(cloud.Assignments(theirs.ID)).To(ConsistOf(assignments))
		}).Should(Succeed())
		Expect(fetch(rival).Status.ProjectID).To(BeEmpty())

		By("deleting the rival, which must not delete the project it named")
		Expect(k8s.Delete(ctx, rival)).To(Succeed())
		Eventually(isGone(rival)).Should(BeTrue())
		Expect(cloud.Project(theirs.ID)).To(Equal(theirs))
		Eventually(readyTenant(owner)).Should(Not(BeNil()))
	})
})
