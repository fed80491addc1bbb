package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Seasons that close over usage, seasons that are missing or broken, and two objects
// that would write one quota.
var _ = Describe("Quota at a season's end, missing seasons, and one writer per quota", func() {
	var (
		ns        string
		projectID string
	)
	allYear := whv1.SeasonWindow{Yearly: &whv1.YearlyWindow{From: "01-01", To: "12-31"}}
	createSeason := func(name, zone string, windows ...whv1.SeasonWindow) *whv1.PeakSeason {
		ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: whv1.PeakSeasonSpec{TimeZone: zone, Windows: windows}}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		return ps
	}
	createQuota := func(name string, baseline whv1.QuotaSet, peaks ...whv1.QuotaPeak) *whv1.ComputeQuota {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec:       whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: "dept"}, Baseline: baseline, Peaks: peaks},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		return cq
	}
	cores := func(n int64) whv1.QuotaSet { return whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(n)}} }
	peak := func(season string, n int64) whv1.QuotaPeak { return whv1.QuotaPeak{Season: season, QuotaSet: cores(n)} }
	limit := func(service quota.Service, field string) func() int64 {
		return func() int64 { return cloud.Quota(projectID, service)[field] }
	}

	BeforeEach(func() {
		ns = newNamespace()
		projectID = departmentProject(ns)
	})

	It("lowers Nova below usage when a season closes, with BelowUsage in the same status update", func() {
		name := "closing-" + ns
		closes := time.Now().Truncate(time.Second).Add(5 * time.Second)
		createSeason(name, "", whv1.SeasonWindow{From: ptr.To(localStamp(closes.Add(-time.Hour))), To: ptr.To(localStamp(closes))})
		cloud.SetInUse(projectID, quota.ComputeService, "cores", 3)
		cq := createQuota("sa", cores(1), peak(name, 8))
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(8)))
		Eventually(conditionOf(cq, whv1.ConditionBelowUsage)).WithTimeout(10*time.Second).Should(HaveField("Reason", whv1.ReasonWithinUsage),
			"usage read at a resync while the peak is on")

		Eventually(limit(quota.ComputeService, "cores")).WithTimeout(20 * time.Second).Should(Equal(int64(1)))
		var got *whv1.ComputeQuota
		Eventually(func() []string { got = fetch(cq); return got.Status.ActiveSeasons }).Should(BeEmpty())
		c := meta.FindStatusCondition(got.Status.Conditions, whv1.ConditionBelowUsage)
		Expect(c).NotTo(BeNil())
		Expect(*c).To(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Message", ContainSubstring("compute.cores limit 1 < 3 in use"))), "flagged in the status update that ended the season")
		Expect(got.Status.Effective.Compute.Cores).To(Equal(ptr.To[int64](1)))
		Expect(meta.IsStatusConditionTrue(got.Status.Conditions, whv1.ConditionReady)).To(BeTrue())
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement(whv1.ReasonLimitBelowUsage))
	})

	It("holds a Cinder limit at usage, says so, and lowers it the rest of the way once usage falls", func() {
		cloud.SetInUse(projectID, quota.BlockStorageService, "gigabytes", 8)
		cq := createQuota("volumes", whv1.QuotaSet{BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](5)}})
		Eventually(conditionOf(cq, whv1.ConditionBelowUsage)).Should(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Message", ContainSubstring("blockStorage.gigabytes limit 5 < 8 in use (held at 8"))))
		Expect(limit(quota.BlockStorageService, "gigabytes")()).To(Equal(int64(8)))
		Expect(fetch(cq).Status.Effective.BlockStorage.Gigabytes).To(Equal(ptr.To[int64](8)), "status shows what Cinder holds")
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))

		cloud.SetInUse(projectID, quota.BlockStorageService, "gigabytes", 3)
		Eventually(limit(quota.BlockStorageService, "gigabytes")).WithTimeout(4 * resync).Should(Equal(int64(5)))
		Eventually(conditionOf(cq, whv1.ConditionBelowUsage)).Should(HaveField("Reason", whv1.ReasonWithinUsage))
	})

	It("applies the baseline and the other peaks when a season is missing, deleted or invalid, and names it", func() {
		present, gone, broken := "present-"+ns, "gone-"+ns, "broken-"+ns
		createSeason(present, "", allYear)
		// Admitted (to sorts after from), invalid to the season parser: both ends fall in
		// the hour the clocks skip. A zone Go cannot load is refused at apply.
		createSeason(broken, "", whv1.SeasonWindow{From: ptr.To("2027-03-28T01:00:00"), To: ptr.To("2027-03-28T01:30:00")})
		cq := createQuota("partial", cores(4), peak(present, 64), peak(gone, 128), peak(broken, 256))
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(64)), "the peak of the season that exists")
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(And(
			notReadyBecause(whv1.ReasonSeasonNotFound, `PeakSeason "`+gone+`" does not exist`),
			HaveField("Message", ContainSubstring(`PeakSeason "`+broken+`" is invalid`))))
		Expect(fetch(cq).Status.ActiveSeasons).To(ConsistOf(present))

		By("deleting the active season")
		Expect(k8s.Delete(ctx, &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: present}})).To(Succeed())
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(4)), "back to the baseline")
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonSeasonNotFound, `PeakSeason "`+present+`" does not exist`))

		By("a season coming back")
		createSeason(gone, "", allYear)
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(128)))
	})

	It("lets only the oldest ComputeQuota of a Tenant write; a later one is in Conflict until the first goes", func() {
		first := createQuota("first", cores(20))
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(20)))
		Eventually(conditionOf(first, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		second := createQuota("second", cores(30))
		Eventually(conditionOf(second, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonConflict, `ComputeQuota "first" already manages the quota of Tenant "dept"`))
		Consistently(limit(quota.ComputeService, "cores")).WithTimeout(2 * resync).Should(Equal(int64(20)))
		Expect(fetch(second).Status.Effective.Compute).To(BeNil(), "it holds nothing, so it reports nothing")
		Expect(conditionOf(first, whv1.ConditionReady)(Default).Status).To(Equal(metav1.ConditionTrue), "the first keeps working")

		Expect(k8s.Delete(ctx, first)).To(Succeed())
		Eventually(limit(quota.ComputeService, "cores")).Should(Equal(int64(30)), "the second takes over")
		Eventually(conditionOf(second, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
	})

	It("does not count a ComputeQuota in Conflict in a season's committed quota", func() {
		name := "commit-" + ns
		ps := createSeason(name, "", allYear)
		// Created in the same second, the first name writes: "alpha" before "beta".
		createQuota("alpha", cores(10), peak(name, 100))
		Eventually(func() *whv1.CapacityAmounts { return fetch(ps).Status.Committed }).Should(Equal(&whv1.CapacityAmounts{Cores: ptr.To[int64](100)}))
		loser := createQuota("beta", cores(10), peak(name, 1000))
		Eventually(conditionOf(loser, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonConflict))
		Consistently(func() *whv1.CapacityAmounts { return fetch(ps).Status.Committed }).WithTimeout(2 * resync).Should(Equal(&whv1.CapacityAmounts{Cores: ptr.To[int64](100)}))
	})

	It("does not count an observed ComputeQuota in a season's committed quota: it writes no peak", func() {
		name := "observed-" + ns
		ps := createSeason(name, "", allYear)
		cq := createQuota("seen", cores(10), peak(name, 100))
		Eventually(func() *whv1.CapacityAmounts { return fetch(ps).Status.Committed }).Should(Equal(&whv1.CapacityAmounts{Cores: ptr.To[int64](100)}))
		change(cq, func(q *whv1.ComputeQuota) { q.Spec.ManagementPolicy = whv1.ManagementPolicyObserve })
		Eventually(func() *whv1.CapacityAmounts { return fetch(ps).Status.Committed }).Should(Equal(&whv1.CapacityAmounts{}))
	})
})

