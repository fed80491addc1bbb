package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// Two shards on the local control plane: the default shard and shard b, each its own
// process with leader election, as the chart's shards: 2 runs them. Each works only in
// its own namespaces; PeakSeason committed (the default shard's) counts both; a namespace
// relabelled from b to the default shard is handed over without a gap or two writers.
var _ = Describe("shards: two operator processes split the namespaces by label", Ordered, func() {
	const (
		inB     = "e2e-shards-b"
		inD     = "e2e-shards-default"
		season  = "e2e-shards-season"
		project = "_dept"
	)
	var defaultShard, shardB *extraManager

	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, inB+project, inD+project)).To(Succeed(), "leftovers of an earlier run")
		By("running the default shard and shard b, both with leader election, instead of the suite's manager")
		stopManager(os.Interrupt)
		defaultShard = startExtraManager("shard-default", "--leader-elect")
		shardB = startExtraManager("shard-b", "--leader-elect", "--shard", "b")
		DeferCleanup(func() {
			shardB.stop()
			defaultShard.stop()
			startManager()
		})

		apply(fmt.Sprintf(`apiVersion: v1
kind: Namespace
metadata:
  name: %s
  labels: {whitehall.cloud/department: "true", whitehall.cloud/shard: b}
`, inB))
		departmentNamespace(inD)
		from := time.Now().AddDate(0, 0, 30).UTC().Format("2006-01-02T15:04:05")
		to := time.Now().AddDate(0, 0, 31).UTC().Format("2006-01-02T15:04:05")
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: %s}
spec:
  timeZone: UTC
  windows: [{from: %q, to: %q}]
`, season, from, to))
		for ns, peak := range map[string]int{inB: 40, inD: 24} {
			apply(tenantYAML(ns, "dept", ""))
			apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: quota, namespace: %s}
spec:
  tenantRef: {name: dept}
  baseline:
    compute: {cores: 12, instances: 6}
  peaks:
    - season: %s
      compute: {cores: %d}
`, ns, season, peak))
		}
		DeferCleanup(func() {
			for _, ns := range []string{inB, inD} {
				kubectl("-n", ns, "delete", "computequota", "quota", "--ignore-not-found", "--timeout=60s")
				kubectl("-n", ns, "delete", "tenant", "dept", "--ignore-not-found", "--timeout=120s")
				kubectl("delete", "namespace", ns, "--wait=false")
			}
			kubectl("delete", "peakseason", season, "--ignore-not-found", "--timeout=60s")
		})
		for _, ns := range []string{inB, inD} {
			kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/dept", "computequota/quota", "--timeout=120s")
		}
	})

	It("shards: each namespace is worked in by the shard its label names, and no other", func() {
		for _, c := range []struct {
			m          *extraManager
			own, other string
		}{{shardB, inB, inD}, {defaultShard, inD, inB}} {
			log := c.m.logText()
			Expect(log).To(ContainSubstring(`"namespace":"`+c.own+`"`), "%s logs its own namespace's reconciles", c.m.name)
			Expect(log).NotTo(ContainSubstring(`"namespace":"`+c.other+`"`), "%s never works in the other's namespace", c.m.name)
		}
		Expect(recordHolderE2E(inB)).To(Equal("b"))
		Expect(recordHolderE2E(inD)).To(Equal("default"))
	})

	It("shards: the cluster-wide work (Clouds, seasons, policies, the usage reader) runs in the default shard alone", func() {
		started := func(m *extraManager) []string {
			var out []string
			for _, line := range strings.Split(m.logText(), "\n") {
				if _, rest, ok := strings.Cut(line, `"msg":"Starting Controller","controller":"`); ok {
					name, _, _ := strings.Cut(rest, `"`)
					out = append(out, name)
				}
			}
			slices.Sort(out)
			return out
		}
		Expect(started(defaultShard)).To(Equal([]string{"cloud", "computequota", "departmentpolicy", "peakseason", "tenant", "testenvironment", "usage"}))
		Expect(started(shardB)).To(Equal([]string{"computequota", "tenant", "testenvironment"}))
	})

	It("shards: PeakSeason committed counts the peaks of both shards' namespaces", func() {
		Eventually(func() *int64 {
			ps := &whv1.PeakSeason{}
			Expect(k8s.Get(ctx, client.ObjectKey{Name: season}, ps)).To(Succeed())
			if ps.Status.Committed == nil {
				return nil
			}
			return ps.Status.Committed.Cores
		}).Should(HaveValue(Equal(int64(40 + 24))))
	})

	It("shards: a namespace relabelled from b to the default shard is handed over, its change applied once", func() {
		projectID := kubectl("-n", inB, "get", "tenant", "dept", "-o", "jsonpath={.status.projectID}")
		start := time.Now()
		kubectl("label", "namespace", inB, "whitehall.cloud/shard-")
		kubectl("-n", inB, "patch", "computequota", "quota", "--type=merge", "-p", `{"spec":{"baseline":{"compute":{"cores":14}}}}`)

		Eventually(func() string { return recordHolderE2E(inB) }).Should(Equal("default"), "b gave the record to the default shard")
		AddReportEntry("relabel to record handed over", time.Since(start).String())
		Eventually(func(g Gomega) cloudtest.Quota {
			q, err := admin.GetQuota(ctx, projectID)
			g.Expect(err).NotTo(HaveOccurred())
			return q
		}).Should(HaveField("Cores", 14))
		AddReportEntry("relabel to the change in Nova", time.Since(start).String())
		Eventually(func(g Gomega) {
			cq := &whv1.ComputeQuota{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: inB, Name: "quota"}, cq)).To(Succeed())
			ready := meta.FindStatusCondition(cq.Status.Conditions, whv1.ConditionReady)
			g.Expect(ready).NotTo(BeNil())
			g.Expect(ready.Status).To(BeEquivalentTo("True"))
			g.Expect(ready.ObservedGeneration).To(Equal(cq.Generation))
		}).Should(Succeed())

		applied := func() int {
			return strings.Count(shardB.logText()+defaultShard.logText(), "compute.cores 12→14 on project "+projectID)
		}
		Consistently(func(g Gomega) {
			g.Expect(applied()).To(Equal(1), "the change was written to Nova by exactly one shard")
			g.Expect(kubectl("-n", inB, "get", "tenant", "dept", "-o", `jsonpath={.status.conditions[?(@.type=="Ready")].status}`)).To(Equal("True"))
		}).WithTimeout(2 * resyncPeriod).WithPolling(time.Second).Should(Succeed())

		Expect(shardB.logText()).To(ContainSubstring("handed a namespace over"))
		Expect(afterLine(shardB.logText(), "handed a namespace over")).NotTo(ContainSubstring(`"namespace":"`+inB+`","name"`), "b reconciles nothing in the namespace after the hand-over")
		Expect(defaultShard.logText()).To(ContainSubstring(`"namespace":"`+inB+`"`), "the default shard works there now")
		named, err := admin.ProjectsNamed(ctx, inB+project)
		Expect(err).NotTo(HaveOccurred())
		Expect(named).To(HaveLen(1), "nothing made twice")
	})
})

