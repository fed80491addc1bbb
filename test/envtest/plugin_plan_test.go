package envtest

import (
	"bytes"
	"encoding/json"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// planOf runs plan on the envtest API server as a user would (kubeconfig, flags) and
// returns its exit code and its JSON document, or its text with -o text.
func planOf(kubeconfig string, args ...string) func(Gomega) (int, plugin.PlanReport, string) {
	return func(g Gomega) (int, plugin.PlanReport, string) {
		var out, errOut bytes.Buffer
		code := plugin.Main(ctx, plugin.Build{}, append([]string{"plan", "--kubeconfig", kubeconfig}, args...), &out, &errOut)
		g.Expect(errOut.String()).To(BeEmpty())
		var report plugin.PlanReport
		if json.Valid(out.Bytes()) {
			g.Expect(json.Unmarshal(out.Bytes(), &report)).To(Succeed())
		}
		return code, report, out.String()
	}
}

// writeKubeconfig writes a kubeconfig for the envtest API server, as a user has one.
func writeKubeconfig(namespace string) string {
	config := clientcmdapi.NewConfig()
	config.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	config.AuthInfos["envtest"] = &clientcmdapi.AuthInfo{ClientCertificateData: cfg.CertData, ClientKeyData: cfg.KeyData, Token: cfg.BearerToken}
	config.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "envtest", Namespace: namespace}
	config.CurrentContext = "envtest"
	path := filepath.Join(GinkgoT().TempDir(), "kubeconfig")
	Expect(clientcmd.WriteToFile(*config, path)).To(Succeed())
	return path
}

// planned is how a matcher sees one object of the plan.
func planned(kind, name, state string) OmegaMatcher {
	return And(HaveField("Kind", kind), HaveField("Name", name), HaveField("State", state))
}