var _ = Describe("TestEnvironment peaks with missing seasons", func() {
	It("uses the other peaks when a season is missing, names it, and scales to zero regardless", func() {
		ns := newDepartment()
		tenant := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"},
			Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: sharedCloud}, Network: &whv1.TenantNetwork{CIDR: "10.21.0.0/24"}},
		}
		Expect(k8s.Create(ctx, tenant)).To(Succeed())
		Eventually(readyTenant(tenant)).Should(Not(BeNil()))
		present, gone := "env-present-"+ns, "env-gone-"+ns
		ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: present},
			Spec: whv1.PeakSeasonSpec{Windows: []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-01", To: "12-31"}}}}}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })

		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "peaky"},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Replicas:  ptr.To[int32](1),
				Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros"},
				Peaks:     []whv1.ReplicaPeak{{Season: present, Replicas: 3}, {Season: gone, Replicas: 5}},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() {
			_ = k8s.Delete(ctx, env)
			Eventually(isGone(env)).Should(BeTrue())
		})
		servers := func() map[string]string { return cloud.Servers("^peaky-[0-9]+$") }
		Eventually(servers).Should(HaveLen(3), "the peak of the season that exists")
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonSeasonNotFound, `PeakSeason "`+gone+`" does not exist`))
		Expect(fetch(env).Status.DesiredReplicas).To(Equal(int32(3)))

		By("scaling to zero while the season is still missing and the other is active")
		change(env, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](0) })
		Eventually(servers).Should(BeEmpty())
		Eventually(func() int32 { return fetch(env).Status.DesiredReplicas }).Should(BeZero())
	})
})