// extraManager is an operator process started beside (or instead of) the suite's, with
// its own log in .local/e2e and no metrics or probe listener.
type extraManager struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
}

// startExtraManager starts the operator binary with the suite's flags and args; its log
// is .local/e2e/manager-<name>.log.
func startExtraManager(name string, args ...string) *extraManager {
	dir := filepath.Join(repoRoot, ".local", "e2e")
	Expect(os.MkdirAll(dir, 0o755)).To(Succeed())
	log, err := os.Create(filepath.Join(dir, "manager-"+name+".log"))
	Expect(err).NotTo(HaveOccurred())
	cmd := exec.Command(os.Getenv("MANAGER_BIN"), append(managerArgs(), append([]string{
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0"}, args...)...)...)
	cmd.Stdout, cmd.Stderr = log, log
	Expect(cmd.Start()).To(Succeed())
	return &extraManager{name: name, cmd: cmd, log: log}
}

// stop stops the process cleanly (its leader Lease is released) and waits for it.
func (m *extraManager) stop() {
	if m == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	_ = m.cmd.Wait()
	_ = m.log.Close()
}

func (m *extraManager) logText() string {
	data, err := os.ReadFile(m.log.Name())
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// afterLine is what log holds after its first line containing marker; "" without one.
func afterLine(log, marker string) string {
	at := strings.Index(log, marker)
	if at < 0 {
		return ""
	}
	rest := log[at:]
	if nl := strings.IndexByte(rest, '\n'); nl >= 0 {
		return rest[nl+1:]
	}
	return ""
}

// recordHolderE2E is the shard holding namespace ns's record; "" when it has none.
func recordHolderE2E(ns string) string {
	record := &coordinationv1.Lease{}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: ns + ".shard.whitehall.cloud"}, record); err != nil {
		return ""
	}
	return ptr.Deref(record.Spec.HolderIdentity, "")
}
