package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	gtypes "github.com/onsi/gomega/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The namespace is the department's boundary (DESIGN.md, "Isolation"): these specs try,
// as a department would, to reach beyond it, and check what Kubernetes shows the user
// and what OpenStack really holds.

var _ = Describe("department isolation: a namespace the Cloud does not admit", Ordered, func() {
	const ns = "iso-outsider"

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, ns+"_stray")).To(Succeed())
		kubectl("create", "namespace", ns) // no department label
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--timeout=120s") })
	})

	It("refuses a Tenant there with NamespaceNotAllowed and creates nothing in OpenStack, until the platform team labels the namespace", func() {
		apply(tenantYAML(ns, "stray", ""))
		Eventually(isoReady(ns, "stray")).Should(isoRefused(whv1.ReasonNamespaceNotAllowed,
			`Cloud "whitehall" does not admit namespace `+ns))
		// Several resyncs: it stays refused, and nothing appears in Keystone.
		Consistently(isoReady(ns, "stray")).WithTimeout(3 * resyncPeriod).WithPolling(time.Second).
			Should(HaveField("Reason", whv1.ReasonNamespaceNotAllowed))
		Expect(admin.FindProject(ctx, ns+"_stray")).To(BeEmpty(), "no project by the default name")
		t := isoTenant(ns, "stray")
		Expect(t.Status.ProjectID).To(BeEmpty())
		Expect(t.Status.ServiceUserID).To(BeEmpty())
		var stores corev1.SecretList
		Expect(k8s.List(ctx, &stores, client.InNamespace(operatorNamespace), client.MatchingLabels{"whitehall.cloud/tenant-namespace": ns})).To(Succeed())
		Expect(stores.Items).To(BeEmpty(), "no project identity is made for a namespace the Cloud does not admit")
		Expect(kubectl("-n", ns, "get", "tenant", "stray")).To(MatchRegexp(`stray\s+False\s+NamespaceNotAllowed`))

		By("labelling the namespace as a department: the Tenant is admitted at once")
		kubectl("label", "namespace", ns, "whitehall.cloud/department=true")
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/stray", "--timeout=60s")
		id := isoTenant(ns, "stray").Status.ProjectID
		Expect(admin.GetProject(ctx, id)).To(HaveField("Name", ns+"_stray"))
		kubectl("-n", ns, "delete", "tenant", "stray", "--timeout=60s")
		Expect(admin.GetProject(ctx, id)).To(BeNil())
	})
})

