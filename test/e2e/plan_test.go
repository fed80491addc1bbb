package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// A project made by hand is brought in under Observe with one intended change in its
// Tenant (a tag) and one in its ComputeQuota (a raised Nova limit). The built plugin's
// plan shows those changes and exits 2; the switch to Manage makes exactly them in
// OpenStack, nothing else, and plan then exits 0.
var _ = Describe("plan before manage", Ordered, Label("plan"), func() {
	const (
		ns      = "e2e-plan"
		project = "e2e-plan-legacy"
		handed  = whv1.HandoverTagPrefix + ns
	)
	var (
		pluginBin   string
		projectID   string
		before      *cloudtest.Project
		quotaBefore cloudtest.Quota
	)

	// planJSON runs the built plugin as a user would: its exit code and its document.
	planJSON := func(g Gomega) (int, plugin.PlanReport) {
		cmd := exec.CommandContext(ctx, pluginBin, "plan", "-n", ns, "-o", "json", "--kubeconfig", kubeconfig)
		out, err := cmd.Output()
		code := 0
		if exit := (*exec.ExitError)(nil); errors.As(err, &exit) {
			code = exit.ExitCode()
			g.Expect(code).NotTo(Equal(plugin.ExitError), "plan failed: %s", exit.Stderr)
		} else {
			g.Expect(err).NotTo(HaveOccurred())
		}
		var report plugin.PlanReport
		g.Expect(json.Unmarshal(out, &report)).To(Succeed(), "%s", out)
		return code, report
	}
	// manifests is the Tenant and ComputeQuota as a department's repository holds them.
	manifests := func(policy whv1.ManagementPolicy) string {
		return fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: legacy, namespace: %[1]s}
spec:
  cloudRef: {name: whitehall}
  import: {id: %[2]s}
  managementPolicy: %[3]s
  project: {tags: [%[4]q, legacy, planned]}
  roleAssignments: [{group: whitehall-devops, roles: [member]}]
---
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: legacy, namespace: %[1]s}
spec:
  tenantRef: {name: legacy}
  managementPolicy: %[3]s
  baseline: {compute: {cores: 9, keyPairs: 33}}
`, ns, projectID, policy, handed)
	}

	BeforeAll(func() {
		By("building the plugin")
		pluginBin = filepath.Join(GinkgoT().TempDir(), "kubectl-whitehall")
		build := exec.CommandContext(ctx, "go", "build", "-o", pluginBin, "./cmd/kubectl-whitehall")
		build.Dir = repoRoot
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), "%s", out)

		By("making a project by hand, as departments did before the operator: people, tags, a Nova limit")
		if id, err := admin.FindProject(ctx, project); err == nil && id != "" {
			Expect(admin.DeleteProject(ctx, id)).To(Succeed(), "leftover of an earlier run")
		}
		projectID, err = admin.CreateProject(ctx, project, "legacy")
		Expect(err).NotTo(HaveOccurred())
		Expect(admin.Grant(ctx, projectID, "group:whitehall-devops", "member")).To(Succeed())
		Expect(admin.Grant(ctx, projectID, "user:whitehall-auditor", "reader")).To(Succeed())
		Expect(admin.SetComputeQuota(ctx, projectID, ptr.To(7), ptr.To(33))).To(Succeed())

		By("handing it over to the namespace")
		Expect(admin.SetProjectTags(ctx, projectID, []string{"legacy", handed})).To(Succeed())
		before, err = admin.GetProject(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		quotaBefore, err = admin.GetQuota(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(quotaBefore.Cores).To(Equal(7))
		Expect(admin.Assignments(ctx, projectID)).To(ConsistOf("group:whitehall-devops:member", "user:whitehall-auditor:reader"))

		apply(fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {whitehall.cloud/department: \"true\"}}\n", ns))
	})

	AfterAll(func() {
		_, _ = tryKubectl("-n", ns, "delete", "computequota,tenant", "--all", "--timeout=120s")
		_, _ = tryKubectl("delete", "namespace", ns, "--timeout=120s")
		if projectID != "" {
			Expect(admin.DeleteProject(ctx, projectID)).To(Succeed())
		}
	})

	It("plan shows exactly the intended changes under Observe and exits 2", func() {
		apply(manifests(whv1.ManagementPolicyObserve))
		Eventually(func(g Gomega) {
			code, report := planJSON(g)
			g.Expect(report.Objects).To(HaveExactElements(
				And(HaveField("Kind", "Tenant"), HaveField("State", plugin.StateDrifted), HaveField("Drift", Equal([]plugin.PlanChange{
					{Action: plugin.ActionUpdate, Field: "tags", Desired: "legacy,planned," + handed, Actual: "legacy," + handed},
				}))),
				And(HaveField("Kind", "ComputeQuota"), HaveField("State", plugin.StateDrifted), HaveField("Drift", Equal([]plugin.PlanChange{
					{Action: plugin.ActionUpdate, Field: "compute.cores", Desired: "9", Actual: "7"},
				})))))
			g.Expect(code).To(Equal(plugin.ExitDrift))
		}).Should(Succeed())

		for _, format := range []string{"text", "json"} {
			out, err := exec.CommandContext(ctx, pluginBin, "plan", "-n", ns, "-o", format, "--kubeconfig", kubeconfig).Output()
			GinkgoWriter.Printf("$ kubectl whitehall plan -n %s -o %s\n%s", ns, format, out)
			Expect(err).To(MatchError(ContainSubstring("exit status 2")))
		}

		By("nothing written to OpenStack under Observe")
		Expect(admin.GetProject(ctx, projectID)).To(Equal(before))
		Expect(admin.GetQuota(ctx, projectID)).To(Equal(quotaBefore))
	})

	It("the switch to Manage makes exactly those changes, nothing else, and plan exits 0", func() {
		apply(manifests(whv1.ManagementPolicyManage))
		Eventually(func(g Gomega) {
			code, report := planJSON(g)
			g.Expect(report.Summary).To(Equal(plugin.PlanSummary{Objects: 2, Managed: 2}))
			g.Expect(code).To(Equal(plugin.ExitOK))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			q, err := admin.GetQuota(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(q.Cores).To(Equal(9))
		}).Should(Succeed())

		By("the project: the tag added and the owner recorded; name, description, enabled, other attributes as before")
		after, err := admin.GetProject(ctx, projectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(after.Tags).To(ConsistOf("legacy", "planned", handed))
		Expect(after.Extra).To(HaveKey("whitehall_owner"))
		want := *before
		want.Tags, want.Extra = after.Tags, withoutOperatorRecords(before.Extra)
		got := *after
		got.Extra = withoutOperatorRecords(after.Extra)
		Expect(got).To(Equal(want))

		By("the people: as before, the one the Tenant does not name included")
		Expect(admin.Assignments(ctx, projectID)).To(ConsistOf("group:whitehall-devops:member", "user:whitehall-auditor:reader"))

		By("the quota: cores raised, every other field as before")
		wantQuota := quotaBefore
		wantQuota.Cores = 9
		Expect(admin.GetQuota(ctx, projectID)).To(Equal(wantQuota))
	})
})

// withoutOperatorRecords is a project's extra attributes less the operator's records.
func withoutOperatorRecords(extra map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range extra {
		if !strings.HasPrefix(k, "whitehall_") {
			out[k] = v
		}
	}
	return out
}
