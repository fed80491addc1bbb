package envtest

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Capacity confirmed ahead, and shared by priority when short: the PeakSeason judges the
// approved peaks against the fake's Placement from confirmAhead before the window, each
// ComputeQuota shows its verdict, and in the window applies no more than its grant.
var _ = Describe("peak capacity", func() {
	const capacityLabel = "test.whitehall.cloud/peak-capacity"
	type department struct {
		ns, project string
		policy      *whv1.DepartmentPolicy
		cq          *whv1.ComputeQuota
	}
	var seasonName string

	// newDepartment is a namespace with its own DepartmentPolicy (ranking its peaks at
	// priority, when set) and a Tenant with a project.
	newDepartment := func(priority *int32) *department {
		ns := newNamespace()
		change(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, func(n *corev1.Namespace) { n.Labels[capacityLabel] = ns })
		p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "capacity-" + ns}, Spec: whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{capacityLabel: ns}}}}
		if priority != nil {
			p.Spec.Peaks = &whv1.PeakRules{Priority: priority}
		}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, p) })
		return &department{ns: ns, project: departmentProject(ns), policy: p}
	}
	// quota gives d a ComputeQuota with baseline and peak cores for the season.
	giveQuota := func(d *department, baseline, peak int64) {
		d.cq = &whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: "dept"}, Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: "dept"},
			Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(baseline)}},
			Peaks:     []whv1.QuotaPeak{{Season: seasonName, QuotaSet: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(peak)}}}},
		}}
		Expect(k8s.Create(ctx, d.cq)).To(Succeed())
	}
	// newSeason is a one-off window from from to to, judged against the shared Cloud.
	newSeason := func(from, to time.Time) *whv1.PeakSeason {
		ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: seasonName}, Spec: whv1.PeakSeasonSpec{
			Windows:  []whv1.SeasonWindow{{From: ptr.To(localStamp(from)), To: ptr.To(localStamp(to))}},
			CloudRef: &whv1.CloudReference{Name: sharedCloud},
		}}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		return ps
	}
	cores := func(d *department) func() int64 {
		return func() int64 { return cloud.Quota(d.project, quota.ComputeService)["cores"] }
	}
	capacityOf := func(d *department) func(Gomega) metav1.Condition {
		return conditionOf(d.cq, whv1.ConditionPeakCapacity)
	}
	confirmation := func(g Gomega) *whv1.CapacityConfirmation {
		ps := &whv1.PeakSeason{}
		g.Expect(k8s.Get(ctx, client.ObjectKey{Name: seasonName}, ps)).To(Succeed())
		return ps.Status.Confirmation
	}
	// judgedOpen waits until the season judges its open window before any department
	// claims: a ComputeQuota created then is held at its baseline until it is judged.
	judgedOpen := func() {
		Eventually(confirmation).ShouldNot(BeNil())
	}

	BeforeEach(func() {
		seasonName = fmt.Sprintf("capacity-%d", GinkgoRandomSeed()+int64(CurrentSpecReport().LeafNodeLocation.LineNumber))
		DeferCleanup(func() {
			cloud.SetCapacity(openstack.Capacity{})
			cloud.SetAllocated(openstack.Capacity{})
		})
	})

	It("confirms each peak, or marks it at risk, weeks before its window, with an event and a metric", func() {
		cloud.SetCapacity(openstack.Capacity{Cores: 256, RAMMiB: 1 << 20})
		hmrc, test := newDepartment(ptr.To[int32](10)), newDepartment(nil)
		opens := time.Now().Add(20 * 24 * time.Hour).Truncate(time.Second)
		newSeason(opens, opens.Add(24*time.Hour)) // confirmAhead: the default 30 days
		giveQuota(hmrc, 16, 128)
		giveQuota(test, 16, 192)

		By("the first priority's whole peak fits; the second gets what is left: 256 − 16 − 128 = 112 above its 16")
		Eventually(capacityOf(hmrc)).Should(And(HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonPeakConfirmed),
			HaveField("Message", ContainSubstring("confirms the whole peak (cores=128) in the window opening "+opens.UTC().Format(time.RFC3339)))))
		Eventually(capacityOf(test)).Should(And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", whv1.ReasonPeakAtRisk),
			HaveField("Message", ContainSubstring("grants 128 of 192 cores in the window opening")),
			HaveField("Message", ContainSubstring("priority 0, what higher priorities left"))))
		Expect(fetch(test.cq).Status.PeakCapacity).To(ConsistOf(And(HaveField("Season", seasonName),
			HaveField("Verdict", whv1.VerdictAtRisk), HaveField("Cores", Equal(ptr.To[int64](128))))))
		Eventually(func(g Gomega) {
			g.Expect(eventsAbout(g, "ComputeQuota", "dept")).To(ContainElement(And(HaveField("Reason", "PeakAtRisk"),
				HaveField("Regarding.Namespace", test.ns), HaveField("Note", ContainSubstring("grants 128 of 192 cores")))))
			g.Expect(eventsAbout(g, "PeakSeason", seasonName)).To(ContainElement(HaveField("Reason", whv1.ReasonPeakAtRisk)))
		}).Should(Succeed())
		Eventually(func() []float64 {
			return []float64{peakConfirmed(hmrc.ns, seasonName), peakConfirmed(test.ns, seasonName)}
		}).Should(Equal([]float64{1, 0}))
		conf := fetch(&whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: seasonName}}).Status.Confirmation
		Expect(conf.Available.Cores).To(Equal(ptr.To[int64](256)))
		Expect([]int32{conf.Confirmed, conf.AtRisk}).To(Equal([]int32{1, 1}))
		By("the window is weeks away: both keep their baselines")
		Expect([]int64{cores(hmrc)(), cores(test)()}).To(Equal([]int64{16, 16}))

		By("capacity added: both are confirmed")
		cloud.SetCapacity(openstack.Capacity{Cores: 512, RAMMiB: 1 << 20})
		Eventually(capacityOf(test)).WithTimeout(10 * resync).Should(HaveField("Reason", whv1.ReasonPeakConfirmed))
		Eventually(func() float64 { return peakConfirmed(test.ns, seasonName) }).Should(Equal(1.0))
	})

	It("does not judge a window beyond confirmAhead, and judges it once confirmAhead reaches it", func() {
		cloud.SetCapacity(openstack.Capacity{Cores: 64, RAMMiB: 1 << 20})
		d := newDepartment(nil)
		opens := time.Now().Add(40 * 24 * time.Hour).Truncate(time.Second)
		ps := newSeason(opens, opens.Add(24*time.Hour))
		giveQuota(d, 16, 128)
		Eventually(func(g Gomega) *whv1.CapacityAmounts { return fetch(ps).Status.Committed }).Should(
			HaveField("Cores", Equal(ptr.To[int64](128))))
		Consistently(confirmation).Should(BeNil())
		Expect(meta.FindStatusCondition(fetch(d.cq).Status.Conditions, whv1.ConditionPeakCapacity)).To(BeNil())

		change(ps, func(ps *whv1.PeakSeason) { ps.Spec.ConfirmAhead = &metav1.Duration{Duration: 1000 * time.Hour} })
		Eventually(capacityOf(d)).Should(And(HaveField("Reason", whv1.ReasonPeakAtRisk),
			HaveField("Message", ContainSubstring("grants 64 of 128 cores"))))
	})

	It("gives the higher priority its whole peak when the window opens and the other what is left, by the policy or the season", func() {
		// 100 cores, 10 in use outside the season's departments: 90 to share.
		cloud.SetCapacity(openstack.Capacity{Cores: 100, RAMMiB: 1 << 20})
		cloud.SetAllocated(openstack.Capacity{Cores: 10})
		first, second := newDepartment(ptr.To[int32](10)), newDepartment(nil)
		ps := newSeason(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		judgedOpen()
		giveQuota(first, 10, 60)
		giveQuota(second, 10, 60)

		By("90 − 10 − 60 = 20 left above the second's baseline of 10")
		Eventually(cores(first)).Should(Equal(int64(60)))
		Eventually(cores(second)).Should(Equal(int64(30)))
		Eventually(capacityOf(second)).Should(And(HaveField("Reason", whv1.ReasonPeakAtRisk),
			HaveField("Message", ContainSubstring("grants 30 of 60 cores in the window open now: priority 0, what higher priorities left"))))
		Expect(fetch(ps).Status.Confirmation.InUseOutside.Cores).To(Equal(ptr.To[int64](10)))
		Consistently(cores(second)).Should(Equal(int64(30)))
		for _, w := range cloud.QuotaWrites(second.project, quota.ComputeService) {
			Expect(w["cores"]).To(BeNumerically("<=", 30), "the second never held more than its grant: %v", w)
		}

		By("the season ranks the second department first: it gets its whole peak, the first what is left")
		change(ps, func(ps *whv1.PeakSeason) {
			ps.Spec.Priorities = []whv1.SeasonPriority{{DepartmentPolicy: second.policy.Name, Priority: 20}}
		})
		Eventually(cores(second)).Should(Equal(int64(60)))
		Eventually(cores(first)).Should(Equal(int64(30)))
		Eventually(capacityOf(first)).Should(HaveField("Message", ContainSubstring("grants 30 of 60 cores in the window open now: priority 10")))
	})

	It("shares what is left between equal priorities in proportion to what each wants above its floor", func() {
		cloud.SetCapacity(openstack.Capacity{Cores: 100, RAMMiB: 1 << 20})
		a, b := newDepartment(nil), newDepartment(nil)
		newSeason(time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
		judgedOpen()
		giveQuota(a, 10, 90)
		giveQuota(b, 10, 50)
		// 80 above the floors, wanted 80:40: 53⅓ and 26⅔; the unit left over goes to the
		// first namespace in order.
		want := []int64{64, 36}
		if b.ns < a.ns {
			want = []int64{63, 37}
		}
		Eventually(func() []int64 { return []int64{cores(a)(), cores(b)()} }).Should(Equal(want))
		Eventually(capacityOf(b)).Should(HaveField("Message", ContainSubstring("priority 0, shared in proportion with 1 other(s) of that priority")))
	})

	It("never grants less than what a department already uses", func() {
		cloud.SetCapacity(openstack.Capacity{Cores: 100, RAMMiB: 1 << 20})
		first, second := newDepartment(ptr.To[int32](10)), newDepartment(nil)
		cloud.SetInUse(second.project, quota.ComputeService, "cores", 60)
		opens := time.Now().Add(20 * 24 * time.Hour)
		ps := newSeason(opens, opens.Add(24*time.Hour))
		giveQuota(first, 10, 90)
		giveQuota(second, 10, 100)
		Eventually(func(g Gomega) *int64 {
			usage := fetch(second.cq).Status.Usage.Compute
			g.Expect(usage).NotTo(BeNil())
			return usage.Cores
		}).Should(Equal(ptr.To[int64](60)))

		By("the window opens now: the second keeps the 60 it uses, the first shares the 30 left above both floors")
		change(ps, func(ps *whv1.PeakSeason) {
			ps.Spec.Windows = []whv1.SeasonWindow{{From: ptr.To(localStamp(time.Now().Add(-time.Hour))), To: ptr.To(localStamp(time.Now().Add(24 * time.Hour)))}}
		})
		Eventually(cores(first)).Should(Equal(int64(40)))
		Eventually(cores(second)).Should(Equal(int64(60)))
		Eventually(capacityOf(second)).Should(HaveField("Message", ContainSubstring("higher priorities took the capacity; the baseline (or what is in use) is kept")))
		Consistently(cores(second)).Should(Equal(int64(60)))
	})

	It("leaves priority to the centre: a department's objects have no such field, and it cannot write seasons or policies", func() {
		d := newDepartment(nil)
		err := k8s.Create(ctx, manifest(d.ns, `apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: sneaky}
spec:
  tenantRef: {name: dept}
  priority: 1000
  baseline: {compute: {cores: 1}}`), client.FieldValidation("Strict"))
		Expect(err).To(MatchError(ContainSubstring(`unknown field "spec.priority"`)))

		user := "dept-admin-" + d.ns
		Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
			ObjectMeta: metav1.ObjectMeta{Namespace: d.ns, Name: user},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "admin"},
			Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
		})).To(Succeed())
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
		as, err := client.New(c, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		// The namespace's admin cannot touch the cluster-scoped objects that rank it.
		p := fetch(d.policy)
		p.Spec.Peaks = &whv1.PeakRules{Priority: ptr.To[int32](1000)}
		Expect(apierrors.IsForbidden(as.Update(ctx, p))).To(BeTrue())
		season := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: "mine-" + d.ns}, Spec: whv1.PeakSeasonSpec{
			Windows:    []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-02", To: "02-01"}}},
			Priorities: []whv1.SeasonPriority{{DepartmentPolicy: d.policy.Name, Priority: 1000}},
		}}
		Expect(apierrors.IsForbidden(as.Create(ctx, season))).To(BeTrue())
	})
})

// peakConfirmed reads whitehall_peak_capacity_confirmed for the ComputeQuota "dept" of
// namespace in season; -1 when there is no such series.
func peakConfirmed(namespace, season string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "whitehall_peak_capacity_confirmed" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "namespace") == namespace && labelValue(m, "computequota") == "dept" && labelValue(m, "season") == season {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}