var _ = Describe("department isolation: another department's project", Ordered, func() {
	const (
		nsA = "iso-a"
		nsB = "iso-b"
	)
	var (
		owner  *whv1.Tenant
		before isoProjectView // A's project as A's Tenant made it
		adminP isoProjectView // the cloud's admin project
	)
	// unchanged: A's project and admin are as they were, over a few resyncs.
	unchanged := func() {
		Consistently(func(g Gomega) []isoProjectView {
			return []isoProjectView{isoProject(g, before.ID), isoProject(g, adminP.ID)}
		}).WithTimeout(2 * resyncPeriod).WithPolling(time.Second).Should(Equal([]isoProjectView{before, adminP}))
	}
	refusedAndEmpty := func(name string) {
		t := isoTenant(nsB, name)
		Expect(t.Status.ProjectID).To(BeEmpty(), "%s records no project", name)
		Expect(t.Status.Adopted).To(BeFalse())
		Expect(t.Status.ServiceUserID).To(BeEmpty(), "%s got no identity in a project it does not own", name)
	}

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, nsA+"_owner")).To(Succeed())
		departmentNamespace(nsA)
		departmentNamespace(nsB)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", nsA, nsB, "--timeout=180s") })
		apply(tenantYAML(nsA, "owner", "project: {description: Department A's service, tags: [iso-a]}"))
		kubectl("-n", nsA, "wait", "--for=condition=Ready", "tenant/owner", "--timeout=120s")
		owner = isoTenant(nsA, "owner")
		before = isoProject(Default, owner.Status.ProjectID)
		Expect(before.Name).To(Equal(nsA + "_owner"))
		Expect(before.Owner).To(Equal([3]string{string(owner.UID), nsA, "owner"}), "Keystone records the owning Tenant and its namespace")
		id, err := admin.FindProject(ctx, "admin")
		Expect(err).NotTo(HaveOccurred())
		Expect(id).NotTo(BeEmpty())
		adminP = isoProject(Default, id)
	})

	It("refuses to import A's project by ID (AlreadyOwned), and changes nothing in it", func() {
		// Explicit Delete: the worst case, a Tenant that would delete what it imported.
		apply(tenantYAML(nsB, "grab-by-id", fmt.Sprintf("import: {id: %s}\n  deletionPolicy: Delete\n  project: {description: taken over, tags: [iso-b]}", before.ID)))
		Eventually(isoReady(nsB, "grab-by-id")).Should(isoRefused(whv1.ReasonAlreadyOwned, "belongs to another Tenant; it cannot be imported"))
		Expect(isoReady(nsB, "grab-by-id")(Default).Message).NotTo(Or(ContainSubstring(nsA), ContainSubstring(string(owner.UID))),
			"the refusal does not tell B which department owns it")
		unchanged()
		refusedAndEmpty("grab-by-id")
	})

	It("refuses to import the protected project admin (ProjectProtected)", func() {
		apply(tenantYAML(nsB, "grab-admin", "import: {name: admin}\n  deletionPolicy: Delete\n  project: {description: taken over, tags: [iso-b]}"))
		Eventually(isoReady(nsB, "grab-admin")).Should(isoRefused(whv1.ReasonProjectProtected, "is protected by the Cloud"))
		unchanged()
		refusedAndEmpty("grab-admin")
	})

	It("refuses to manage a project by A's project name (AlreadyOwned)", func() {
		apply(tenantYAML(nsB, "grab-by-name", fmt.Sprintf("project: {name: %s, description: taken over, tags: [iso-b], enabled: false}\n  deletionPolicy: Delete", before.Name)))
		Eventually(isoReady(nsB, "grab-by-name")).Should(isoRefused(whv1.ReasonAlreadyOwned, "belongs to another Tenant; choose another spec.project.name"))
		// B chose the name, so the message may repeat it; it names no Tenant of A.
		Expect(isoReady(nsB, "grab-by-name")(Default).Message).NotTo(Or(ContainSubstring(nsA+"/"), ContainSubstring(string(owner.UID))))
		unchanged()
		refusedAndEmpty("grab-by-name")
	})

	It("deletes B's Tenants without touching A's project, and A's Tenant stays Ready", func() {
		kubectl("-n", nsB, "delete", "tenants", "--all", "--timeout=120s")
		unchanged()
		Expect(isoReady(nsA, "owner")(Default)).To(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonReady)))
		// A's Tenant needs no identity of its own (no application credential, no
		// TestEnvironment), so its project holds no assignment at all.
		Expect(admin.Assignments(ctx, before.ID)).To(BeEmpty(), "nothing was granted on A's project")

		By("deleting A's Tenant: its own project goes")
		kubectl("-n", nsA, "delete", "tenant", "owner", "--timeout=120s")
		Expect(admin.GetProject(ctx, before.ID)).To(BeNil())
		Expect(admin.GetProject(ctx, adminP.ID)).NotTo(BeNil())
	})
})

var _ = Describe("department isolation: a project handed over by the cloud admin", Ordered, func() {
	const (
		ns      = "iso-handover"
		project = "iso-handed-over"
	)
	var id string

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, project)).To(Succeed())
		departmentNamespace(ns)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--timeout=120s") })
		var err error
		id, err = admin.CreateProject(ctx, project)
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(deleteLeftoverProjects(ctx, project)).To(Succeed()) })
	})

	It("refuses the import until the project is tagged for the namespace, then adopts it and keeps it when the Tenant goes", func() {
		// With an application credential, so the adopted project gets an identity of its own.
		apply(tenantYAML(ns, "adopter", "import: {name: "+project+"}\n  applicationCredential: {secretName: adopter-openstack}"))
		Eventually(isoReady(ns, "adopter")).Should(isoRefused(whv1.ReasonImportNotAllowed,
			"was not handed over to namespace "+ns+": the cloud admin tags it "+whv1.HandoverTagPrefix+ns))
		untouched := isoProject(Default, id)
		Expect(untouched.Owner).To(Equal([3]string{}), "nothing was recorded on the project")
		Expect(untouched.Tags).To(BeEmpty())

		By("checking that Keystone forbids '/' in a tag (hence the ':' in " + whv1.HandoverTagPrefix + ")")
		err := admin.SetProjectTags(ctx, id, []string{"whitehall.cloud/handover=" + ns})
		Expect(gophercloud.ResponseCodeIs(err, 400)).To(BeTrue(), "Keystone accepted or failed otherwise on a tag with '/': %v", err)

		By("handing the project over, as the cloud admin does")
		Expect(admin.SetProjectTags(ctx, id, []string{whv1.HandoverTagPrefix + ns})).To(Succeed())
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/adopter", "--timeout=60s")
		t := isoTenant(ns, "adopter")
		Expect(t.Status.ProjectID).To(Equal(id))
		Expect(t.Status.Adopted).To(BeTrue())
		Expect(isoProject(Default, id).Owner).To(Equal([3]string{string(t.UID), ns, "adopter"}), "the new owner is recorded in Keystone")
		Expect(kubectl("-n", ns, "get", "events", "--field-selector", "reason=Adopted")).To(ContainSubstring("handed over to namespace " + ns))
		serviceUser := t.Status.ServiceUserID
		Expect(serviceUser).NotTo(BeEmpty())

		By("deleting the Tenant without a deletionPolicy: an imported project is retained")
		kubectl("-n", ns, "delete", "tenant", "adopter", "--timeout=120s")
		p := isoProject(Default, id)
		Expect(p.Name).To(Equal(project), "the handed-over project is still in Keystone")
		Expect(admin.UserExists(ctx, serviceUser)).To(BeFalse(), "the project's service user went with the Tenant")
	})
})

