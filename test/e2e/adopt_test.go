package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// Three projects a person made before the operator — people, tags, quotas in the three
// services, one with a network bundle — are adopted with the built plugin, and its
// manifests applied as they are: everything in sync, nothing written to OpenStack.
var _ = Describe("adopt an existing cloud", Ordered, Label("adopt"), func() {
	const (
		ns     = "e2e-adopt"
		prefix = "e2e-adopt-"
		group  = "whitehall-devops"
	)
	type handMade struct {
		name, description string
		tags              []string
		enabled           bool
		quotas            cloudtest.Quotas
		cidr              string // a bundle, when set
	}
	made := []handMade{
		{name: prefix + "vat", description: "VAT returns, made by hand in 2019", tags: []string{"vat", "legacy"}, enabled: true,
			quotas: cloudtest.Quotas{Compute: map[string]int{"cores": 12, "instances": 6, "ram": 24576, "key_pairs": 7},
				Network: map[string]int{"port": 40, "network": 3, "router": 2}, Volume: map[string]int{"gigabytes": 200, "volumes": 8}},
			cidr: "10.77.0.0/24"},
		{name: prefix + "paye", description: "PAYE", tags: []string{"paye"}, enabled: true,
			quotas: cloudtest.Quotas{Compute: map[string]int{"cores": 4, "metadata_items": 64}, Network: map[string]int{"floatingip": 0},
				Volume: map[string]int{"snapshots": 3, "backups": 1}}},
		{name: prefix + "archive", description: "old returns, kept read-only", tags: []string{"archive", "frozen"}, enabled: false,
			quotas: cloudtest.Quotas{Compute: map[string]int{"instances": 0}, Network: map[string]int{"security_group": 2},
				Volume: map[string]int{"gigabytes": 1000}}},
	}
	var (
		projectIDs             = map[string]string{}
		userID, groupID        string
		groupMade              bool
		manifestPath, adoptOut string
		before                 = map[string]string{}
	)

	BeforeAll(func() {
		By("removing what an earlier run left")
		left, err := admin.ProjectsNamed(ctx, prefix)
		Expect(err).NotTo(HaveOccurred())
		for _, id := range left {
			Expect(admin.DeleteProjectByHand(ctx, id)).To(Succeed())
		}
		users, err := admin.UsersNamed(ctx, prefix)
		Expect(err).NotTo(HaveOccurred())
		for _, id := range users {
			Expect(admin.DeleteUser(ctx, id)).To(Succeed())
		}

		By("making three projects by hand: people, tags, quotas, one network bundle")
		userID, err = admin.CreateUserByHand(ctx, prefix+"alice")
		Expect(err).NotTo(HaveOccurred())
		groupID, groupMade, err = admin.EnsureGroup(ctx, group)
		Expect(err).NotTo(HaveOccurred())
		for _, m := range made {
			id, err := admin.CreateProjectByHand(ctx, m.name, m.description, m.tags, m.enabled)
			Expect(err).NotTo(HaveOccurred())
			projectIDs[m.name] = id
			Expect(admin.GrantByHand(ctx, id, userID, "", "member")).To(Succeed())
			Expect(admin.GrantByHand(ctx, id, "", groupID, "member")).To(Succeed())
			Expect(admin.GrantByHand(ctx, id, "", groupID, "reader")).To(Succeed())
			Expect(admin.SetQuotasByHand(ctx, id, m.quotas)).To(Succeed())
			if m.cidr != "" {
				_, err := admin.CreateBundleByHand(ctx, id, m.name, m.cidr, []string{"192.0.2.53"}, "public")
				Expect(err).NotTo(HaveOccurred())
			}
		}
		dir, err := os.MkdirTemp("", "adopt-")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(os.RemoveAll, dir) // after AfterAll: the manifests outlive each It
		manifestPath = filepath.Join(dir, "adopted.yaml")
		kubectl("create", "namespace", ns)
		kubectl("label", "namespace", ns, "whitehall.cloud/department=true")
	})

	AfterAll(func() {
		_, _ = tryKubectl("delete", "namespace", ns, "--timeout=180s")
		for _, id := range projectIDs {
			Expect(admin.DeleteProjectByHand(ctx, id)).To(Succeed())
		}
		if userID != "" {
			Expect(admin.DeleteUser(ctx, userID)).To(Succeed())
		}
		if groupMade {
			Expect(admin.DeleteGroup(ctx, groupID)).To(Succeed())
		}
	})

	It("writes a Tenant and a ComputeQuota for each project, and hands each over", func() {
		bin := pluginBinary()
		cmd := exec.CommandContext(ctx, bin, "adopt", "--os-cloud", "dev", "--handover", "--namespace", ns,
			"--match", prefix+"*", "--cloud-ref", "whitehall", "--kubeconfig", kubeconfig)
		cmd.Env = append(os.Environ(), "OS_CLIENT_CONFIG_FILE="+cloudsYAML)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		Expect(cmd.Run()).To(Succeed(), stderr.String())
		adoptOut = stdout.String()
		GinkgoWriter.Printf("kubectl whitehall adopt:\n%s\nstderr:\n%s", adoptOut, stderr.String())
		Expect(os.WriteFile(manifestPath, stdout.Bytes(), 0o644)).To(Succeed())
		Expect(strings.Count(adoptOut, "\nkind: Tenant\n")).To(Equal(3))
		Expect(strings.Count(adoptOut, "\nkind: ComputeQuota\n")).To(Equal(3))
		Expect(adoptOut).To(ContainSubstring("cidr: 10.77.0.0/24"))
		Expect(adoptOut).To(ContainSubstring("externalNetwork: public"))
		Expect(adoptOut).NotTo(ContainSubstring("password"))
		for name, id := range projectIDs {
			p, err := admin.GetProject(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(p.Tags).To(ContainElement(whv1.HandoverTagPrefix+ns), name)
			before[id], err = admin.ProjectState(ctx, id)
			Expect(err).NotTo(HaveOccurred())
		}
	})

	It("applied as written, every Tenant and ComputeQuota is InSync with no drift", func() {
		kubectl("apply", "--validate=strict", "-f", manifestPath)
		for _, m := range made {
			name := m.name // tenantName keeps a name that is a DNS label already
			key := client.ObjectKey{Namespace: ns, Name: name}
			Eventually(func(g Gomega) {
				t := &whv1.Tenant{}
				g.Expect(k8s.Get(ctx, key, t)).To(Succeed())
				g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
				g.Expect(t.Status.Drift).To(BeEmpty())
				g.Expect(t.Status.Conditions).To(ContainElement(And(HaveField("Type", whv1.ConditionInSync), HaveField("Status", metav1.ConditionTrue))))
				g.Expect(t.Status.ProjectID).To(Equal(projectIDs[m.name]))
			}).Should(Succeed(), "Tenant %s", name)
			Eventually(func(g Gomega) {
				cq := &whv1.ComputeQuota{}
				g.Expect(k8s.Get(ctx, key, cq)).To(Succeed())
				g.Expect(cq.Status.ObservedGeneration).To(Equal(cq.Generation))
				g.Expect(cq.Status.Drift).To(BeEmpty())
				g.Expect(cq.Status.Conditions).To(ContainElement(And(HaveField("Type", whv1.ConditionInSync), HaveField("Status", metav1.ConditionTrue))))
			}).Should(Succeed(), "ComputeQuota %s", name)
		}
	})

	It("wrote nothing to OpenStack: Keystone, Nova, Neutron and Cinder hold what they held", func() {
		state := func() map[string]string {
			out := map[string]string{}
			for _, id := range projectIDs {
				s, err := admin.ProjectState(ctx, id)
				Expect(err).NotTo(HaveOccurred())
				out[id] = s
			}
			return out
		}
		Consistently(state, 4*resyncPeriod, time.Second).Should(Equal(before))
	})

	It("switched to Manage, records each Tenant as its project's owner and changes nothing else", func() {
		for _, m := range made {
			for _, kind := range []string{"tenant", "computequota"} {
				kubectl("-n", ns, "patch", kind, m.name, "--type=merge", "-p", `{"spec":{"managementPolicy":"Manage"}}`)
			}
		}
		for _, m := range made {
			key := client.ObjectKey{Namespace: ns, Name: m.name}
			Eventually(func(g Gomega) {
				t := &whv1.Tenant{}
				g.Expect(k8s.Get(ctx, key, t)).To(Succeed())
				g.Expect(t.Status.ObservedGeneration).To(Equal(t.Generation))
				g.Expect(t.Status.Conditions).To(ContainElement(And(HaveField("Type", whv1.ConditionReady), HaveField("Status", metav1.ConditionTrue))))
				g.Expect(t.Status.Adopted).To(BeTrue())
				if m.cidr != "" {
					g.Expect(t.Status.Network).NotTo(BeNil())
					g.Expect(t.Status.Network.Adopted).To(ConsistOf("network", "subnet", "router"), "the pieces made by hand stay the department's")
				}
				p, err := admin.GetProject(ctx, projectIDs[m.name])
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(p.Extra).To(HaveKeyWithValue("whitehall_owner", string(t.UID)))
			}).Should(Succeed(), "Tenant %s", m.name)
			Eventually(func(g Gomega) {
				cq := &whv1.ComputeQuota{}
				g.Expect(k8s.Get(ctx, key, cq)).To(Succeed())
				g.Expect(cq.Status.ObservedGeneration).To(Equal(cq.Generation))
				g.Expect(cq.Status.Conditions).To(ContainElement(And(HaveField("Type", whv1.ConditionReady), HaveField("Status", metav1.ConditionTrue))))
			}).Should(Succeed(), "ComputeQuota %s", m.name)
		}
		state := func() map[string]string {
			out := map[string]string{}
			for _, id := range projectIDs {
				// The owner record (whitehall_*: Tenant, namespace, name, cluster, previous
				// owner) is the adoption itself; everything else stays as it was.
				s, err := admin.ProjectState(ctx, id, "whitehall_owner", "whitehall_namespace", "whitehall_tenant",
					"whitehall_cluster", "whitehall_previous_owner")
				Expect(err).NotTo(HaveOccurred())
				out[id] = s
			}
			return out
		}
		Consistently(state, 4*resyncPeriod, time.Second).Should(Equal(before))
	})
})

// pluginBinary is the built kubectl-whitehall: PLUGIN_BIN (make plugin), else built
// now.
func pluginBinary() string {
	if bin := os.Getenv("PLUGIN_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(GinkgoT().TempDir(), "kubectl-whitehall")
	build := exec.CommandContext(context.Background(), "go", "build", "-o", bin, "./cmd/kubectl-whitehall")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), string(out))
	return bin
}
