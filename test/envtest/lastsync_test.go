package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// Each object's last full read is kept in its status, so a restarted operator can look
// at the unchanged objects a resync after it rather than all at once (frame.SpreadStart).
var _ = Describe("status.lastSyncTime, the last full read", func() {
	It("is recorded when a Tenant and its ComputeQuota are Ready, renewed at each resync, and defers a restart's first look", func() {
		ns := newDepartment()
		t := createTenant(ns, "synced")
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "synced"},
			Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: t.Name},
				Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](4)}}},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		var first *metav1.Time
		Eventually(func(g Gomega) {
			got := readyTenant(t)(g)
			g.Expect(got.Status.LastSyncTime).NotTo(BeNil())
			first = got.Status.LastSyncTime
		}).Should(Succeed())
		Eventually(func() *metav1.Time { return fetch(cq).Status.LastSyncTime }).ShouldNot(BeNil())

		By("renewed by the next resync")
		Eventually(func() time.Time { return fetch(t).Status.LastSyncTime.Time }).WithTimeout(3 * resync).
			Should(BeTemporally(">", first.Time))

		By("a restart would look at it again before a resync after that read, not necessarily at once")
		got := fetch(t)
		now := time.Now()
		delay, deferred := frame.StartDelay(got, resync, now)
		Expect(deferred).To(BeTrue())
		Expect(now.Add(delay)).To(BeTemporally("<=", got.Status.LastSyncTime.Add(resync).Add(time.Second)),
			"never later than the resync would have come (lastSyncTime has whole seconds)")

	})
})