var _ = Describe("department isolation: a department namespace, from its credentials to its deletion", Ordered, func() {
	const (
		ns     = "iso-dept"
		tenant = "dept"
		grace  = 20 * time.Second
	)
	var (
		t          *whv1.Tenant
		projectID  string
		authURL    string
		cloudsFile string // the department's clouds.yaml, as its tools would mount it
	)
	servers := func(prefix string) func(Gomega) map[string]string {
		return func(g Gomega) map[string]string {
			list, err := admin.ProjectServers(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			out := map[string]string{}
			for _, s := range list {
				if strings.HasPrefix(s.Name, prefix) {
					out[s.Name] = s.Status
				}
			}
			return out
		}
	}
	credential := func(g Gomega) isoAppCred {
		s := &corev1.Secret{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s)).To(Succeed())
		return isoReadAppCred(g, s.Data["clouds.yaml"])
	}

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, ns+"_"+tenant)).To(Succeed())
		departmentNamespace(ns)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=300s") })
		apply(tenantYAML(ns, tenant, "network: {cidr: 10.91.0.0/24}\n  applicationCredential: {secretName: openstack, roles: [member], gracePeriod: 20s}") +
			fmt.Sprintf(`---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  tenantRef: {name: %[1]s}
  baseline: {compute: {instances: 4, cores: 4, ramMiB: 4096}, network: {ports: 30}}
`, tenant, ns))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+tenant, "--timeout=120s")
		kubectl("-n", ns, "wait", "--for=condition=Ready", "computequota/"+tenant, "--timeout=60s")
		t = isoTenant(ns, tenant)
		projectID = t.Status.ProjectID
		Expect(t.Status.ServiceUserID).NotTo(BeEmpty())
		Expect(t.Status.Network).NotTo(BeNil())
		cloud := &whv1.Cloud{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "whitehall"}, cloud)).To(Succeed())
		authURL = cloud.Status.AuthURL
		Expect(authURL).NotTo(BeEmpty())
		cloudsFile = filepath.Join(GinkgoT().TempDir(), "clouds.yaml")
	})

	AfterEach(func() {
		if CurrentSpecReport().Failed() {
			out, _ := tryKubectl("-n", ns, "get", "events", "--sort-by=.lastTimestamp", "-o", "custom-columns=TIME:.lastTimestamp,REASON:.reason,OBJECT:.involvedObject.name,MESSAGE:.message")
			GinkgoWriter.Printf("events of %s:\n%s\n", ns, out)
			AddReportEntry("events of "+ns, out)
		}
	})

	It("writes a clouds.yaml for the department that works for its project with openstackclient, and for no admin call", func() {
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s)).To(Succeed())
		Expect(metav1.IsControlledBy(s, t)).To(BeTrue(), "the Secret goes with its Tenant")
		Expect(s.Data).To(HaveKey("clouds.yaml"))
		cred := isoReadAppCred(Default, s.Data["clouds.yaml"])
		Expect(cred.ID).To(Equal(t.Status.ApplicationCredential.ID))
		Expect(cred.AuthURL).To(Equal(authURL))
		Expect(os.WriteFile(cloudsFile, s.Data["clouds.yaml"], 0o600)).To(Succeed())
		isoCanary("the application credential secret "+cred.ID, cred.Secret)
		// What the department reads once the Tenant is Ready keeps working: the operator
		// must not replace it behind the department's back (a second reconcile that read
		// a stale Tenant would make another credential and delete this one at once).
		Consistently(func() error { return admin.ApplicationCredentialWorks(ctx, authURL, cred.ID, cred.Secret) }).
			WithTimeout(2*resyncPeriod).WithPolling(time.Second).Should(Succeed(),
			"the credential in Secret openstack stopped working after the Tenant was Ready")
		Expect(credential(Default).ID).To(Equal(cred.ID), "the Secret was switched to another credential without a rotation")

		out, err := isoOpenstack(cloudsFile, "server", "list", "-f", "value")
		Expect(err).NotTo(HaveOccurred(), "openstack --os-cloud whitehall server list: %s", out)
		out, err = isoOpenstack(cloudsFile, "network", "list", "-f", "value", "-c", "ID")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(out).To(ContainSubstring(t.Status.Network.NetworkID), "the department sees its own network")
		out, err = isoOpenstack(cloudsFile, "project", "list", "-f", "value", "-c", "ID")
		Expect(err).NotTo(HaveOccurred(), out)
		Expect(strings.Fields(out)).To(Equal([]string{projectID}), "the credential sees its own project and no other")

		for _, call := range [][]string{
			{"user", "list"},
			{"server", "list", "--all-projects"},
			{"role", "assignment", "list", "--project", projectID},
			{"quota", "set", "--cores", "1000", projectID},
		} {
			out, err := isoOpenstack(cloudsFile, call...)
			Expect(err).To(HaveOccurred(), "openstack %s succeeded with the department's credential: %s", strings.Join(call, " "), out)
			Expect(out).To(MatchRegexp(`(?i)HTTP 403|not authorized|policy doesn't allow`), "openstack %s", strings.Join(call, " "))
		}

		By("deleting the Secret by hand: the operator writes it again")
		kubectl("-n", ns, "delete", "secret", "openstack")
		Eventually(credential).WithTimeout(4 * resyncPeriod).Should(HaveField("ID", cred.ID))
	})

	It("rotates the credential when the rotate annotation changes: the old one works for the grace period, then is gone in Keystone", func() {
		old := credential(Default)
		Expect(admin.ApplicationCredentialWorks(ctx, authURL, old.ID, old.Secret)).To(Succeed())

		kubectl("-n", ns, "annotate", "tenant", tenant, whv1.RotateAnnotation+"=1", "--overwrite")
		var st *whv1.ApplicationCredentialStatus
		Eventually(func(g Gomega) string {
			st = isoTenant(ns, tenant).Status.ApplicationCredential
			g.Expect(st).NotTo(BeNil())
			return st.ID
		}).WithTimeout(30 * time.Second).WithPolling(200 * time.Millisecond).ShouldNot(Equal(old.ID))
		Expect(st.Rotation).To(Equal("1"))
		Expect(st.Retiring).To(ConsistOf(HaveField("ID", old.ID)))
		deleteAt := st.Retiring[0].DeleteAt.Time
		Expect(deleteAt).To(BeTemporally("~", time.Now().Add(grace), 5*time.Second))

		var current isoAppCred
		Eventually(func(g Gomega) string { current = credential(g); return current.ID }).Should(Equal(st.ID), "the Secret holds the new credential")
		isoCanary("the application credential secret "+current.ID, current.Secret)
		Expect(admin.ApplicationCredentialWorks(ctx, authURL, current.ID, current.Secret)).To(Succeed())
		Expect(time.Now()).To(BeTemporally("<", deleteAt.Add(-2*time.Second)), "too slow to check the old credential within its grace")
		Expect(admin.ApplicationCredentialWorks(ctx, authURL, old.ID, old.Secret)).To(Succeed(), "the old credential works during the grace period")
		Expect(os.WriteFile(cloudsFile, []byte(credential(Default).raw), 0o600)).To(Succeed())

		Eventually(func() error { return admin.ApplicationCredentialWorks(ctx, authURL, old.ID, old.Secret) }).
			WithTimeout(grace+time.Minute).WithPolling(time.Second).Should(HaveOccurred(), "the old credential still logs in")
		refused := time.Now()
		AddReportEntry("old application credential refused, after its deleteAt, by", refused.Sub(deleteAt).Round(100*time.Millisecond).String())
		Expect(refused).To(BeTemporally(">=", deleteAt.Add(-time.Second)), "the old credential went before its grace period ended")
		Expect(applicationCredentialExists(ctx, t.Status.ServiceUserID, old.ID)).To(BeFalse(), "the old credential is gone from Keystone")
		rotations := kubectl("-n", ns, "get", "events", "--field-selector", "reason=CredentialRotated", "-o", "custom-columns=TIME:.firstTimestamp,MESSAGE:.message")
		deletions := kubectl("-n", ns, "get", "events", "--field-selector", "reason=CredentialDeleted", "-o", "custom-columns=TIME:.firstTimestamp,MESSAGE:.message")
		GinkgoWriter.Printf("rotations:\n%s\ndeletions:\n%s\n", rotations, deletions)
		Expect(strings.Count(rotations, " rotated on request")).To(Equal(1), "one annotation change makes one new credential:\n%s", rotations)
		Expect(strings.Count(rotations, "Application credential ")).To(Equal(2),
			"one credential made with the Tenant and one for the rotation, no other:\n%s", rotations)
		Expect(isoTenant(ns, tenant).Status.ApplicationCredential.ID).To(Equal(current.ID), "the credential switched to again")
		Expect(applicationCredentialExists(ctx, t.Status.ServiceUserID, current.ID)).To(BeTrue(), "the credential the Secret switched to is in Keystone")
		Eventually(func() []whv1.RetiringCredential { return isoTenant(ns, tenant).Status.ApplicationCredential.Retiring }).Should(BeEmpty())
		Expect(isoReady(ns, tenant)(Default)).To(HaveField("Status", metav1.ConditionTrue))
		out, err := isoOpenstack(cloudsFile, "server", "list")
		Expect(err).NotTo(HaveOccurred(), "the rotated Secret works with openstackclient: %s", out)
	})

	It("refuses user data from a Secret not labelled for it (UserDataNotAllowed), and boots nothing", func() {
		kubectl("-n", ns, "create", "secret", "generic", "plain", "--from-literal=user-data=#cloud-config")
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: iso-userdata, namespace: %s}
spec:
  tenantRef: {name: %s}
  replicas: 1
  template: {flavor: m1.tiny, image: cirros, userDataSecretRef: {name: plain, key: user-data}}
`, ns, tenant))
		Eventually(func(g Gomega) metav1.Condition {
			env := &whv1.TestEnvironment{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "iso-userdata"}, env)).To(Succeed())
			c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}).Should(isoRefused(whv1.ReasonUserDataNotAllowed, `Secret "plain" is not labelled whitehall.cloud/user-data: "true"`))
		Expect(servers("iso-userdata-")(Default)).To(BeEmpty())
		kubectl("-n", ns, "delete", "testenvironment", "iso-userdata", "--timeout=60s")
	})

	It("boots servers with the project's own identity: the operator's admin user holds no role on the project", func() {
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: burst, namespace: %s}
spec:
  tenantRef: {name: %s}
  replicas: 2
  template: {flavor: m1.tiny, image: cirros}
`, ns, tenant))
		start := time.Now()
		Eventually(servers("burst-")).WithTimeout(4 * time.Minute).Should(Equal(map[string]string{"burst-0": "ACTIVE", "burst-1": "ACTIVE"}))
		AddReportEntry("2 servers ACTIVE after", time.Since(start).Round(time.Second).String())
		kubectl("-n", ns, "wait", "--for=condition=Ready", "testenvironment/burst", "--timeout=60s")

		adminID, err := admin.CurrentUserID(ctx)
		Expect(err).NotTo(HaveOccurred())
		Expect(admin.UserRoleAssignments(ctx, adminID, projectID)).To(BeEmpty(), "the admin user holds a role on a department project")
		Expect(admin.Assignments(ctx, projectID)).To(ConsistOf("user:whitehall-project-"+projectID+":member"),
			"the project's service user is the only one the operator granted anything")
		Expect(serverCreators(ctx, projectID, "burst-")).To(Equal(map[string]string{
			"burst-0": t.Status.ServiceUserID, "burst-1": t.Status.ServiceUserID,
		}), "Nova records the project's service user as the creator of each server")
	})

	It("writes no credential value into a log, an event or a status", func() {
		store := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "whitehall-tenant-" + string(t.UID)}, store)).To(Succeed())
		Expect(store.Data).To(HaveKey("password"))
		isoCanary("the service user's password of Tenant "+ns+"/"+tenant, string(store.Data["password"]))

		By("checking that no Secret of the department holds the service user's password or an admin login")
		var secrets corev1.SecretList
		Expect(k8s.List(ctx, &secrets, client.InNamespace(ns))).To(Succeed())
		for _, s := range secrets.Items {
			for key, v := range s.Data {
				Expect(strings.Contains(string(v), string(store.Data["password"]))).To(BeFalse(), "Secret %s key %s holds the service user's password", s.Name, key)
				Expect(string(v)).NotTo(ContainSubstring("password:"), "Secret %s key %s holds a password login", s.Name, key)
			}
		}
		expectNoCredentialLeak()
	})

	It("deletes the namespace with everything in it within minutes, and leaves nothing in OpenStack", func() {
		t = isoTenant(ns, tenant)
		network := t.Status.Network.NetworkID
		serviceUser := t.Status.ServiceUserID
		credentialID := t.Status.ApplicationCredential.ID
		Expect(servers("burst-")(Default)).To(HaveLen(2))

		start := time.Now()
		kubectl("delete", "namespace", ns, "--wait=false")
		Eventually(func(g Gomega) {
			err := k8s.Get(ctx, client.ObjectKey{Name: ns}, &corev1.Namespace{})
			if err == nil {
				left, _ := tryKubectl("-n", ns, "get", "whitehall,secrets", "-o", "custom-columns=KIND:.kind,NAME:.metadata.name,READY:.status.conditions[?(@.type=='Ready')].reason")
				g.Expect(err).To(HaveOccurred(), "namespace %s still there after %s, holding:\n%s", ns, time.Since(start).Round(time.Second), left)
			}
			g.Expect(apierrors.IsNotFound(err)).To(BeTrue(), "%v", err)
		}).WithTimeout(5 * time.Minute).WithPolling(time.Second).Should(Succeed())
		took := time.Since(start)
		AddReportEntry("department namespace deletion took", took.Round(time.Second).String())
		GinkgoWriter.Printf("namespace %s (Tenant with network and application credential, ComputeQuota, TestEnvironment with 2 servers) deleted in %s\n",
			ns, took.Round(time.Second))

		Expect(servers("")(Default)).To(BeEmpty(), "servers left in the project")
		Expect(admin.NetworkExists(ctx, network)).To(BeFalse())
		Expect(admin.NetworkResources(ctx, projectID)).To(BeEmpty(), "Neutron resources left in the project")
		Expect(admin.UserExists(ctx, serviceUser)).To(BeFalse(), "the project's service user is gone")
		Expect(applicationCredentialExists(ctx, serviceUser, credentialID)).To(BeFalse())
		Expect(admin.GetProject(ctx, projectID)).To(BeNil(), "the project is gone")
		err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "whitehall-tenant-" + string(t.UID)}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "the identity store in %s is gone: %v", operatorNamespace, err)
	})
})

