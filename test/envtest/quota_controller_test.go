package envtest

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

var london = func() *time.Location {
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		panic(err)
	}
	return loc
}()

// localStamp is t as a one-off window boundary: London wall-clock time, whole seconds.
func localStamp(t time.Time) string { return t.In(london).Format("2006-01-02T15:04:05") }

var _ = Describe("ComputeQuota and PeakSeason controllers", func() {
	var (
		ns        string
		projectID string
	)

	createSeason := func(ps *whv1.PeakSeason) *whv1.PeakSeason {
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		return ps
	}
	newSeason := func(name string, windows ...whv1.SeasonWindow) *whv1.PeakSeason {
		return createSeason(&whv1.PeakSeason{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       whv1.PeakSeasonSpec{Windows: windows},
		})
	}
	oneOff := func(from, to time.Time) whv1.SeasonWindow {
		return whv1.SeasonWindow{From: ptr.To(localStamp(from)), To: ptr.To(localStamp(to))}
	}
	yearlyAllYear := whv1.SeasonWindow{Yearly: &whv1.YearlyWindow{From: "01-01", To: "12-31"}}
	// quotaFor makes a ComputeQuota for the Tenant named tenant (tenantRef is immutable).
	quotaFor := func(tenant, name string, peaks ...whv1.QuotaPeak) *whv1.ComputeQuota {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: tenant},
				Baseline: whv1.QuotaSet{
					Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20), Instances: ptr.To[int64](5)},
					Network: &whv1.NetworkLimits{Ports: ptr.To[int64](50)},
				},
				Peaks: peaks,
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		return cq
	}
	newQuota := func(name string, peaks ...whv1.QuotaPeak) *whv1.ComputeQuota { return quotaFor("dept", name, peaks...) }
	peak := func(season string, cores int64) whv1.QuotaPeak {
		return whv1.QuotaPeak{Season: season, QuotaSet: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(cores)}}}
	}
	getCQ := func(cq *whv1.ComputeQuota) *whv1.ComputeQuota {
		out := &whv1.ComputeQuota{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), out)).To(Succeed())
		return out
	}
	reason := func(conds func() []metav1.Condition, condType string) func() string {
		return func() string {
			c := meta.FindStatusCondition(conds(), condType)
			if c == nil {
				return ""
			}
			return c.Reason
		}
	}
	cqReason := func(cq *whv1.ComputeQuota, condType string) func() string {
		return reason(func() []metav1.Condition { return getCQ(cq).Status.Conditions }, condType)
	}
	cores := func() int64 { return cloud.Quota(projectID, quota.ComputeService)["cores"] }

	// A ready Tenant "dept" in a fresh namespace.
	BeforeEach(func() {
		ns = newNamespace()
		projectID = departmentProject(ns)
	})

	It("writes the baseline, only the fields it manages, and nothing for a service it does not manage", func() {
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "ramMiB", 77)
		cq := newQuota("baseline")
		var first *whv1.ComputeQuota // the status the first Ready came with
		Eventually(func() string {
			first = getCQ(cq)
			return reason(func() []metav1.Condition { return first.Status.Conditions }, whv1.ConditionReady)()
		}).Should(Equal(whv1.ReasonReady))
		By("writing first, without a read: usage is not known yet")
		Expect(first.Status.Usage.Compute).To(BeNil())
		Expect(reason(func() []metav1.Condition { return first.Status.Conditions }, whv1.ConditionBelowUsage)()).To(Equal(whv1.ReasonUsageNotRead))
		Expect(cloud.Quota(projectID, quota.ComputeService)).To(And(
			HaveKeyWithValue("cores", int64(20)), HaveKeyWithValue("instances", int64(5)),
			HaveKeyWithValue("ramMiB", int64(77)), HaveKeyWithValue("serverGroups", int64(10))))
		Expect(cloud.Quota(projectID, quota.NetworkService)).To(HaveKeyWithValue("ports", int64(50)))
		Expect(cloud.Calls("GetQuota.blockStorage/"+projectID)).To(BeZero(), "no block storage field is managed: Cinder is not even read")

		By("reading usage at the resync")
		Eventually(cqReason(cq, whv1.ConditionBelowUsage)).Should(Equal(whv1.ReasonWithinUsage))
		got := getCQ(cq)
		Expect(got.Status.ProjectID).To(Equal(projectID))
		Expect(got.Status.Effective.Compute).To(Equal(&whv1.ComputeLimits{Cores: ptr.To[int64](20), Instances: ptr.To[int64](5)}))
		Expect(got.Status.Usage.Compute).To(Equal(&whv1.ComputeLimits{Cores: ptr.To[int64](0), Instances: ptr.To[int64](0)}))
		Expect(cloud.Calls("GetQuota.compute/" + projectID)).To(BeNumerically(">=", 1))
		Expect(got.Status.LastAppliedTime).NotTo(BeNil())
		Expect(got.Status.ActiveSeasons).To(BeEmpty())
	})

	It("repairs a limit changed by hand and never touches one it does not manage", func() {
		cq := newQuota("drift")
		Eventually(cores).Should(Equal(int64(20)))
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "cores", 3)
		cloud.SetLimitDirectly(projectID, quota.ComputeService, "keyPairs", 99)
		Eventually(cores).Should(Equal(int64(20)))
		Consistently(func() int64 { return cloud.Quota(projectID, quota.ComputeService)["keyPairs"] }).
			WithTimeout(2 * resync).Should(Equal(int64(99)))
		_ = cq
	})

	It("costs one read per managed service and no write when nothing changed", func() {
		cq := newQuota("steady")
		Eventually(cqReason(cq, whv1.ConditionReady)).Should(Equal(whv1.ReasonReady))
		calls := func(method string) int { return cloud.Calls(method + "/" + projectID) }
		writes := calls("SetQuota.compute") + calls("SetQuota.network")
		reads := calls("GetQuota.compute")
		Eventually(func() int { return calls("GetQuota.compute") - reads }).WithTimeout(4 * resync).Should(BeNumerically(">=", 2))
		Expect(calls("SetQuota.compute")+calls("SetQuota.network")).To(Equal(writes), "an unchanged quota must not be written")
		Expect(calls("GetQuota.network")).To(BeNumerically("~", calls("GetQuota.compute"), 1), "one read per managed service per resync")
		Expect(calls("GetQuota.blockStorage")).To(BeZero())
	})

	It("raises the quota when a season opens and lowers it when it closes, and reports it", func() {
		name := "burst-" + ns
		opens := time.Now().Truncate(time.Second).Add(4 * time.Second)
		closes := opens.Add(4 * time.Second)
		ps := newSeason(name, oneOff(opens, closes))
		cq := newQuota("peak", peak(name, 100))

		Eventually(func() *metav1.Time { return getCQ(cq).Status.NextTransition }).Should(
			HaveField("Time", BeTemporally("==", opens)), "it knows when it must wake")
		Expect(cores()).To(Equal(int64(20)))
		Eventually(cores).WithTimeout(20 * time.Second).Should(Equal(int64(100)))
		// Status is patched just after the write reaches the cloud.
		Eventually(func() []string { return getCQ(cq).Status.ActiveSeasons }).Should(ConsistOf(name))
		Eventually(func() bool {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ps), ps)).To(Succeed())
			return ps.Status.Active
		}).Should(BeTrue())
		Expect(ps.Status.CurrentWindow.End.Time).To(BeTemporally("==", closes))

		Eventually(cores).WithTimeout(20 * time.Second).Should(Equal(int64(20)))
		Eventually(func() []string { return getCQ(cq).Status.ActiveSeasons }).Should(BeEmpty())
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElements("SeasonStarted", "SeasonEnded"))
	})

	It("takes the larger of two active peaks, and unlimited beats any number", func() {
		a, b := "a-"+ns, "b-"+ns
		newSeason(a, yearlyAllYear)
		newSeason(b, yearlyAllYear)
		cq := newQuota("two", peak(a, 100), peak(b, 300))
		Eventually(cores).Should(Equal(int64(300)))
		Eventually(func() []string { return getCQ(cq).Status.ActiveSeasons }).Should(ConsistOf(a, b))

		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), cq)).To(Succeed())
		cq.Spec.Peaks[0].Compute.Cores = ptr.To[int64](-1)
		Expect(k8s.Update(ctx, cq)).To(Succeed())
		Eventually(cores).Should(Equal(int64(-1)))
	})

	It("applies a limit below usage and flags it", func() {
		cloud.SetInUse(projectID, quota.ComputeService, "cores", 30)
		cq := newQuota("below")
		Eventually(cqReason(cq, whv1.ConditionBelowUsage)).Should(Equal(whv1.ReasonLimitBelowUsage))
		Expect(cores()).To(Equal(int64(20)), "the limit is applied anyway")
		c := meta.FindStatusCondition(getCQ(cq).Status.Conditions, whv1.ConditionBelowUsage)
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Message).To(ContainSubstring("compute.cores limit 20 < 30 in use"))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement(whv1.ReasonLimitBelowUsage))
	})

	It("reports a missing Tenant and a missing season, then converges when they appear", func() {
		name := "late-" + ns
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "waiting"},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: "nobody"},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](8)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		Eventually(cqReason(cq, whv1.ConditionReady)).Should(Equal(whv1.ReasonTenantNotReady))

		// tenantRef is immutable: the quota for the Tenant that exists is a new one.
		Expect(k8s.Delete(ctx, cq)).To(Succeed())
		cq = quotaFor("dept", "waiting-dept", peak(name, 64))
		Eventually(cqReason(cq, whv1.ConditionReady)).Should(Equal(whv1.ReasonSeasonNotFound))
		Expect(meta.FindStatusCondition(getCQ(cq).Status.Conditions, whv1.ConditionReady).Message).To(ContainSubstring(fmt.Sprintf("PeakSeason %q does not exist", name)))

		newSeason(name, yearlyAllYear)
		Eventually(cores).Should(Equal(int64(64)))
		Eventually(cqReason(cq, whv1.ConditionReady)).Should(Equal(whv1.ReasonReady))
	})

	It("refuses a time zone that does not exist at apply", func() {
		// The API server loads the zone as the operator does; a zone only a newer API
		// server knows is reported by the season parser (internal/season).
		Expect(k8s.Create(ctx, &whv1.PeakSeason{
			ObjectMeta: metav1.ObjectMeta{Name: "mars-" + ns},
			Spec:       whv1.PeakSeasonSpec{TimeZone: "Mars/Olympus_Mons", Windows: []whv1.SeasonWindow{yearlyAllYear}},
		})).To(MatchError(ContainSubstring("unknown time zone Mars/Olympus_Mons evaluating rule: timeZone must be an IANA time zone")))
	})

	It("sums the peak quota committed to a season and flags it when the cloud cannot hold it", func() {
		name := "sa-" + ns
		cloud.SetCapacity(openstack.Capacity{Cores: 256, RAMMiB: 1 << 20})
		ps := createSeason(&whv1.PeakSeason{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec: whv1.PeakSeasonSpec{
				Windows: []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-02", To: "02-01"}}},
				// The platform team's Cloud: its Secret is in the operator's namespace.
				CloudRef: &whv1.CloudReference{Name: sharedCloud},
			},
		})
		newQuota("one", peak(name, 100))
		// One ComputeQuota per Tenant: the second department's quota names its own Tenant.
		other := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept2"},
			Spec:       whv1.TenantSpec{CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}},
		}
		Expect(k8s.Create(ctx, other)).To(Succeed())
		quotaFor("dept2", "two", peak(name, 300))

		Eventually(func(g Gomega) *whv1.CapacityAmounts {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ps), ps)).To(Succeed())
			return ps.Status.Committed
		}).Should(Equal(&whv1.CapacityAmounts{Cores: ptr.To[int64](400), Instances: ptr.To[int64](10)}))
		Expect(ps.Status.Capacity).To(Equal(&whv1.CapacityAmounts{Cores: ptr.To[int64](256), RAMMiB: ptr.To[int64](1 << 20)}))
		c := meta.FindStatusCondition(ps.Status.Conditions, whv1.ConditionCapacityAtRisk)
		Expect(c).NotTo(BeNil())
		Expect(c.Status).To(Equal(metav1.ConditionTrue))
		Expect(c.Message).To(Equal("400 cores committed, the cloud holds 256"))
	})

	It("reports a capacity it cannot read when its Cloud does not exist", func() {
		name := "nocloud-" + ns
		ps := createSeason(&whv1.PeakSeason{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       whv1.PeakSeasonSpec{Windows: []whv1.SeasonWindow{yearlyAllYear}, CloudRef: &whv1.CloudReference{Name: name}},
		})
		Eventually(conditionOf(ps, whv1.ConditionCapacityAtRisk)).Should(And(
			HaveField("Status", metav1.ConditionUnknown), HaveField("Reason", whv1.ReasonCapacityUnknown),
			HaveField("Message", ContainSubstring(fmt.Sprintf("Cloud %q does not exist", name)))))
	})

	It("stops managing the quota when the ComputeQuota is deleted, leaving the limits", func() {
		cq := newQuota("bye")
		Eventually(cores).Should(Equal(int64(20)))
		Expect(k8s.Delete(ctx, cq)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(cq), cq)) }).Should(BeTrue())
		Expect(cores()).To(Equal(int64(20)))
	})
})
