package envtest

import (
	"context"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/controllers/usage"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// testClock is a clock a test moves.
type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// The usage reader runs in its own manager, on a clock the test moves, so a month can
// close within a test; the suite's manager runs the Tenants on the same fake cloud.
var _ = Describe("Usage and the monthly statement", Ordered, func() {
	const usageCloud = "metered"
	var (
		clock         *testClock
		stop          context.CancelFunc
		hmrc, dwp     *whv1.Tenant
		hmrcP, dwpP   string
		outsider      *whv1.Tenant
		january       = time.Date(2031, time.January, 20, 12, 0, 0, 0, time.UTC)
		reportOfMonth = func(g Gomega, month string) *whv1.UsageReport {
			var list whv1.UsageReportList
			g.Expect(k8s.List(ctx, &list)).To(Succeed())
			for i := range list.Items {
				if r := &list.Items[i]; r.Spec.Month == month && r.Spec.Cloud == usageCloud {
					return r
				}
			}
			g.Expect(list.Items).To(ContainElement(And(HaveField("Spec.Month", month), HaveField("Spec.Cloud", usageCloud))))
			return nil
		}
	)

	BeforeAll(func() {
		metered := &whv1.Cloud{
			ObjectMeta: metav1.ObjectMeta{Name: usageCloud},
			Spec: whv1.CloudSpec{
				CredentialsSecretRef: whv1.CloudSecretReference{Name: goodSecret, CloudName: "dev"},
				NamespaceSelector:    metav1.LabelSelector{MatchLabels: map[string]string{departmentLabel: "true"}},
				Tariff:               &whv1.Tariff{Currency: "GBP", VCPUHour: ptr.To("0.021"), RAMGiBHour: ptr.To("0.0032"), VolumeGiBMonth: ptr.To("0.045")},
			},
		}
		Expect(k8s.Create(ctx, metered)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, metered))).To(Succeed()) })

		onMetered := func(code string) func(*whv1.Tenant) {
			return func(t *whv1.Tenant) {
				t.Spec.CloudRef.Name = usageCloud
				t.Labels = map[string]string{whv1.CostCodeLabel: code}
			}
		}
		hmrc = createTenant(newDepartment(), "self-assessment", onMetered("HMRC-001"))
		dwp = createTenant(newDepartment(), "universal-credit", onMetered("DWP-002"))
		// A namespace the Cloud does not admit names it, with a cost code of its own.
		outsider = createTenant(newNamespace(), "intruder", onMetered("HMRC-001"))
		Eventually(readyTenant(hmrc)).ShouldNot(BeNil())
		Eventually(readyTenant(dwp)).ShouldNot(BeNil())
		hmrcP, dwpP = fetch(hmrc).Status.ProjectID, fetch(dwp).Status.ProjectID

		// January: HMRC ran 100 vCPU-hours with 200 GiB-hours of RAM and keeps a 100 GiB
		// volume all month; DWP ran 10 vCPU-hours.
		cloud.RecordUsage(time.Date(2031, time.January, 10, 0, 0, 0, 0, time.UTC), openstack.ProjectUsage{ProjectID: hmrcP, VCPUHours: 100, RAMMiBHours: 200 * 1024, LocalGiBHours: 50})
		cloud.RecordUsage(time.Date(2031, time.January, 15, 0, 0, 0, 0, time.UTC), openstack.ProjectUsage{ProjectID: dwpP, VCPUHours: 10, RAMMiBHours: 0})
		cloud.SetVolumes([]openstack.VolumeSize{{ProjectID: hmrcP, SizeGiB: 100, Created: time.Date(2030, time.December, 1, 0, 0, 0, 0, time.UTC)}})
		DeferCleanup(func() { cloud.SetVolumes(nil) })

		clock = &testClock{now: january}
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{
			Scheme:     k8s.Scheme(),
			Metrics:    metricsserver.Options{BindAddress: "0"},
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(lookups.SetupIndexes(ctx, mgr)).To(Succeed())
		Expect((&usage.Reconciler{
			Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder("whitehall-operator"),
			Clouds:   newFakeConnector[usage.Cloud](secretReader{cached: mgr.GetAPIReader(), live: mgr.GetAPIReader()}),
			Access:   access.Access{Reader: mgr.GetClient(), OperatorNamespace: operatorNamespace},
			Interval: 300 * time.Millisecond, Now: clock.Now,
		}).SetupWithManager(mgr)).To(Succeed())
		var mgrCtx context.Context
		mgrCtx, stop = context.WithCancel(ctx)
		go func() {
			defer GinkgoRecover()
			Expect(mgr.Start(mgrCtx)).To(Succeed())
		}()
		DeferCleanup(func() { stop() })
	})

	AfterAll(func() {
		var list whv1.UsageReportList
		Expect(k8s.List(ctx, &list)).To(Succeed())
		for i := range list.Items {
			if list.Items[i].Spec.Month >= "2031-01" {
				Expect(client.IgnoreNotFound(k8s.Delete(ctx, &list.Items[i]))).To(Succeed())
			}
		}
	})

	It("shows each Tenant its own month so far, and its cost at the tariff", func() {
		Eventually(func(g Gomega) {
			t := fetch(hmrc)
			g.Expect(t.Status.Usage).NotTo(BeNil())
			g.Expect(t.Status.Usage.CurrentMonth).To(PointTo(Equal(whv1.MonthUsage{Month: "2031-01", UsageFigures: whv1.UsageFigures{
				VCPUHours: "100.000", RAMGiBHours: "200.000", DiskGiBHours: "50.000",
				// 100 GiB from 1 January to 20 January 12:00 (468 h) of a 744 h month
				VolumeGiBMonths: "62.903",
				// 100 × 0.021 + 200 × 0.0032 + 62.903 × 0.045 = 2.1 + 0.64 + 2.830635
				Cost: "5.57", Currency: "GBP",
			}})))
			g.Expect(t.Status.Usage.ReadAt.Time).To(BeTemporally("==", january))
		}).Should(Succeed())
		Eventually(func(g Gomega) {
			t := fetch(dwp)
			g.Expect(t.Status.Usage).NotTo(BeNil())
			// DWP sees its own 10 vCPU-hours, nothing of HMRC's.
			g.Expect(t.Status.Usage.CurrentMonth.VCPUHours).To(Equal("10.000"))
			g.Expect(t.Status.Usage.CurrentMonth.VolumeGiBMonths).To(Equal("0.000"))
			g.Expect(t.Status.Usage.CurrentMonth.Cost).To(Equal("0.21"))
		}).Should(Succeed())
		Consistently(func() *whv1.TenantUsage { return fetch(outsider).Status.Usage }).Should(BeNil(),
			"a Tenant in a namespace the Cloud does not admit has no project and no usage")
	})

	It("keeps a department deleted mid-month, and writes the statement once the month closes", func() {
		Expect(k8s.Delete(ctx, dwp)).To(Succeed())
		Eventually(isGone(dwp)).Should(BeTrue())
		clock.Set(time.Date(2031, time.January, 25, 0, 0, 0, 0, time.UTC)) // the next read
		Eventually(func(g Gomega) {
			var c whv1.Cloud
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: usageCloud}, &c)).To(Succeed())
			g.Expect(c.Status.Usage).NotTo(BeNil())
			g.Expect(c.Status.Usage.Departments).To(ContainElement(And(
				HaveField("ProjectID", dwpP), HaveField("Deleted", true), HaveField("UsageFigures.VCPUHours", "10.000"))))
		}).Should(Succeed())

		// February opens (London is on GMT); HMRC keeps running.
		cloud.RecordUsage(time.Date(2031, time.February, 1, 0, 10, 0, 0, time.UTC), openstack.ProjectUsage{ProjectID: hmrcP, VCPUHours: 2})
		clock.Set(time.Date(2031, time.February, 1, 0, 30, 0, 0, time.UTC))

		var report *whv1.UsageReport
		Eventually(func(g Gomega) { report = reportOfMonth(g, "2031-01") }).Should(Succeed())
		Expect(report.Name).To(Equal("2031-01."+usageCloud), "more than one Cloud: the statement names its Cloud")
		Expect(report.Spec.TimeZone).To(Equal("Europe/London"))
		Expect(report.Spec.Currency).To(Equal("GBP"))
		Expect(report.Spec.Tariff.VCPUHour).To(PointTo(Equal("0.021")))
		Expect(report.Spec.DepartmentCount).To(BeEquivalentTo(2))
		Expect(report.Spec.Departments).To(ConsistOf(
			whv1.ReportDepartment{Namespace: hmrc.Namespace, Tenant: hmrc.Name, ProjectID: hmrcP, CostCode: "HMRC-001", UsageFigures: whv1.UsageFigures{
				// the volume all month: 100 GiB-months
				VCPUHours: "100.000", RAMGiBHours: "200.000", DiskGiBHours: "50.000", VolumeGiBMonths: "100.000", Cost: "7.24", Currency: "GBP",
			}},
			whv1.ReportDepartment{Namespace: dwp.Namespace, Tenant: dwp.Name, ProjectID: dwpP, CostCode: "DWP-002", UsageFigures: whv1.UsageFigures{
				VCPUHours: "10.000", RAMGiBHours: "0.000", DiskGiBHours: "0.000", VolumeGiBMonths: "0.000", Cost: "0.21", Currency: "GBP",
			}},
		))
		Expect(report.Spec.Totals).To(ConsistOf(
			And(HaveField("CostCode", "DWP-002"), HaveField("Departments", BeEquivalentTo(1)), HaveField("UsageFigures.Cost", "0.21")),
			And(HaveField("CostCode", "HMRC-001"), HaveField("Departments", BeEquivalentTo(1)), HaveField("UsageFigures.Cost", "7.24")),
		))
		Expect(report.Spec.Total).To(Equal("7.45"))

		// HMRC's Tenant has January as its statement states it, and February so far.
		Eventually(func(g Gomega) {
			u := fetch(hmrc).Status.Usage
			var line whv1.UsageFigures
			for _, d := range report.Spec.Departments {
				if d.ProjectID == hmrcP {
					line = d.UsageFigures
				}
			}
			g.Expect(u.LastMonth).To(PointTo(Equal(whv1.MonthUsage{Month: "2031-01", UsageFigures: line})))
			g.Expect(u.CurrentMonth.Month).To(Equal("2031-02"))
			g.Expect(u.CurrentMonth.VCPUHours).To(Equal("2.000"))
		}).Should(Succeed())
		// The deleted department does not carry into February.
		var c whv1.Cloud
		Expect(k8s.Get(ctx, client.ObjectKey{Name: usageCloud}, &c)).To(Succeed())
		Expect(c.Status.Usage.Month).To(Equal("2031-02"))
		Expect(c.Status.Usage.Departments).NotTo(ContainElement(HaveField("ProjectID", dwpP)))
	})

	It("never changes a statement, even when late usage for its month turns up", func() {
		var report *whv1.UsageReport
		Eventually(func(g Gomega) { report = reportOfMonth(g, "2031-01") }).Should(Succeed())
		cloud.RecordUsage(time.Date(2031, time.January, 31, 23, 0, 0, 0, time.UTC), openstack.ProjectUsage{ProjectID: hmrcP, VCPUHours: 1000})
		clock.Set(time.Date(2031, time.February, 2, 0, 0, 0, 0, time.UTC))
		Eventually(func() string { return fetch(hmrc).Status.Usage.ReadAt.Format(time.RFC3339) }).Should(Equal("2031-02-02T00:00:00Z"))
		Consistently(func(g Gomega) {
			again := reportOfMonth(g, "2031-01")
			g.Expect(again.ResourceVersion).To(Equal(report.ResourceVersion))
		}, "1s").Should(Succeed())

		// A hand edit is refused by the API server itself.
		edited := report.DeepCopy()
		edited.Spec.Total = "0.00"
		err := k8s.Update(ctx, edited)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("a UsageReport is never changed once written"))
	})

	It("moves a relabelled department's usage to its new cost code, and no one else's", func() {
		// Only the platform team writes Tenants; a label a Tenant carries charges that
		// Tenant's own project and nothing else.
		change(hmrc, func(t *whv1.Tenant) { t.Labels[whv1.CostCodeLabel] = "DWP-002" })
		clock.Set(time.Date(2031, time.February, 4, 0, 0, 0, 0, time.UTC))
		Eventually(func(g Gomega) {
			var c whv1.Cloud
			g.Expect(k8s.Get(ctx, client.ObjectKey{Name: usageCloud}, &c)).To(Succeed())
			g.Expect(c.Status.Usage.Departments).To(ConsistOf(And(HaveField("ProjectID", hmrcP), HaveField("CostCode", "DWP-002"))))
		}).Should(Succeed())
		Expect(fetch(outsider).Status.Usage).To(BeNil())
	})

	It("tells a PeakSeason how many vCPU-hours its departments ran above their baseline in its last window", func() {
		ps := &whv1.PeakSeason{
			ObjectMeta: metav1.ObjectMeta{GenerateName: "advent-"},
			Spec: whv1.PeakSeasonSpec{
				TimeZone: "UTC", CloudRef: &whv1.CloudReference{Name: usageCloud},
				Windows: []whv1.SeasonWindow{{From: ptr.To("2030-12-05T00:00:00"), To: ptr.To("2030-12-10T00:00:00")}},
			},
		}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, ps))).To(Succeed()) })
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: hmrc.Namespace, Name: "self-assessment"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: hmrc.Name},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](2)}},
				Peaks:     []whv1.QuotaPeak{{Season: ps.Name, QuotaSet: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](8)}}}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, cq))).To(Succeed()) })
		// 300 vCPU-hours in a 120-hour window on a 2-core baseline (240 vCPU-hours).
		cloud.RecordUsage(time.Date(2030, time.December, 7, 0, 0, 0, 0, time.UTC), openstack.ProjectUsage{ProjectID: hmrcP, VCPUHours: 300})
		clock.Set(time.Date(2031, time.February, 5, 0, 0, 0, 0, time.UTC))
		Eventually(func(g Gomega) {
			g.Expect(fetch(ps).Status.LastWindow).To(PointTo(MatchFields(IgnoreExtras, Fields{
				"VCPUHours": Equal("300.000"), "BaselineVCPUHours": Equal("240.000"), "ExtraVCPUHours": Equal("60.000"),
				"Departments": BeEquivalentTo(1),
			})))
		}).Should(Succeed())
		Expect(fetch(ps).Status.LastWindow.End.UTC()).To(Equal(time.Date(2030, time.December, 10, 0, 0, 0, 0, time.UTC)))
	})
})