var _ = Describe("department isolation: input that could hurt other departments", Ordered, func() {
	const ns = "iso-admission"

	BeforeAll(func() {
		// As the chart installs them (admissionPolicies.enabled); applying twice is harmless.
		kubectl("apply", "-f", filepath.Join(repoRoot, "config", "admission", "policies.yaml"))
		departmentNamespace(ns)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--timeout=120s") })
		// A ValidatingAdmissionPolicy is enforced a moment after it is made: wait for both,
		// with dry runs, so that nothing is created before they are.
		for _, probe := range []string{tenantYAML(ns, isoLongName(ns, 65), ""), isoSneakySecret(ns)} {
			Eventually(func() error {
				_, err := tryKubectl("apply", "--dry-run=server", "-f", isoManifest(probe))
				return err
			}).WithTimeout(30*time.Second).Should(HaveOccurred(), "the admission policies are not enforced")
		}
	})

	DescribeTable("is refused by kubectl apply with a message that says why",
		func(doc, message string) {
			out, err := isoTryApply(doc)
			Expect(err).To(HaveOccurred(), "kubectl apply accepted it: %s", out)
			Expect(out).To(ContainSubstring(message))
		},
		Entry("a ttl that overflows a duration", isoEnvYAML(ns, "forever", "  ttl: 9999999999h\n"), "ttl must be more than 0s and at most 8760h (a year)"),
		Entry("a ttl beyond a year", isoEnvYAML(ns, "long", "  ttl: 8761h\n"), "ttl must be more than 0s and at most 8760h (a year)"),
		Entry("user data from a clouds.yaml key", isoEnvYAML(ns, "steal", "  template: {flavor: m1.tiny, image: cirros, userDataSecretRef: {name: openstack, key: clouds.yaml}}\n"),
			"userDataSecretRef cannot name a clouds.yaml key: credentials never become user data"),
		Entry("a user-data Secret holding a clouds.yaml", isoSneakySecret(ns), "a Secret labelled whitehall.cloud/user-data=true cannot hold a clouds.yaml key"),
		Entry("a PeakSeason rampUp that overflows a duration", `apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: iso-forever}
spec:
  windows: [{yearly: {from: "01-02", to: "02-01"}}]
  rampUp: 9999999999h
`, "rampUp must be at most 2160h (90 days)"),
		Entry("a PeakSeason rampDown that overflows a duration", `apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: iso-forever}
spec:
  windows: [{yearly: {from: "01-02", to: "02-01"}}]
  rampDown: 9999999999h
`, "rampDown must be at most 2160h (90 days)"),
		Entry("a Tenant whose default project name is longer than Keystone allows",
			tenantYAML(ns, isoLongName(ns, 65), ""), "the default project name "+ns+"_"+isoLongName(ns, 65)+" is longer than the 64 characters Keystone allows: set spec.project.name"),
	)

	It("accepts a Tenant whose default project name is exactly 64 characters", func() {
		kubectl("apply", "--dry-run=server", "-f", isoManifest(tenantYAML(ns, isoLongName(ns, 64), "")))
	})

	It("refuses roles beyond --grantable-roles before any OpenStack call (RoleNotAllowed)", func() {
		Expect(deleteLeftoverProjects(ctx, ns+"_greedy")).To(Succeed())
		apply(tenantYAML(ns, "greedy", "applicationCredential: {secretName: openstack, roles: [admin]}"))
		Eventually(isoReady(ns, "greedy")).Should(isoRefused(whv1.ReasonRoleNotAllowed, "role(s) admin may not be granted by this operator"))
		Expect(admin.FindProject(ctx, ns+"_greedy")).To(BeEmpty())
		err := k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "no credential Secret: %v", err)
		kubectl("-n", ns, "delete", "tenant", "greedy", "--timeout=60s")
	})

	It("still reconciles TestEnvironments in every namespace: nothing refused reached the operator's watches", func() {
		Expect(manager.ProcessState).To(BeNil(), "the operator is still running")
		// The attack broke the list of every TestEnvironment: a list now works,
		// and an environment is still reconciled (here: refused for its missing Tenant).
		apply(isoEnvYAML(ns, "orphan", "  ttl: 1h\n"))
		Eventually(func(g Gomega) string {
			env := &whv1.TestEnvironment{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "orphan"}, env)).To(Succeed())
			c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return c.Reason
		}).ShouldNot(BeEmpty())
		kubectl("-n", ns, "delete", "testenvironment", "orphan", "--timeout=60s")
	})
})

