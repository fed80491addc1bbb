package envtest

import (
	"errors"
	"net/url"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("Tenant controller", func() {
	var (
		ns      string
		groupID string
		userID  string
	)
	BeforeEach(func() {
		ns = newNamespace()
		groupID = cloud.AddGroup("default", ns+"-devops")
		userID = cloud.AddUser("default", ns+"-auditor")
	})

	newTenant := func(name string, mutate ...func(*whv1.Tenant)) *whv1.Tenant {
		t := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: whv1.TenantSpec{
				CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"},
				Project: whv1.ProjectSpec{
					Description: ptr.To("Self Assessment"),
					Tags:        []string{"hmrc", "self-assessment"},
				},
				RoleAssignments: []whv1.RoleAssignment{
					{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}},
					{User: ptr.To(ns + "-auditor"), UserDomain: ptr.To("default"), Roles: []string{"reader"}},
				},
			},
		}
		for _, m := range mutate {
			m(t)
		}
		Expect(k8s.Create(ctx, t)).To(Succeed())
		return t
	}
	get := func(t *whv1.Tenant) *whv1.Tenant {
		out := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), out)).To(Succeed())
		return out
	}
	ready := func(t *whv1.Tenant) func(Gomega) *whv1.Tenant {
		return func(g Gomega) *whv1.Tenant {
			out := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), out)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(out.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "conditions: %v", out.Status.Conditions)
			g.Expect(out.Status.ObservedGeneration).To(Equal(out.Generation))
			return out
		}
	}
	condition := func(t *whv1.Tenant, reason string) func(Gomega) metav1.Condition {
		return func(g Gomega) metav1.Condition {
			c := meta.FindStatusCondition(get(t).Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(reason), "message: %s", c.Message)
			return *c
		}
	}
	gone := func(t *whv1.Tenant) func() bool {
		return func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(t), &whv1.Tenant{}))
		}
	}

	It("creates the project with its tags, description and people, and reports Ready", func() {
		t := ready(newTenant("self-assessment"))
		Eventually(t).Should(Not(BeNil()))
		got := get(newTenantRef(ns, "self-assessment"))
		p := cloud.Project(got.Status.ProjectID)
		Expect(p).NotTo(BeNil())
		Expect(p.Name).To(Equal(ns + "_self-assessment"))
		Expect(p.Description).To(Equal("Self Assessment"))
		Expect(p.Tags).To(ConsistOf("hmrc", "self-assessment"))
		Expect(p.Enabled).To(BeTrue())
		Expect(p.Owner).To(Equal(string(got.UID)))
		Expect(got.Status.DomainID).To(Equal("default"))
		Expect(got.Status.ProjectName).To(Equal(ns + "_self-assessment"))
		Expect(got.Finalizers).To(ContainElement(whv1.TenantFinalizer))
		// Neither an application credential nor a TestEnvironment: the project needs no
		// identity of its own, and gets no Keystone user.
		Expect(got.Status.ServiceUserID).To(BeEmpty())
		Expect(cloud.ServiceUsers()).NotTo(ContainElement(HaveField("ProjectID", p.ID)))
		Expect(cloud.Assignments(p.ID)).To(ConsistOf(
			openstack.Assignment{GroupID: groupID, RoleID: "role-member"},
			openstack.Assignment{UserID: userID, RoleID: "role-reader"},
		))
		Expect(meta.FindStatusCondition(got.Status.Conditions, whv1.ConditionProgressing)).To(PointTo(MatchFields(IgnoreExtras, Fields{
			"Status": Equal(metav1.ConditionFalse), "ObservedGeneration": Equal(got.Generation),
		})))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("Created"))
	})

	It("repairs a project disabled, renamed and stripped of an assignment by hand", func() {
		Eventually(ready(newTenant("drift"))).Should(Not(BeNil()))
		got := get(newTenantRef(ns, "drift"))
		id := got.Status.ProjectID
		cloud.EditProject(id, func(p *openstack.Project) { p.Enabled = false; p.Name = "renamed"; p.Tags = nil })
		Expect(cloud.Revoke(ctx, id, openstack.Assignment{GroupID: groupID, RoleID: "role-member"})).To(Succeed())
		Eventually(func(g Gomega) {
			p := cloud.Project(id)
			g.Expect(p.Enabled).To(BeTrue())
			g.Expect(p.Name).To(Equal(ns + "_drift"))
			g.Expect(p.Tags).To(ConsistOf("hmrc", "self-assessment"))
			g.Expect(cloud.Assignments(id)).To(ContainElement(openstack.Assignment{GroupID: groupID, RoleID: "role-member"}))
		}).Should(Succeed())
	})

	It("makes the listed roles exact, revokes a removed principal, and leaves others alone", func() {
		newTenant("roles")
		Eventually(ready(newTenantRef(ns, "roles"))).Should(Not(BeNil()))
		t := get(newTenantRef(ns, "roles"))
		id := t.Status.ProjectID
		stranger := openstack.Assignment{UserID: "someone-else", RoleID: "role-admin"}
		cloud.GrantDirectly(id, stranger)
		// An extra role on a listed principal is revoked; a removed principal loses all.
		cloud.GrantDirectly(id, openstack.Assignment{GroupID: groupID, RoleID: "role-admin"})
		t.Spec.RoleAssignments = t.Spec.RoleAssignments[:1]
		t.Spec.RoleAssignments[0].Roles = []string{"member", "reader"}
		Expect(k8s.Update(ctx, t)).To(Succeed())
		Eventually(func() []openstack.Assignment { return cloud.Assignments(id) }).Should(ConsistOf(
			openstack.Assignment{GroupID: groupID, RoleID: "role-member"},
			openstack.Assignment{GroupID: groupID, RoleID: "role-reader"},
			stranger,
		))
		Eventually(ready(t)).Should(WithTransform(func(t *whv1.Tenant) []whv1.AppliedRoleAssignment { return t.Status.RoleAssignments },
			ConsistOf(
				whv1.AppliedRoleAssignment{GroupID: groupID, RoleIDs: []string{"role-member", "role-reader"}},
			)))
	})

	It("costs no read of its own and no write per resync when nothing changed", func() {
		newTenant("steady")
		Eventually(ready(newTenantRef(ns, "steady"))).Should(Not(BeNil()))
		id := get(newTenantRef(ns, "steady")).Status.ProjectID
		calls := func(method string) int { return cloud.Calls(method + "/" + id) }
		writes := func() int { return calls("UpdateProject") + calls("Grant") + calls("Revoke") }
		before, listings := writes(), cloud.Calls("ListAllProjects")
		// Several resyncs pass; the cloud's bulk view serves each one's reads (bulk_test.go).
		Eventually(func() int { return cloud.Calls("ListAllProjects") - listings }).WithTimeout(4 * resync).Should(BeNumerically(">=", 2))
		reads, lists := calls("GetProject"), calls("ListAssignments")
		Consistently(func() []int { return []int{calls("GetProject"), calls("ListAssignments"), writes()} }).Should(Equal([]int{reads, lists, before}),
			"an unchanged Tenant must not write to OpenStack, and its reads come from the bulk view")
	})

	It("finds the project it created before a crash lost the ID, and never creates a second", func() {
		newTenant("crash")
		Eventually(ready(newTenantRef(ns, "crash"))).Should(Not(BeNil()))
		t := get(newTenantRef(ns, "crash"))
		id := t.Status.ProjectID
		t.Status.ProjectID = ""
		Expect(k8s.Status().Update(ctx, t)).To(Succeed())
		Eventually(func() string { return get(t).Status.ProjectID }).Should(Equal(id))
		Expect(cloud.ProjectsNamed(ns+"_crash")).To(Equal(1), "Keystone refused the second create; the Tenant found its own")
	})

	It("refuses to take over a project it did not create", func() {
		cloud.AddProject(openstack.Project{Name: ns + "_taken", DomainID: "default", Enabled: true})
		t := newTenant("taken")
		Eventually(condition(t, whv1.ReasonAlreadyExists)).Should(Not(BeNil()))
		Expect(meta.FindStatusCondition(get(t).Status.Conditions, whv1.ConditionReady).Message).To(And(
			ContainSubstring("to adopt it, have the cloud admin hand it over (tag " + whv1.HandoverTagPrefix + ns + ") and set spec.import")))
	})

	It("adopts a project by ID and by name, and applies the spec to it", func() {
		handover := []string{whv1.HandoverTagPrefix + ns}
		byID := cloud.AddProject(openstack.Project{Name: ns + "-legacy-a", DomainID: "default", Enabled: false, Tags: handover})
		cloud.AddProject(openstack.Project{Name: ns + "-legacy-b", DomainID: "default", Enabled: true, Tags: handover})
		newTenant("import-id", func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(byID.ID)} })
		newTenant("import-name", func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{Name: ptr.To(ns + "-legacy-b")} })
		Eventually(ready(newTenantRef(ns, "import-id"))).Should(Not(BeNil()))
		gotA, gotB := get(newTenantRef(ns, "import-id")), get(newTenantRef(ns, "import-name"))
		Expect(gotA.Status.ProjectID).To(Equal(byID.ID))
		Expect(gotA.Status.Adopted).To(BeTrue())
		Expect(gotA.Status.ProjectName).To(Equal(ns + "-legacy-a"))
		Expect(cloud.Project(byID.ID).Enabled).To(BeTrue(), "spec.project.enabled applies to an adopted project")
		Eventually(ready(gotB)).Should(WithTransform(func(t *whv1.Tenant) string { return t.Status.ProjectName }, Equal(ns+"-legacy-b")))
	})

	It("reports an import that does not exist", func() {
		t := newTenant("import-missing", func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{Name: ptr.To("nowhere")} })
		Eventually(condition(t, whv1.ReasonDependencyNotFound)).Should(WithTransform(
			func(c metav1.Condition) string { return c.Message }, ContainSubstring("nowhere")))
	})

	It("reports a group that does not exist", func() {
		t := newTenant("no-group", func(t *whv1.Tenant) { t.Spec.RoleAssignments[0].Group = ptr.To("ghosts") })
		Eventually(condition(t, whv1.ReasonDependencyNotFound)).Should(WithTransform(
			func(c metav1.Condition) string { return c.Message }, ContainSubstring(`group "ghosts"`)))
	})

	It("reports missing credentials and recovers when the Secret appears", func() {
		t := newTenant("late-secret", func(t *whv1.Tenant) { t.Spec.CloudCredentialsRef.SecretName = "later" })
		Eventually(condition(t, whv1.ReasonCredentialsError)).Should(Not(BeNil()))
		Expect(k8s.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"},
			Data:       map[string][]byte{openstack.CloudsYAMLKey: []byte("clouds: {dev: {}}")},
		})).To(Succeed())
		Eventually(ready(t)).Should(Not(BeNil()))
	})

	It("cannot use a Secret of another namespace", func() {
		other := newNamespace() // holds a good Secret; this Tenant's namespace has none
		Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: goodSecret}})).To(Succeed())
		t := newTenant("cross-ns")
		Eventually(condition(t, whv1.ReasonCredentialsError)).Should(Not(BeNil()))
		Expect(other).NotTo(Equal(ns))
	})

	It("shows a transient error while it lasts, then converges", func() {
		cloud.FailNext("CreateProject", &url.Error{Op: "Post", URL: "http://keystone/v3/projects", Err: errors.New("connection reset by peer")})
		t := newTenant("flaky")
		Eventually(ready(t)).Should(Not(BeNil()))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement("Created"))
	})

	It("deletes the project with the Tenant", func() {
		t := newTenant("delete-me")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.Project(id)).To(BeNil())
	})

	It("leaves the project when deletionPolicy is Retain", func() {
		t := newTenant("retain-me", func(t *whv1.Tenant) { t.Spec.DeletionPolicy = whv1.DeletionPolicyRetain })
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.Project(id)).NotTo(BeNil())
	})

	It("refuses to delete a project that still holds servers, volumes or ports, and lists them", func() {
		t := newTenant("busy")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		cloud.SetContents(id, openstack.Contents{Servers: []string{"web-0 (s1)"}, Volumes: []string{"data (v1)"}})
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(condition(t, whv1.ReasonDeletionBlocked)).Should(Not(BeNil()))
		msg := meta.FindStatusCondition(get(t).Status.Conditions, whv1.ConditionReady).Message
		Expect(msg).To(ContainSubstring("1 server(s): web-0 (s1)"))
		Expect(msg).To(ContainSubstring("1 volume(s): data (v1)"))
		Expect(cloud.Project(id)).NotTo(BeNil())
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement(whv1.ReasonDeletionBlocked))

		cloud.SetContents(id, openstack.Contents{})
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.Project(id)).To(BeNil())
	})

	It("finishes deleting the project when the Secret went first, as in a namespace deletion", func() {
		t := newTenant("secret-first")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: goodSecret}})).To(Succeed())
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.Project(id)).To(BeNil())
	})

	It("gives the project a network bundle, repairs it, and removes it before the project", func() {
		t := newTenant("net", func(t *whv1.Tenant) {
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24", ExternalNetwork: ptr.To("public"), DNSNameservers: []string{"10.0.0.2"}}
		})
		Eventually(ready(t)).Should(Not(BeNil()))
		got := get(t)
		Expect(got.Status.Network).NotTo(BeNil())
		bundle := cloud.NetworkBundle(got.Status.ProjectID, ns+"_net")
		Expect(bundle).NotTo(BeNil())
		Expect(*got.Status.Network).To(Equal(whv1.TenantNetworkStatus{CIDR: "10.20.0.0/24", NetworkID: bundle.NetworkID, SubnetID: bundle.SubnetID, RouterID: bundle.RouterID}))
		Expect(bundle.RouterID).NotTo(BeEmpty())

		cloud.DeleteRouterDirectly(got.Status.ProjectID, ns+"_net")
		Eventually(func() string { return get(t).Status.Network.RouterID }).ShouldNot(Or(BeEmpty(), Equal(bundle.RouterID)))

		// The router's own interface port is the operator's: it does not block deletion.
		routerID := get(t).Status.Network.RouterID
		cloud.SetContents(got.Status.ProjectID, openstack.Contents{Ports: []string{routerID + "/interface"}})
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.NetworkBundle(got.Status.ProjectID, ns+"_net")).To(BeNil())
		Expect(cloud.Project(got.Status.ProjectID)).To(BeNil())
	})

	It("lists every kind of department data left in DeletionBlocked, by kind and count", func() {
		t := newTenant("data-left")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		cloud.SetContents(id, openstack.Contents{
			Snapshots: []string{"nightly (sn1)"}, Backups: []string{"weekly (b1)"}, Images: []string{"golden (i1)", "golden-2 (i2)"},
			FloatingIPs: []string{"172.24.4.9 (f1)"}, Containers: []string{"returns"}, Routers: []string{"edge (r9)"},
			SecurityGroups: []string{"web (g1)"},
		})
		handMade := cloud.AddNetworkDirectly(id, "department-net", "10.9.0.0/24")
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(condition(t, whv1.ReasonDeletionBlocked)).Should(Not(BeZero()))
		c := meta.FindStatusCondition(get(t).Status.Conditions, whv1.ConditionReady)
		for _, want := range []string{"1 volume snapshot(s): nightly (sn1)", "1 volume backup(s): weekly (b1)", "2 image(s): golden (i1), golden-2 (i2)",
			"1 floating IP(s): 172.24.4.9 (f1)", "1 object container(s): returns", "1 network(s): department-net (" + handMade.NetworkID + ")",
			"1 router(s): edge (r9)", "1 security group(s): web (g1)"} {
			Expect(c.Message).To(ContainSubstring(want))
		}
		Expect(cloud.Project(id)).NotTo(BeNil())
		Expect(cloud.NetworkBundle(id, "department-net")).NotTo(BeNil(), "a department's network is never deleted")

		cloud.SetContents(id, openstack.Contents{})
		cloud.RemoveNetworkDirectly(id, "department-net")
		Eventually(gone(t)).Should(BeTrue())
		Expect(cloud.Project(id)).To(BeNil())
	})

	It("does not adopt a network named like its bundle with another CIDR (NetworkConflict), and changes nothing", func() {
		t := newTenant("conflict")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		handMade := cloud.AddNetworkDirectly(id, ns+"_conflict", "10.9.0.0/24")
		calls := cloud.Calls("EnsureNetworkBundle")

		got := get(t)
		got.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24", ExternalNetwork: ptr.To("public")}
		Expect(k8s.Update(ctx, got)).To(Succeed())
		Eventually(condition(t, whv1.ReasonNetworkConflict)).Should(Not(BeZero()))
		cond := meta.FindStatusCondition(get(t).Status.Conditions, whv1.ConditionReady)
		Expect(cond.Status).To(Equal(metav1.ConditionFalse))
		Expect(cond.Message).To(And(ContainSubstring(handMade.NetworkID), ContainSubstring("10.9.0.0/24"), ContainSubstring("10.20.0.0/24")))
		Expect(cloud.Calls("EnsureNetworkBundle")).To(BeNumerically(">", calls))
		Expect(cloud.NetworkBundle(id, ns+"_conflict")).To(PointTo(Equal(handMade)), "the department's network is unchanged")
		Expect(get(t).Status.Network).To(PointTo(Equal(whv1.TenantNetworkStatus{CIDR: "10.20.0.0/24"})), "only the range asked for: nothing of the network is recorded as the Tenant's")

		// The Tenant goes; the department's network stays, and holds the project.
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(condition(t, whv1.ReasonDeletionBlocked)).Should(HaveField("Message", ContainSubstring("1 network(s): "+ns+"_conflict")))
		cloud.RemoveNetworkDirectly(id, ns+"_conflict")
		Eventually(gone(t)).Should(BeTrue())
	})

	It("uses a department's network that matches exactly, and never deletes it", func() {
		t := newTenant("exact")
		Eventually(ready(t)).Should(Not(BeNil()))
		id := get(t).Status.ProjectID
		handMade := cloud.AddNetworkDirectly(id, ns+"_exact", "10.20.0.0/24")
		got := get(t)
		got.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24"}
		Expect(k8s.Update(ctx, got)).To(Succeed())
		Eventually(func(g Gomega) *whv1.TenantNetworkStatus { return ready(t)(g).Status.Network }).Should(PointTo(Equal(whv1.TenantNetworkStatus{
			CIDR: "10.20.0.0/24", NetworkID: handMade.NetworkID, SubnetID: handMade.SubnetID, Adopted: []string{"network", "subnet"},
		})))
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(condition(t, whv1.ReasonDeletionBlocked)).Should(HaveField("Message", ContainSubstring("1 network(s)")))
		Expect(cloud.NetworkBundle(id, ns+"_exact")).NotTo(BeNil())
		cloud.RemoveNetworkDirectly(id, ns+"_exact")
		Eventually(gone(t)).Should(BeTrue())
	})

	It("clears the gateway and keeps the router when externalNetwork is removed", func() {
		t := newTenant("no-gateway", func(t *whv1.Tenant) {
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24", ExternalNetwork: ptr.To("public")}
		})
		Eventually(ready(t)).Should(Not(BeNil()))
		before := get(t).Status
		Expect(before.Network.RouterID).NotTo(BeEmpty())
		Expect(cloud.RouterGateway(before.ProjectID, ns+"_no-gateway")).To(Equal("net-public"))

		edit := get(t)
		edit.Spec.Network.ExternalNetwork = nil
		Expect(k8s.Update(ctx, edit)).To(Succeed())
		Eventually(func() string { return cloud.RouterGateway(before.ProjectID, ns+"_no-gateway") }).Should(BeEmpty())
		Eventually(ready(t)).Should(HaveField("Status.Network.RouterID", Equal(before.Network.RouterID)))
		Expect(cloud.NetworkBundle(before.ProjectID, ns+"_no-gateway").RouterID).To(Equal(before.Network.RouterID))
	})

	It("gives a project recreated by hand a new network bundle", func() {
		t := newTenant("recreated", func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24"} })
		Eventually(ready(t)).Should(Not(BeNil()))
		before := get(t).Status
		Expect(cloud.DeleteProject(ctx, before.ProjectID)).To(Succeed())
		// A resync notices; a change to the spec brings it at once.
		edit := get(t)
		edit.Spec.Project.Description = ptr.To("recreated")
		Expect(k8s.Update(ctx, edit)).To(Succeed())
		Eventually(func(g Gomega) string { return ready(t)(g).Status.ProjectID }).ShouldNot(Equal(before.ProjectID))
		after := get(t).Status
		Expect(after.Network.NetworkID).NotTo(Equal(before.Network.NetworkID))
		Expect(cloud.NetworkBundle(after.ProjectID, ns+"_recreated")).To(PointTo(HaveField("NetworkID", after.Network.NetworkID)))
	})

	It("lets a Tenant go whose credentials never worked", func() {
		t := newTenant("never-worked", func(t *whv1.Tenant) { t.Spec.CloudCredentialsRef.SecretName = "missing" })
		Eventually(condition(t, whv1.ReasonCredentialsError)).Should(Not(BeNil()))
		Expect(k8s.Delete(ctx, t)).To(Succeed())
		Eventually(gone(t)).Should(BeTrue())
	})
})

func newTenantRef(ns, name string) *whv1.Tenant {
	return &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
}

// eventReasons lists the reasons of the events recorded in a namespace.
func eventReasons(g Gomega, ns string) []string {
	var list eventsv1.EventList
	g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
	out := make([]string, 0, len(list.Items))
	for _, e := range list.Items {
		out = append(out, e.Reason)
	}
	return out
}
