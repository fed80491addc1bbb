package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
)

var _ = Describe("the operator's memory", func() {
	It("stays under the chart's limit whatever a namespace no Cloud admits creates", func() {
		limit := chartMemoryLimit()
		ns := fmt.Sprintf("e2e-memory-%d", time.Now().UnixNano()%1e6)
		kubectl("create", "namespace", ns)
		DeferCleanup(func() {
			kubectl("delete", "namespace", ns, "--wait=false")
			// 270 MB of Secrets are not left to the specs after this one.
			Eventually(func() bool { _, err := tryKubectl("get", "namespace", ns); return err != nil }).
				WithTimeout(3 * time.Minute).WithPolling(2 * time.Second).Should(BeTrue())
		})
		pid, started := manager.Process.Pid, starts
		before := procMemory(pid)
		GinkgoWriter.Printf("manager RSS before: %s (peak %s); chart limit %s\n", mib(before.rss), mib(before.peak), mib(limit))

		By("300 Secrets of 900 KiB labelled as the operator's, as anyone who may create Secrets can")
		data := []byte(strings.Repeat("0123456789abcdef", 900*1024/16))
		for i := range 300 {
			Expect(k8s.Create(ctx, &corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("memory-%03d", i), Labels: map[string]string{
					access.ManagedByLabel: access.ManagedByValue, "whitehall.cloud/tenant": "memory",
				}},
				Data: map[string][]byte{"clouds.yaml": data},
			})).To(Succeed())
		}

		By("200 TestEnvironments with the biggest template the CRD admits")
		for i := range 200 {
			env := maximalEnvironment(ns, fmt.Sprintf("memory-%03d", i))
			Expect(k8s.Create(ctx, env)).To(Succeed(), "the CRD admits it")
		}
		// Every environment has been through the manager's cache and a reconcile.
		Eventually(func(g Gomega) {
			var list whv1.TestEnvironmentList
			g.Expect(k8s.List(ctx, &list, client.InNamespace(ns))).To(Succeed())
			g.Expect(list.Items).To(HaveLen(200))
			for _, e := range list.Items {
				g.Expect(e.Status.Conditions).NotTo(BeEmpty(), "TestEnvironment %s not reconciled yet", e.Name)
			}
		}).WithTimeout(5 * time.Minute).WithPolling(5 * time.Second).Should(Succeed())

		By("the manager's memory, sampled for 20 s")
		Consistently(func(g Gomega) {
			m := procMemory(pid)
			g.Expect(m.rss).To(BeNumerically("<", limit), "RSS %s", mib(m.rss))
		}).WithTimeout(20 * time.Second).WithPolling(time.Second).Should(Succeed())
		after := procMemory(pid)
		GinkgoWriter.Printf("manager RSS after: %s (peak %s); chart limit %s\n", mib(after.rss), mib(after.peak), mib(limit))
		AddReportEntry("manager RSS", fmt.Sprintf("before %s, after %s, peak %s, limit %s", mib(before.rss), mib(after.rss), mib(after.peak), mib(limit)))
		Expect(after.peak).To(BeNumerically("<", limit), "the manager's peak RSS (VmHWM) stays under the chart's limit")
		Expect(starts).To(Equal(started), "the manager was never restarted")
		Expect(manager.ProcessState).To(BeNil(), "the manager is still running")
	})
})

// maximalEnvironment is a TestEnvironment as big as its CRD admits: every string at its
// MaxLength and every list and map at its MaxItems. template.metadata is held to Nova's
// limits (64 entries, keys and values of 255 characters).
func maximalEnvironment(ns, name string) *whv1.TestEnvironment {
	long := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	env := &whv1.TestEnvironment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: whv1.TestEnvironmentSpec{
			TenantRef: whv1.LocalObjectReference{Name: "memory"},
			Replicas:  ptr.To[int32](500),
			TTL:       &metav1.Duration{Duration: 8760 * time.Hour},
			Template: whv1.ServerTemplate{
				Flavor: long("f", 255), Image: long("i", 255), KeyName: ptr.To(long("k", 255)),
				AvailabilityZone: ptr.To(long("z", 255)), UserData: ptr.To(long("#", 65535)),
				Metadata: map[string]string{},
			},
		},
	}
	t := &env.Spec.Template
	for i := range 8 {
		t.Networks = append(t.Networks, whv1.NetworkRef{Name: ptr.To(long(fmt.Sprintf("n%d-", i), 255))})
	}
	for i := range 16 {
		t.SecurityGroups = append(t.SecurityGroups, long(fmt.Sprintf("sg%d-", i), 255))
		env.Spec.Peaks = append(env.Spec.Peaks, whv1.ReplicaPeak{Season: long(fmt.Sprintf("s%d-", i), 253), Replicas: 500})
	}
	for i := range 64 {
		t.Metadata[long(fmt.Sprintf("k%02d-", i), 255)] = long("v", 255)
	}
	return env
}

// chartMemoryLimit is resources.limits.memory of the chart's values, in bytes.
func chartMemoryLimit() int64 {
	raw, err := os.ReadFile(filepath.Join(repoRoot, "charts", "whitehall-operator", "values.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var values struct {
		Resources corev1.ResourceRequirements `json:"resources"`
	}
	Expect(yaml.Unmarshal(raw, &values)).To(Succeed())
	limit, ok := values.Resources.Limits[corev1.ResourceMemory]
	Expect(ok).To(BeTrue(), "the chart sets a memory limit")
	return limit.Value()
}

type memory struct{ rss, peak int64 }

// procMemory reads the process's resident memory now (VmRSS) and at its highest
// (VmHWM); a process gone or a zombie fails the test.
func procMemory(pid int) memory {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	Expect(err).NotTo(HaveOccurred(), "the manager process %d is gone", pid)
	var m memory
	for line := range strings.Lines(string(status)) {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "State:":
			Expect(fields[1]).NotTo(Equal("Z"), "the manager process %d has exited", pid)
		case "VmRSS:", "VmHWM:":
			kib, err := strconv.ParseInt(fields[1], 10, 64)
			Expect(err).NotTo(HaveOccurred())
			if fields[0] == "VmRSS:" {
				m.rss = kib * 1024
			} else {
				m.peak = kib * 1024
			}
		}
	}
	return m
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
