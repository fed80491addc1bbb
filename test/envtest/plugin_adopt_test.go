package envtest

import (
	"bytes"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// yamlStream parses a stream of YAML documents as kubectl apply would read it.
func yamlStream(text string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, doc := range strings.Split(text, "\n---\n") {
		if strings.TrimSpace(doc) != "" {
			out = append(out, manifest("", doc))
		}
	}
	return out
}

var _ = Describe("kubectl whitehall adopt", func() {
	It("writes manifests the API server takes with strict field validation, which once applied show no drift and make no write", func() {
		ns := newDepartment()
		devops, alice := cloud.AddGroup("default", ns+"-devops"), cloud.AddUser("default", ns+"-alice")
		var projects []*openstack.Project
		for i, name := range []string{"Alpha Team", "beta", "gamma"} {
			p := cloud.AddProject(openstack.Project{Name: "adopt-" + ns + "-" + name, DomainID: "default", Enabled: i != 2,
				Description: "made by hand", Tags: []string{"legacy", "team-" + name[:1]}})
			cloud.GrantDirectly(p.ID, openstack.Assignment{GroupID: devops, RoleID: "role-member"})
			cloud.GrantDirectly(p.ID, openstack.Assignment{UserID: alice, RoleID: "role-reader"})
			cloud.SetLimitDirectly(p.ID, quota.ComputeService, "cores", int64(8*(i+1)))
			cloud.SetLimitDirectly(p.ID, quota.NetworkService, "ports", -1)
			cloud.SetLimitDirectly(p.ID, quota.BlockStorageService, "gigabytes", 100)
			projects = append(projects, p)
		}
		cloud.AddNetworkDirectly(projects[0].ID, projects[0].Name, "10.50.0.0/24")
		cloud.SetNetworkDirectly(projects[0].ID, projects[0].Name, []string{"192.0.2.53"}, "public")

		var out, errOut bytes.Buffer
		env := plugin.Env{Out: &out, Err: &errOut, Connect: func(plugin.KubeFlags) (plugin.Cluster, error) {
			return plugin.Cluster{Client: k8s}, nil
		}}
		Expect(plugin.Adopt(ctx, env, cloud, []string{"--handover", "--namespace", ns, "--match", "adopt-" + ns + "-*",
			"--cloud-ref", sharedCloud})).To(Succeed(), errOut.String())
		GinkgoWriter.Printf("kubectl whitehall adopt:\n%s\nstderr:\n%s", out.String(), errOut.String())
		objects := yamlStream(out.String())
		Expect(objects).To(HaveLen(6))
		for _, p := range projects {
			Expect(cloud.Project(p.ID).Tags).To(ContainElement(whv1.HandoverTagPrefix+ns), "handed over")
		}

		By("a server-side dry run with strict field validation takes every object")
		for _, obj := range objects {
			Expect(k8s.Create(ctx, obj.DeepCopy(), client.DryRunAll, client.FieldValidation("Strict"))).To(Succeed(), "%s %s", obj.GetKind(), obj.GetName())
		}
		probe := objects[0].DeepCopy()
		Expect(unstructured.SetNestedField(probe.Object, "x", "spec", "project", "bogus")).To(Succeed())
		Expect(k8s.Create(ctx, probe, client.DryRunAll, client.FieldValidation("Strict"))).To(
			MatchError(ContainSubstring(`unknown field "spec.project.bogus"`)), "the check can fail")

		By("applied: every Tenant and ComputeQuota in sync, with no drift, and nothing written")
		for _, obj := range objects {
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		}
		for _, obj := range objects {
			var typed client.Object = &whv1.Tenant{}
			if obj.GetKind() == "ComputeQuota" {
				typed = &whv1.ComputeQuota{}
			}
			typed.SetNamespace(obj.GetNamespace())
			typed.SetName(obj.GetName())
			Eventually(conditionOf(typed, whv1.ConditionInSync)).Should(HaveField("Reason", whv1.ReasonInSync), "%s %s", obj.GetKind(), obj.GetName())
			Eventually(driftOf(typed)).Should(BeEmpty())
		}
		Consistently(func() []string {
			var writes []string
			for _, p := range projects {
				writes = append(writes, cloud.Writes(p.ID)...)
			}
			return writes
		}).Should(ConsistOf(
			"AddProjectTag "+whv1.HandoverTagPrefix+ns, "AddProjectTag "+whv1.HandoverTagPrefix+ns, "AddProjectTag "+whv1.HandoverTagPrefix+ns),
			"the handover tags adopt added, and nothing from the operator")
	})
})
