package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// A calendar of working days: status lists the next transitions, each at a local
// midnight and each naming the window that makes it.
var _ = Describe("PeakSeason working-day calendar", func() {
	It("lists the next transitions with the rule that makes each", func() {
		ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: "payday-" + newNamespace()}, Spec: whv1.PeakSeasonSpec{
			Holidays: &whv1.HolidayCalendar{Calendar: "Scotland", Add: []string{"2031-06-02"}},
			Windows: []whv1.SeasonWindow{
				{WorkingDays: &whv1.WorkingDaysWindow{Count: 1, OfMonth: ptr.To[int32](-1)}},
				{WorkingDays: &whv1.WorkingDaysWindow{Count: 5, Before: ptr.To("01-31")}},
			},
		}}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })

		Eventually(func(g Gomega) {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(ps), ps)).To(Succeed())
			g.Expect(ps.Status.Upcoming).To(HaveLen(6))
		}).Should(Succeed())
		Expect(ps.Status.NextTransition).NotTo(BeNil())
		Expect(ps.Status.Upcoming[0].At.Time).To(BeTemporally("==", ps.Status.NextTransition.Time))
		previous := time.Now()
		for i, tr := range ps.Status.Upcoming {
			local := tr.At.In(london)
			Expect(local.Format("15:04:05")).To(Equal("00:00:00"), "transition %d at %s", i, local)
			Expect(tr.At.Time).To(BeTemporally(">", previous))
			Expect(tr.Active).To(Equal(i%2 == 0 != ps.Status.Active), "transitions alternate, starting from the current state")
			Expect(tr.Rules).NotTo(BeEmpty())
			for _, rule := range tr.Rules {
				Expect(rule).To(Or(
					Equal("windows[0]: the last working day of every month (Scotland, 1 date changed)"),
					Equal("windows[1]: the last 5 working days before 01-31 (Scotland, 1 date changed)")))
			}
			previous = tr.At.Time
		}
	})
})
