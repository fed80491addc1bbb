package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Two clusters pointed at one cloud at once, each with the operator and the same
// department's manifests (a second platform installed beside the first, a move half
// done): only one manages the project; the other says whose it is and changes nothing.
var _ = Describe("two clusters: two operators on two control planes against one cloud", Ordered, func() {
	const (
		ns     = "e2e-twoclusters"
		tenant = "sa"
	)
	var (
		second    cluster
		secondMgr *exec.Cmd
		projectID string
	)
	manifest := func(tags string) string {
		return tenantYAML(ns, tenant, "project: {description: self assessment, tags: ["+tags+"]}")
	}
	readyOf := func(c client.Client) func(Gomega) *whv1.Tenant {
		return func(g Gomega) *whv1.Tenant {
			t := &whv1.Tenant{}
			g.Expect(c.Get(ctx, client.ObjectKey{Namespace: ns, Name: tenant}, t)).To(Succeed())
			return t
		}
	}

	BeforeAll(func() {
		Expect(deleteLeftoverProjects(ctx, ns+"_"+tenant)).To(Succeed())
		departmentNamespace(ns)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=300s") })
		apply(manifest("first"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+tenant, "--timeout=120s")
		projectID = isoTenant(ns, tenant).Status.ProjectID

		By("a second cluster with its own operator, against the same cloud")
		second = newCluster()
		log, err := os.Create(filepath.Join(repoRoot, ".local", "e2e", "manager-second-cluster.log"))
		Expect(err).NotTo(HaveOccurred())
		secondMgr = exec.Command(os.Getenv("MANAGER_BIN"), "--kubeconfig", second.kubeconfig, "--resync-period", resyncPeriod.String(),
			"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--cluster-lease", clusterLease.String(),
			"--operator-namespace", operatorNamespace, "--allow-http-auth-url")
		secondMgr.Stdout, secondMgr.Stderr = log, log
		Expect(secondMgr.Start()).To(Succeed())
		DeferCleanup(func() {
			_ = secondMgr.Process.Signal(os.Interrupt)
			_ = secondMgr.Wait()
			_ = log.Close()
			Expect(second.cp.Stop()).To(Succeed())
		})
	})

	It("lets only the first manage the project; the second says whose it is and changes nothing", func() {
		kubectlOn(second.kubeconfig, "apply", "-f", writeManifest(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata: {name: %s, labels: {whitehall.cloud/department: "true"}}
---
%s`, ns, manifest("second"))))
		Eventually(func(g Gomega) *whv1.Tenant { return readyOf(second.k8s)(g) }).Should(WithTransform(func(t *whv1.Tenant) string {
			c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
			if c == nil {
				return ""
			}
			return c.Reason + ": " + c.Message
		}, And(HavePrefix(whv1.ReasonOwnedByAnotherCluster+": "), ContainSubstring("project "+projectID+" is managed from another cluster"))))

		By("for several resyncs of both, the project keeps the first cluster's owner and tags")
		first := isoTenant(ns, tenant)
		Consistently(func(g Gomega) {
			p := isoProject(g, projectID)
			g.Expect(p.Owner[0]).To(Equal(string(first.UID)))
			g.Expect(p.Tags).To(Equal([]string{"first"}))
			g.Expect(readyOf(k8s)(g).Status.Conditions).To(ContainElement(And(
				HaveField("Type", whv1.ConditionReady), HaveField("Status", BeEquivalentTo("True")))))
		}).WithTimeout(4 * resyncPeriod).WithPolling(time.Second).Should(Succeed())
		id, err := admin.FindProject(ctx, ns+"_"+tenant)
		Expect(err).NotTo(HaveOccurred())
		Expect(id).To(Equal(projectID), "no second project beside it")
		Expect(readyOf(second.k8s)(Default).Status.ProjectID).To(BeEmpty(), "the second never records it as its own")
	})
})
