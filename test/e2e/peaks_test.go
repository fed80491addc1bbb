package e2e

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// A peak always comes down: a ComputeQuota deleted while its season is active returns
// the project to its baseline before it goes.
var _ = Describe("peaks: a ComputeQuota deleted during a peak", Ordered, func() {
	const (
		ns     = "e2e-peaks-quota"
		season = "e2e-peaks-season"
	)
	var projectID string

	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, ns+"_dept")).To(Succeed(), "leftovers of an earlier run")
		departmentNamespace(ns)
		apply(tenantYAML(ns, "dept", ""))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/dept", "--timeout=120s")
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dept"}, t)).To(Succeed())
		projectID = t.Status.ProjectID
		DeferCleanup(func() {
			kubectl("-n", ns, "delete", "computequota", "peak", "--ignore-not-found", "--timeout=60s")
			kubectl("delete", "peakseason", season, "--ignore-not-found", "--timeout=60s")
			kubectl("-n", ns, "delete", "tenant", "dept", "--ignore-not-found", "--timeout=120s")
			kubectl("delete", "namespace", ns, "--wait=false")
		})
	})

	quota := func(g Gomega) cloudtest.Quota {
		q, err := admin.GetQuota(ctx, projectID)
		g.Expect(err).NotTo(HaveOccurred())
		return q
	}

	It("peaks: leaves Nova at the baseline, written before the ComputeQuota is gone", func() {
		Expect(admin.SetComputeQuota(ctx, projectID, nil, ptr.To(7))).To(Succeed())
		london, err := time.LoadLocation("Europe/London")
		Expect(err).NotTo(HaveOccurred())
		stamp := func(t time.Time) string { return t.In(london).Format("2006-01-02T15:04:05") }
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: %s}
spec:
  timeZone: Europe/London
  windows: [{from: %q, to: %q}]
`, season, stamp(time.Now().Add(-time.Hour)), stamp(time.Now().Add(2*time.Hour))))
		apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: peak, namespace: %s}
spec:
  tenantRef: {name: dept}
  baseline:
    compute: {cores: 12, instances: 6}
  peaks:
    - season: %s
      compute: {cores: 48, instances: 24}
`, ns, season))
		Eventually(quota).WithTimeout(60 * time.Second).Should(And(HaveField("Cores", 48), HaveField("Instances", 24)))
		Expect(kubectl("-n", ns, "get", "computequota", "peak", "-o", "jsonpath={.status.activeSeasons}")).To(ContainSubstring(season))

		start := time.Now()
		kubectl("-n", ns, "delete", "computequota", "peak", "--timeout=60s") // waits until it is gone
		AddReportEntry("ComputeQuota deleted during a peak, gone after", time.Since(start).String())
		// Read at once: the baseline was written before the finalizer went.
		Expect(quota(Default)).To(And(HaveField("Cores", 12), HaveField("Instances", 6), HaveField("KeyPairs", 7)),
			"Nova is back at the baseline; a field the baseline leaves out keeps its value")
		Expect(kubectl("-n", ns, "get", "events", "--field-selector", "reason=QuotaRestored", "-o", "name")).NotTo(BeEmpty())
	})
})