var _ = Describe("kubectl whitehall plan", func() {
	var (
		ns         string
		kubeconfig string
	)
	BeforeEach(func() {
		ns = newDepartment()
		kubeconfig = writeKubeconfig(ns)
	})

	It("plan shows the drift the operator observed, exits 2, and 0 once Manage has made it", func() {
		p := cloud.AddProject(openstack.Project{Name: "plan-" + ns, DomainID: "default", Enabled: true,
			Tags: []string{whv1.HandoverTagPrefix + ns, "legacy"}})
		group := cloud.AddGroup("default", ns+"-ops")
		cloud.GrantDirectly(p.ID, openstack.Assignment{GroupID: group, RoleID: "role-member"})
		cloud.SetLimitDirectly(p.ID, quota.ComputeService, "cores", 8)
		cloud.SetLimitDirectly(p.ID, quota.ComputeService, "instances", 5)
		t := createTenant(ns, "vat", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
			t.Spec.Project.Tags = []string{whv1.HandoverTagPrefix + ns, "legacy", "vat"}
			t.Spec.RoleAssignments = []whv1.RoleAssignment{{Group: ptr.To(ns + "-ops"), Roles: []string{"member"}}}
		})
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "vat"},
			Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: t.Name}, ManagementPolicy: whv1.ManagementPolicyObserve,
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](16), Instances: ptr.To[int64](5)}}},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		managed := createTenant(ns, "managed")
		Eventually(readyTenant(managed)).ShouldNot(BeNil())

		By("exit 2, with exactly the operator's drift, the managed Tenant managed")
		wantTenant := []plugin.PlanChange{
			{Action: plugin.ActionUpdate, Field: "tags", Desired: "legacy,vat," + whv1.HandoverTagPrefix + ns, Actual: "legacy," + whv1.HandoverTagPrefix + ns},
		}
		wantQuota := []plugin.PlanChange{{Action: plugin.ActionUpdate, Field: "compute.cores", Desired: "16", Actual: "8"}}
		Eventually(func(g Gomega) {
			code, report, _ := planOf(kubeconfig, "-o", "json")(g)
			g.Expect(report.Objects).To(HaveExactElements(
				planned("Tenant", "managed", plugin.StateManaged),
				And(planned("Tenant", "vat", plugin.StateDrifted), HaveField("Drift", Equal(wantTenant))),
				And(planned("ComputeQuota", "vat", plugin.StateDrifted), HaveField("Drift", Equal(wantQuota)))))
			g.Expect(report.Summary).To(Equal(plugin.PlanSummary{Objects: 3, Drifted: 2, Managed: 1, ExitCode: plugin.ExitDrift}))
			g.Expect(code).To(Equal(plugin.ExitDrift))
		}).Should(Succeed())

		By("the text a reviewer reads, for a plain name (both kinds)")
		code, _, text := planOf(kubeconfig, "vat")(Default)
		GinkgoWriter.Printf("kubectl whitehall plan vat\n%s", text)
		Expect(code).To(Equal(plugin.ExitDrift))
		Expect(text).To(Equal("Tenant " + ns + "/vat (Observe): 1 to change\n" +
			"  ~ tags: legacy," + whv1.HandoverTagPrefix + ns + " → legacy,vat," + whv1.HandoverTagPrefix + ns + "\n\n" +
			"ComputeQuota " + ns + "/vat (Observe): 1 to change\n" +
			"  ~ compute.cores: 8 → 16\n\n" +
			"2 objects, 2 with drift, 0 not yet observed\n"))

		By("the switch to Manage: the drift is made, and plan exits 0")
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		Eventually(func(g Gomega) {
			code, report, _ := planOf(kubeconfig, "-o", "json", "-n", ns)(g)
			g.Expect(report.Summary).To(Equal(plugin.PlanSummary{Objects: 3, Managed: 3, ExitCode: plugin.ExitOK}))
			g.Expect(code).To(Equal(plugin.ExitOK))
		}).Should(Succeed())
		Expect(cloud.Project(p.ID).Tags).To(ConsistOf("legacy", "vat", whv1.HandoverTagPrefix+ns))
		Expect(cloud.Quota(p.ID, quota.ComputeService)).To(HaveKeyWithValue("cores", int64(16)))
	})

	It("plan reads an Observe object the operator has not observed at its generation as not yet observed, never in sync: exit 3", func() {
		By("an import that was not handed over: never observed")
		theirs := cloud.AddProject(openstack.Project{Name: "theirs-" + ns, DomainID: "default", Enabled: true})
		createTenant(ns, "peek", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(theirs.ID)}
		})
		Eventually(func(g Gomega) {
			code, report, _ := planOf(kubeconfig, "tenant/peek", "-o", "json")(g)
			g.Expect(report.Objects).To(HaveExactElements(And(planned("Tenant", "peek", plugin.StateNotYetObserved),
				HaveField("Ready.Reason", whv1.ReasonImportNotAllowed), HaveField("Drift", BeEmpty()))))
			g.Expect(code).To(Equal(plugin.ExitNotObserved))
		}).Should(Succeed())

		By("a quota whose status says InSync True for an older generation, as the operator leaves it when a new spec cannot be observed")
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "orphan"},
			Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "no-such-tenant"}, ManagementPolicy: whv1.ManagementPolicyObserve,
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](4)}}},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](6) })
		Eventually(func(g Gomega) {
			got := fetch(cq)
			g.Expect(got.Status.ObservedGeneration).To(Equal(int64(2)), "the operator read generation 2 (and could not observe it)")
			if meta.FindStatusCondition(got.Status.Conditions, whv1.ConditionInSync) == nil {
				// The status generation 1 would have had, had its Tenant existed then.
				g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
					got := fetch(cq)
					meta.SetStatusCondition(&got.Status.Conditions, metav1.Condition{Type: whv1.ConditionInSync,
						Status: metav1.ConditionTrue, Reason: whv1.ReasonInSync, Message: "OpenStack holds what the spec asks for", ObservedGeneration: 1})
					return k8s.Status().Update(ctx, got)
				})).To(Succeed())
			}
			code, report, _ := planOf(kubeconfig, "computequota/orphan", "-o", "json")(g)
			g.Expect(report.Objects).To(HaveExactElements(And(planned("ComputeQuota", "orphan", plugin.StateNotYetObserved),
				HaveField("InSync.Status", "True"), HaveField("Why", "last observed at generation 1, the spec is at 2"))))
			g.Expect(code).To(Equal(plugin.ExitNotObserved))
		}).Should(Succeed())

		By("the text, and the whole namespace")
		code, _, text := planOf(kubeconfig)(Default)
		GinkgoWriter.Printf("kubectl whitehall plan\n%s", text)
		Expect(code).To(Equal(plugin.ExitNotObserved))
		Expect(text).To(ContainSubstring("ComputeQuota " + ns + "/orphan (Observe): not yet observed\n    why: last observed at generation 1, the spec is at 2\n"))
		Expect(text).To(ContainSubstring("Tenant " + ns + "/peek (Observe): not yet observed\n"))
		Expect(text).To(HaveSuffix("\n2 objects, 0 with drift, 2 not yet observed\n"))

		By("a plain name of one kind only: that object")
		code, report, _ := planOf(kubeconfig, "orphan", "-o", "json")(Default)
		Expect(code).To(Equal(plugin.ExitNotObserved))
		Expect(report.Objects).To(HaveExactElements(planned("ComputeQuota", "orphan", plugin.StateNotYetObserved)))

		By("a name that is not of the kind named, or of neither kind, is an error: exit 1")
		for args, want := range map[string]string{
			"tenant/orphan": `error: Tenant "orphan" not found in namespace "` + ns + `"`,
			"nothing":       `error: no Tenant or ComputeQuota "nothing" in namespace "` + ns + `"`,
		} {
			var out, errOut bytes.Buffer
			Expect(plugin.Main(ctx, plugin.Build{}, []string{"plan", "--kubeconfig", kubeconfig, args}, &out, &errOut)).To(Equal(plugin.ExitError))
			Expect(errOut.String()).To(Equal(want + "\n"))
			Expect(out.String()).To(BeEmpty())
		}
	})
})
