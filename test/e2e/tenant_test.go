package e2e

import (
	"fmt"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

var _ = Describe("Tenant", Ordered, func() {
	tenant := func(ns, name string) *whv1.Tenant {
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
		return t
	}
	project := func(id string) func(Gomega) *cloudtest.Project {
		return func(g Gomega) *cloudtest.Project {
			p, err := admin.GetProject(ctx, id)
			g.Expect(err).NotTo(HaveOccurred())
			return p
		}
	}
	gone := func(ns, name string) func() bool {
		return func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &whv1.Tenant{}))
		}
	}

	It("creates the sample projects with their tags and people, and reports Ready", func() {
		start := time.Now()
		kubectl("apply", "-k", filepath.Join(repoRoot, "config", "samples"))
		// By name: other specs' objects may be anywhere in their lives.
		kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "tenant/self-assessment", "--timeout=120s")
		kubectl("-n", "dwp", "wait", "--for=condition=Ready", "tenant/universal-credit", "--timeout=120s")
		AddReportEntry("sample Tenants Ready after", time.Since(start).String())
		kubectl("wait", "--for=condition=Ready", "peakseason/self-assessment", "peakseason/paye-year-end", "--timeout=120s")
		kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "computequota/self-assessment", "--timeout=120s")

		sa := tenant("hmrc", "self-assessment")
		Expect(sa.Status.ProjectName).To(Equal("hmrc-self-assessment"))
		p := project(sa.Status.ProjectID)(Default)
		Expect(p).NotTo(BeNil())
		Expect(p.Name).To(Equal("hmrc-self-assessment"))
		Expect(p.Description).To(Equal("Self Assessment digital service"))
		Expect(p.Tags).To(ConsistOf("hmrc", "self-assessment"))
		Expect(p.Enabled).To(BeTrue())
		// The project's service user (it has an application credential) is the operator's
		// identity inside it, never the admin.
		Expect(admin.Assignments(ctx, p.ID)).To(ConsistOf("group:whitehall-devops:member", "user:whitehall-auditor:reader",
			"user:whitehall-project-"+p.ID+":member"))

		uc := tenant("dwp", "universal-credit")
		Expect(project(uc.Status.ProjectID)(Default)).To(HaveField("Name", "dwp_universal-credit"))
		// No application credential and no TestEnvironment: no identity of its own.
		Expect(admin.Assignments(ctx, uc.Status.ProjectID)).To(ConsistOf("group:whitehall-devops:member", "group:whitehall-devops:reader"))
		Expect(uc.Status.ServiceUserID).To(BeEmpty())

		cq := &whv1.ComputeQuota{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "hmrc", Name: "self-assessment"}, cq)).To(Succeed())
		q, err := admin.GetQuota(ctx, sa.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(int64(q.Cores)).To(Equal(*cq.Status.Effective.Compute.Cores), "the sample quota is in Nova")
		Expect(int64(q.Gigabytes)).To(Equal(*cq.Status.Effective.BlockStorage.Gigabytes), "the sample quota is in Cinder")
		Expect(int64(q.Ports)).To(Equal(*cq.Status.Effective.Network.Ports), "the sample quota is in Neutron")

		By("applying the TestEnvironment sample as it is written (ttl: 72h)")
		kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "testenvironment_sa_load_test.yaml"))
		kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "testenvironment/sa-load-test", "--timeout=180s")
		te := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: "hmrc", Name: "sa-load-test"}, te)).To(Succeed())
		Expect(kubectl("-n", "hmrc", "get", "testenvironment", "sa-load-test", "-o", "jsonpath={.spec.ttl}")).To(Equal("72h"),
			"the operator never writes a user's spec back")
		servers, err := admin.ProjectServers(ctx, sa.Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(servers).To(HaveLen(int(te.Status.Replicas)), "the sample's servers are in Nova")
		Expect(te.Status.Replicas).To(BeNumerically(">=", 3))
		kubectl("-n", "hmrc", "delete", "testenvironment", "sa-load-test", "--timeout=180s")
		Eventually(func() ([]cloudtest.ServerInfo, error) { return admin.ProjectServers(ctx, sa.Status.ProjectID) }).Should(BeEmpty())

		By("using kubectl as a person would: the category, short names and explain")
		all := kubectl("get", "whitehall", "-A")
		Expect(all).To(And(ContainSubstring("tenant.whitehall.cloud/self-assessment"), ContainSubstring("computequota.whitehall.cloud/self-assessment"),
			ContainSubstring("peakseason.whitehall.cloud/paye-year-end")))
		Expect(kubectl("get", "tn,cq,ps,te", "-A")).To(ContainSubstring("universal-credit"))
		Expect(kubectl("explain", "tenant.spec.project.name")).To(MatchRegexp(`defaults\s+to\s+<namespace>_<tenant\s+name>`))
		Expect(kubectl("explain", "computequota.spec.peaks")).To(MatchRegexp(`\(unlimited\)\s+beats\s+any\s+number`))

		out := kubectl("get", "tenants", "-A")
		Expect(out).To(ContainSubstring("hmrc-self-assessment"))
		Expect(out).To(MatchRegexp(`self-assessment\s+hmrc-self-assessment\s+True\s+Ready`))
	})

	It("repairs a project disabled and renamed by hand, and assignments removed by hand, within the resync period", func() {
		id := tenant("hmrc", "self-assessment").Status.ProjectID
		Expect(admin.EditProject(ctx, id, "renamed-by-hand", false)).To(Succeed())
		Expect(admin.RevokeAll(ctx, id)).To(Succeed())
		start := time.Now()
		Eventually(project(id)).WithTimeout(4 * resyncPeriod).Should(And(
			HaveField("Name", "hmrc-self-assessment"), HaveField("Enabled", true)))
		Eventually(func() ([]string, error) { return admin.Assignments(ctx, id) }).WithTimeout(4 * resyncPeriod).
			Should(ConsistOf("group:whitehall-devops:member", "user:whitehall-auditor:reader", "user:whitehall-project-"+id+":member"))
		AddReportEntry("drift repaired after", time.Since(start).String())
	})

	It("refuses to delete a project that still holds a port, then deletes it once empty", func() {
		id := tenant("dwp", "universal-credit").Status.ProjectID
		removePort, err := admin.CreatePort(ctx, id, "department-data")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = removePort(ctx) })

		kubectl("-n", "dwp", "delete", "tenant", "universal-credit", "--wait=false")
		Eventually(func(g Gomega) string {
			c := meta.FindStatusCondition(tenant("dwp", "universal-credit").Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(whv1.ReasonDeletionBlocked))
			return c.Message
		}).Should(ContainSubstring("1 port(s): department-data"))
		Expect(project(id)(Default)).NotTo(BeNil(), "a project holding department data must not be deleted")
		Expect(kubectl("-n", "dwp", "get", "events", "--field-selector", "reason=DeletionBlocked")).To(ContainSubstring("DeletionBlocked"))

		Expect(removePort(ctx)).To(Succeed())
		Eventually(gone("dwp", "universal-credit")).Should(BeTrue())
		Expect(project(id)(Default)).To(BeNil())
	})

	It("leaves the project in OpenStack when deletionPolicy is Retain", func() {
		apply(tenantYAML("hmrc", "e2e-retain", "deletionPolicy: Retain"))
		kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "tenant/e2e-retain", "--timeout=120s")
		id := tenant("hmrc", "e2e-retain").Status.ProjectID
		DeferCleanup(func() { Expect(admin.DeleteProject(ctx, id)).To(Succeed()) })
		kubectl("-n", "hmrc", "delete", "tenant", "e2e-retain", "--timeout=60s")
		Expect(project(id)(Default)).To(HaveField("Name", "hmrc_e2e-retain"))
	})

	It("adopts an existing project named by import, handed over to the namespace by the cloud admin", func() {
		id, err := admin.CreateProject(ctx, "hmrc-e2e-import", whv1.HandoverTagPrefix+"hmrc")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(admin.DeleteProject(ctx, id)).To(Succeed()) })
		apply(tenantYAML("hmrc", "e2e-import", "import: {name: hmrc-e2e-import}\n  deletionPolicy: Retain\n  project: {tags: [adopted]}"))
		kubectl("-n", "hmrc", "wait", "--for=condition=Ready", "tenant/e2e-import", "--timeout=120s")
		t := tenant("hmrc", "e2e-import")
		Expect(t.Status.ProjectID).To(Equal(id))
		Expect(t.Status.Adopted).To(BeTrue())
		Expect(project(id)(Default)).To(HaveField("Tags", ConsistOf("adopted")))
		kubectl("-n", "hmrc", "delete", "tenant", "e2e-import", "--timeout=60s")
		Expect(project(id)(Default)).NotTo(BeNil())
	})

	It("deletes the project with the Tenant under the Delete policy", func() {
		id := tenant("hmrc", "self-assessment").Status.ProjectID
		kubectl("-n", "hmrc", "delete", "tenant", "self-assessment", "--timeout=60s")
		Expect(project(id)(Default)).To(BeNil())
	})
})

// tenantYAML is a Tenant using the Cloud whitehall, with extra spec
// lines.
func tenantYAML(ns, name, extra string) string {
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: %s, namespace: %s}
spec:
  cloudRef: {name: whitehall}
  %s
`, name, ns, extra)
}

// tenantWithCredentialsYAML is a Tenant of a department that brings its own
// credentials: cloud cloudName of the clouds.yaml in Secret secret of its namespace.
func tenantWithCredentialsYAML(ns, name, secret, cloudName, extra string) string {
	return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: %s, namespace: %s}
spec:
  cloudCredentialsRef: {secretName: %s, cloudName: %s}
  %s
`, name, ns, secret, cloudName, extra)
}
