package e2e

import (
	"encoding/json"
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

var _ = Describe("Showback on the dev cloud", Ordered, func() {
	const ns, name = "dwp", "e2e-usage"
	var tenant *whv1.Tenant

	BeforeAll(func() {
		apply(tenantYAML(ns, name, "network: {cidr: 10.61.0.0/24}"))
		kubectl("-n", ns, "label", "tenant", name, whv1.CostCodeLabel+"=DWP-E2E", "--overwrite")
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/"+name, "--timeout=120s")
		tenant = &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, tenant)).To(Succeed())
		DeferCleanup(func() {
			_, _ = tryKubectl("-n", ns, "delete", "testenvironment", "usage", "--ignore-not-found", "--wait=true", "--timeout=180s")
			kubectl("-n", ns, "delete", "tenant", name, "--wait=true", "--timeout=180s")
		})
	})

	It("shows vCPU-hours above zero within one usage interval of servers booting, at a cost of hours × tariff", func() {
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: usage, namespace: %s}
spec:
  tenantRef: {name: %s}
  replicas: 2
  template: {flavor: m1.tiny, image: cirros}
`, ns, name))
		Eventually(func(g Gomega) int {
			list, err := admin.ProjectServers(ctx, tenant.Status.ProjectID)
			g.Expect(err).NotTo(HaveOccurred())
			active := 0
			for _, s := range list {
				if s.Status == "ACTIVE" {
					active++
				}
			}
			return active
		}).WithTimeout(5 * time.Minute).WithPolling(2 * time.Second).Should(Equal(2))
		// A tariff large enough that a few minutes of two servers cost pounds, not a
		// fraction of a penny that rounds to 0.00 whatever the arithmetic did.
		kubectl("patch", "cloud", "whitehall", "--type=merge", "-p",
			`{"spec":{"tariff":{"currency":"GBP","vcpuHour":"1000","ramGiBHour":"100","volumeGiBMonth":"0.045"}}}`)
		DeferCleanup(func() {
			kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "cloud_whitehall.yaml"))
		})
		booted := time.Now()

		var u *whv1.TenantUsage
		Eventually(func(g Gomega) {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), t)).To(Succeed())
			u = t.Status.Usage
			g.Expect(u).NotTo(BeNil())
			g.Expect(u.ReadAt.Time).To(BeTemporally(">", booted))
			g.Expect(decimal(u.CurrentMonth.VCPUHours).Sign()).To(Equal(1), "vCPU-hours %s", u.CurrentMonth.VCPUHours)
			g.Expect(decimal(u.CurrentMonth.Cost).Sign()).To(Equal(1), "cost %s", u.CurrentMonth.Cost)
		}).WithTimeout(usageInterval + 30*time.Second).WithPolling(time.Second).Should(Succeed())
		AddReportEntry("Tenant status.usage one usage interval after 2 servers booted", toJSON(u))

		// cost = vCPU-hours × 1000 + RAM GiB-hours × 100 + volume GiB-months × 0.045 (the
		// tariff above), rounded to pence.
		m := u.CurrentMonth
		want := new(big.Rat).Mul(decimal(m.VCPUHours), decimal("1000"))
		want.Add(want, new(big.Rat).Mul(decimal(m.RAMGiBHours), decimal("100")))
		if m.VolumeGiBMonths != "" {
			want.Add(want, new(big.Rat).Mul(decimal(m.VolumeGiBMonths), decimal("0.045")))
		}
		Expect(m.Currency).To(Equal("GBP"))
		// The cost is priced from the exact usage, the figures shown are rounded to a
		// thousandth: they agree to within half a thousandth of each price, plus half a
		// penny.
		tolerance := decimal("0.5505225") // 0.0005 × (1000 + 100 + 0.045) + 0.005
		diff := new(big.Rat).Sub(decimal(m.Cost), want)
		Expect(diff.Abs(diff).Cmp(tolerance)).To(BeNumerically("<=", 0),
			"cost %s, figures × tariff %s", m.Cost, usage.Format(want, 2))
		Expect(kubectl("-n", ns, "get", "tenant", name)).To(MatchRegexp(`VCPU-H\s+COST`))

		Expect(scrapeMetrics()).To(HaveKey(fmt.Sprintf(`whitehall_usage_month_vcpu_hours{cost_code="DWP-E2E",namespace="%s",tenant="%s"}`, ns, name)))
	})

	It("closes a month into a UsageReport that lists the department, and never changes it", func() {
		// The dev cloud is younger than a month, so no month of it has closed: make the
		// Cloud's running month the last one, as if its last read had been made before
		// midnight on that month's last day. The next read closes it with Nova's figures.
		london, err := time.LoadLocation("Europe/London")
		Expect(err).NotTo(HaveOccurred())
		prev := usage.MonthOf(time.Now(), london).Prev()
		status := map[string]any{"status": map[string]any{"usage": map[string]any{
			"month": prev.String(), "readAt": prev.End().Add(-time.Hour).UTC().Format(time.RFC3339),
			"departments": []map[string]any{{"namespace": ns, "tenant": name, "projectID": tenant.Status.ProjectID, "costCode": "DWP-E2E"}},
		}}}
		report := func() *whv1.UsageReport {
			var list whv1.UsageReportList
			Expect(k8s.List(ctx, &list)).To(Succeed())
			for i := range list.Items {
				if r := &list.Items[i]; r.Spec.Month == prev.String() && r.Spec.Cloud == "whitehall" {
					return r
				}
			}
			return nil
		}
		if old := report(); old != nil { // from an earlier run
			Expect(k8s.Delete(ctx, old)).To(Succeed())
		}
		// A read in flight may write over the patch once: patch until the month closes.
		Eventually(func() *whv1.UsageReport {
			if r := report(); r != nil {
				return r
			}
			kubectl("patch", "cloud", "whitehall", "--subresource=status", "--type=merge", "-p", toJSON(status))
			return report()
		}).WithTimeout(3 * usageInterval).WithPolling(usageInterval / 2).ShouldNot(BeNil())
		r := report()
		DeferCleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(ctx, r)) })
		AddReportEntry("UsageReport "+r.Name, kubectl("get", "usagereport", r.Name, "-o", "yaml"))
		AddReportEntry("kubectl get usagereports", kubectl("get", "usagereports"))
		Expect(r.Spec.TimeZone).To(Equal("Europe/London"))
		Expect(r.Spec.Currency).To(Equal("GBP"))
		Expect(r.Spec.Departments).To(ContainElement(And(
			HaveField("Namespace", ns), HaveField("Tenant", name), HaveField("ProjectID", tenant.Status.ProjectID), HaveField("CostCode", "DWP-E2E"))))
		Expect(r.Spec.Totals).To(ContainElement(HaveField("CostCode", "DWP-E2E")))

		out, err := tryKubectl("patch", "usagereport", r.Name, "--type=merge", "-p", `{"spec":{"total":"999.99"}}`)
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("a UsageReport is never changed once written"))
		// The Tenant's last month is its line of the statement.
		Eventually(func(g Gomega) string {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), t)).To(Succeed())
			g.Expect(t.Status.Usage).NotTo(BeNil())
			g.Expect(t.Status.Usage.LastMonth).NotTo(BeNil())
			return t.Status.Usage.LastMonth.Month
		}).WithTimeout(2 * usageInterval).Should(Equal(prev.String()))
	})
})

func decimal(s string) *big.Rat {
	r, err := usage.ParseDecimal(strings.TrimSpace(s))
	Expect(err).NotTo(HaveOccurred())
	return r
}

func toJSON(v any) string {
	b, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}