// departmentNamespace makes a namespace that the Cloud whitehall admits: labelled
// whitehall.cloud/department=true, holding no credentials.
func departmentNamespace(name string) {
	apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels: {whitehall.cloud/department: "true"}
`, name))
}

// leakCanaries are credential values the specs have seen (what → value): none may ever
// appear in a log, an event or a status. See expectNoCredentialLeak.
var leakCanaries = map[string]string{}

// isoCanary records a credential value to look for.
func isoCanary(what, value string) {
	Expect(len(value)).To(BeNumerically(">=", 16), "%s is too short to look for", what)
	leakCanaries[what] = value
}

// expectNoCredentialLeak fails if any credential value the specs have seen so far is in a
// log of the operator (every run in this suite), in an event, or in the status of any
// whitehall object — as it is, or base64-encoded as in a Secret's data.
func expectNoCredentialLeak() {
	if len(leakCanaries) == 0 {
		return
	}
	places := map[string]string{
		"an event":                  kubectl("get", "events", "-A", "-o", "yaml"),
		"a whitehall object":        kubectl("get", "whitehall", "-A", "-o", "yaml"),
		"an events.k8s.io/v1 event": kubectl("get", "events.v1.events.k8s.io", "-A", "-o", "yaml"),
	}
	files, err := filepath.Glob(filepath.Join(repoRoot, ".local", "e2e", "manager-*.log"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty(), "no log of the operator to check")
	for _, f := range files {
		data, err := os.ReadFile(f)
		Expect(err).NotTo(HaveOccurred())
		places["the log "+filepath.Base(f)] = string(data)
	}
	for _, what := range slices.Sorted(maps.Keys(leakCanaries)) {
		value := leakCanaries[what]
		for _, form := range []string{value, base64.StdEncoding.EncodeToString([]byte(value))} {
			for _, where := range slices.Sorted(maps.Keys(places)) {
				// Not ContainSubstring: its failure message would print the credential.
				Expect(strings.Contains(places[where], form)).To(BeFalse(), "%s is in %s", what, where)
			}
		}
	}
}

// isoTenant reads a Tenant.
func isoTenant(ns, name string) *whv1.Tenant {
	t := &whv1.Tenant{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
	return t
}

// isoReady returns the Ready condition of a Tenant, failing g while it has none.
func isoReady(ns, name string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		t := &whv1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
		c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
		g.Expect(c).NotTo(BeNil())
		return *c
	}
}

// isoRefused matches a Ready condition that is False with reason and a message holding
// message.
func isoRefused(reason, message string) gtypes.GomegaMatcher {
	return And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", reason), HaveField("Message", ContainSubstring(message)))
}

// isoProjectView is what the isolation specs compare of a Keystone project.
type isoProjectView struct {
	ID, Name, Description string
	Tags                  []string
	Enabled               bool
	// Owner is the Tenant Keystone records: UID, namespace, name.
	Owner [3]string
}

func isoProject(g Gomega, id string) isoProjectView {
	p, err := admin.GetProject(ctx, id)
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(p).NotTo(BeNil(), "project %s is gone", id)
	str := func(k string) string { s, _ := p.Extra[k].(string); return s }
	tags := slices.Clone(p.Tags)
	slices.Sort(tags)
	return isoProjectView{ID: p.ID, Name: p.Name, Description: p.Description, Tags: tags, Enabled: p.Enabled,
		Owner: [3]string{str("whitehall_owner"), str("whitehall_namespace"), str("whitehall_tenant")}}
}

// isoAppCred is the one cloud of a department's clouds.yaml.
type isoAppCred struct {
	AuthURL, ID, Secret string
	raw                 string
}

func isoReadAppCred(g Gomega, data []byte) isoAppCred {
	var doc struct {
		Clouds map[string]struct {
			AuthType string `json:"auth_type"`
			Auth     struct {
				AuthURL string `json:"auth_url"`
				ID      string `json:"application_credential_id"`
				Secret  string `json:"application_credential_secret"`
			} `json:"auth"`
		} `json:"clouds"`
	}
	g.Expect(yaml.Unmarshal(data, &doc)).To(Succeed())
	g.Expect(doc.Clouds).To(HaveLen(1))
	g.Expect(doc.Clouds).To(HaveKey("whitehall"), "the cloud is named after the Cloud object")
	c := doc.Clouds["whitehall"]
	g.Expect(c.AuthType).To(Equal("v3applicationcredential"))
	g.Expect(c.Auth.ID).NotTo(BeEmpty())
	g.Expect(c.Auth.Secret).NotTo(BeEmpty())
	return isoAppCred{AuthURL: c.Auth.AuthURL, ID: c.Auth.ID, Secret: c.Auth.Secret, raw: string(data)}
}

// isoOpenstack runs openstackclient against cloud whitehall of the clouds.yaml at path,
// and nothing else: no OS_* variable of the suite, no clouds.yaml in a home directory.
func isoOpenstack(path string, args ...string) (string, error) {
	bin, err := exec.LookPath("openstack")
	Expect(err).NotTo(HaveOccurred(), "openstackclient is needed to check the department's clouds.yaml as its tools use it")
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, append([]string{"--os-cloud", "whitehall"}, args...)...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OS_") && !strings.HasPrefix(kv, "HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "OS_CLIENT_CONFIG_FILE="+path, "HOME="+GinkgoT().TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// isoManifest writes a manifest to a file and returns its path.
func isoManifest(doc string) string {
	path := filepath.Join(GinkgoT().TempDir(), "manifest.yaml")
	Expect(os.WriteFile(path, []byte(doc), 0o644)).To(Succeed())
	return path
}

// isoTryApply applies a manifest with kubectl and returns its output and error.
func isoTryApply(doc string) (string, error) {
	return tryKubectl("apply", "-f", isoManifest(doc))
}

// isoEnvYAML is a TestEnvironment of Tenant dept; spec lines in extra (indented) replace
// the template when they set one.
func isoEnvYAML(ns, name, extra string) string {
	template := "  template: {flavor: m1.tiny, image: cirros}\n"
	if strings.Contains(extra, "template:") {
		template = ""
	}
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: %s, namespace: %s}
spec:
  tenantRef: {name: dept}
  replicas: 0
%s%s`, name, ns, template, extra)
}

// isoSneakySecret is a Secret labelled as user data that holds a clouds.yaml.
func isoSneakySecret(ns string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Secret
metadata: {name: sneaky, namespace: %s, labels: {whitehall.cloud/user-data: "true"}}
stringData: {clouds.yaml: "clouds: {}", user-data: "#cloud-config"}
`, ns)
}

// isoLongName is a Tenant name that makes the default project name <ns>_<name> exactly
// total characters long.
func isoLongName(ns string, total int) string {
	const prefix = "long-"
	return prefix + strings.Repeat("x", total-len(ns)-1-len(prefix))
}
