package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Capacity shared by priority when short, on the dev cloud's own Placement: two
// departments whose peaks together exceed what the cloud holds; the higher priority
// gets its whole peak and the other what is left. The other's peak is above what its
// DepartmentPolicy approves by itself: it is applied the moment it is approved.
var _ = Describe("peak capacity: the dev cloud's Placement shared by priority", Ordered, func() {
	const (
		first  = "e2e-capacity-first"
		second = "e2e-capacity-second"
		season = "e2e-capacity-season"
		// baseline cores of both; the second's peak wants far more than is left.
		baseline   = 4
		secondPeak = 1_000_000
		// what the first's peak leaves of what is available, above the second's baseline.
		leave = 2000
	)
	var (
		projects  = map[string]string{}
		available int64 // Placement's VCPU capacity less what is in use, read by the test
		firstPeak int64
	)
	novaCores := func(ns string) func(Gomega) int {
		return func(g Gomega) int {
			q, err := admin.GetQuota(ctx, projects[ns])
			g.Expect(err).NotTo(HaveOccurred())
			return q.Cores
		}
	}
	cq := func(ns string) *whv1.ComputeQuota {
		out := &whv1.ComputeQuota{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dept"}, out)).To(Succeed())
		return out
	}

	BeforeAll(func() {
		for _, ns := range []string{first, second} {
			Expect(admin.DeleteOwnedProjects(ctx, ns+"_dept")).To(Succeed(), "leftovers of an earlier run")
		}
		kubectl("delete", "peakseason", season, "--ignore-not-found", "--timeout=60s")
		capacity, allocated, err := admin.PlacementCores(ctx)
		Expect(err).NotTo(HaveOccurred())
		available = capacity - allocated // the departments' new projects use nothing
		firstPeak = available - leave
		Expect(firstPeak).To(BeNumerically(">", baseline), "the dev cloud holds %d cores, %d in use", capacity, allocated)
		AddReportEntry("dev cloud Placement", fmt.Sprintf("%d cores, %d allocated: %d available", capacity, allocated, available))

		// The centre ranks the first department 10; the second's policy approves peaks up
		// to 100 cores by themselves, and ranks it 0.
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: %[1]s}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[1]s}}
  peaks: {priority: 10}
---
apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: %[2]s}
spec:
  namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: %[2]s}}
  peaks: {autoApproveUpTo: {cores: 100}}
`, first, second))
		for _, ns := range []string{first, second} {
			departmentNamespace(ns)
			apply(tenantYAML(ns, "dept", ""))
		}
		for _, ns := range []string{first, second} {
			kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/dept", "--timeout=120s")
			t := &whv1.Tenant{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dept"}, t)).To(Succeed())
			projects[ns] = t.Status.ProjectID
		}
		DeferCleanup(func() {
			for _, ns := range []string{first, second} {
				kubectl("-n", ns, "delete", "computequota", "dept", "--ignore-not-found", "--timeout=60s")
			}
			kubectl("delete", "peakseason", season, "--ignore-not-found", "--timeout=60s")
			kubectl("delete", "departmentpolicy", first, second, "--ignore-not-found")
			for _, ns := range []string{first, second} {
				kubectl("-n", ns, "delete", "tenant", "dept", "--ignore-not-found", "--timeout=120s")
				kubectl("delete", "namespace", ns, "--wait=false")
			}
		})
	})

	It("peak capacity: confirms ahead, then gives the higher priority its whole peak and the other what is left", func() {
		london, err := time.LoadLocation("Europe/London")
		Expect(err).NotTo(HaveOccurred())
		stamp := func(t time.Time) string { return t.In(london).Format("2006-01-02T15:04:05") }
		opens := time.Now().Add(40 * time.Second).Truncate(time.Second)
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: %s}
spec:
  windows: [{from: %q, to: %q}]
  cloudRef: {name: whitehall}
`, season, stamp(opens), stamp(opens.Add(2*time.Hour))))
		for ns, peak := range map[string]int64{first: firstPeak, second: secondPeak} {
			apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: dept, namespace: %s}
spec:
  tenantRef: {name: dept}
  baseline: {compute: {cores: %d}}
  peaks: [{season: %s, compute: {cores: %d}}]
`, ns, baseline, season, peak))
		}

		By("before the window: the first's peak is confirmed; the second's awaits approval")
		Eventually(func(g Gomega) string {
			return kubectl("-n", first, "get", "computequota", "dept", "-o", `jsonpath={.status.conditions[?(@.type=="PeakCapacity")].reason}`)
		}).WithTimeout(60 * time.Second).Should(Equal(whv1.ReasonPeakConfirmed))
		Expect(time.Now().Before(opens)).To(BeTrue(), "judged before the window opened")
		Eventually(func() string {
			return kubectl("-n", second, "get", "computequota", "dept", "-o", `jsonpath={.status.conditions[?(@.type=="PeakApproval")].reason}`)
		}).WithTimeout(60 * time.Second).Should(Equal(whv1.ReasonApprovalPending))

		By("the window opens: the first gets its whole peak, the second keeps its baseline while pending")
		Eventually(novaCores(first)).WithTimeout(time.Until(opens) + 60*time.Second).Should(Equal(int(firstPeak)))
		Expect(novaCores(second)(Default)).To(Equal(baseline))

		By("the second's peak is approved: it lands in Nova at once, as what the first left")
		bin := pluginBinary()
		cmd := exec.CommandContext(ctx, bin, "approve", "dept", "-n", second, "--season", season, "--kubeconfig", kubeconfig)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		approved := time.Now()
		Expect(cmd.Run()).To(Succeed(), out.String())
		Eventually(novaCores(second)).WithPolling(50 * time.Millisecond).WithTimeout(60 * time.Second).Should(
			BeNumerically(">", baseline))
		toNova := time.Since(approved)
		got := novaCores(second)(Default)
		ps := &whv1.PeakSeason{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: season}, ps)).To(Succeed())
		judged := *ps.Status.Confirmation.Available.Cores
		AddReportEntry("peak capacity on the dev cloud", fmt.Sprintf(
			"available %d (test) / %d (season); first (priority 10) cores %d of peak %d; second (priority 0) cores %d of peak %d; approval to Nova %s",
			available, judged, novaCores(first)(Default), firstPeak, got, secondPeak, toNova))
		Expect(got).To(Equal(int(judged-firstPeak)), "the second gets what the first left")
		Expect(novaCores(first)(Default)).To(Equal(int(firstPeak)), "the first keeps its whole peak")
		Expect(judged).To(BeNumerically("~", available, 64), "the season and the test read the same Placement")
		Consistently(novaCores(second)).WithTimeout(5 * time.Second).Should(Equal(got))

		c := cq(second)
		Expect(c.Status.PeakCapacity).To(ConsistOf(HaveField("Verdict", whv1.VerdictAtRisk)))
		msg := kubectl("-n", second, "get", "computequota", "dept", "-o", `jsonpath={.status.conditions[?(@.type=="PeakCapacity")].message}`)
		Expect(msg).To(ContainSubstring(fmt.Sprintf("grants %d of %d cores in the window open now: priority 0", got, secondPeak)))
		GinkgoWriter.Printf("%s PeakCapacity: %s\n", second, msg)
	})
})
