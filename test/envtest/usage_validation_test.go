package envtest

import (
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

var _ = Describe("Tariff and usage validation", func() {
	const cloudHeader = `
apiVersion: whitehall.cloud/v1alpha1
kind: Cloud
metadata: {generateName: tariff-}
spec:
  credentialsSecretRef: {name: openstack-admin, cloudName: dev}
  namespaceSelector: {}
`
	DescribeTable("rejects a bad tariff or time zone with a clear message",
		func(tail, message string) {
			err := k8s.Create(ctx, manifest("", cloudHeader+tail), client.FieldValidation("Strict"))
			Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", tail)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("a currency in lower case", `  tariff: {currency: gbp}`, `spec.tariff.currency: Invalid value: "gbp"`),
		Entry("a currency of four letters", `  tariff: {currency: GBPX}`, `spec.tariff.currency: Invalid value: "GBPX"`),
		Entry("a negative price", `  tariff: {currency: GBP, vcpuHour: "-0.021"}`, `spec.tariff.vcpuHour: Invalid value: "-0.021"`),
		Entry("a price that is not a decimal", `  tariff: {currency: GBP, ramGiBHour: "1e-3"}`, `spec.tariff.ramGiBHour: Invalid value: "1e-3"`),
		Entry("a price with a comma", `  tariff: {currency: GBP, volumeGiBMonth: "0,045"}`, `spec.tariff.volumeGiBMonth: Invalid value: "0,045"`),
		Entry("a price without its integer part", `  tariff: {currency: GBP, vcpuHour: ".5"}`, `spec.tariff.vcpuHour: Invalid value: ".5"`),
		Entry("a price as a number", `  tariff: {currency: GBP, vcpuHour: 0.021}`, `spec.tariff.vcpuHour: Invalid value: "number"`),
		Entry("prices without a currency", `  tariff: {vcpuHour: "0.021"}`, `a tariff with prices needs a currency`),
		Entry("a time zone that is not a zone name", `  timeZone: "Europe/London; rm"`, `spec.timeZone: Invalid value`),
		Entry("an empty time zone", `  timeZone: ""`, `spec.timeZone: Invalid value`),
	)

	It("keeps months in Europe/London unless told otherwise, and takes a full tariff", func() {
		c := manifest("", cloudHeader+`  tariff: {currency: GBP, vcpuHour: "0.021", ramGiBHour: "0.0032", volumeGiBMonth: "0.045"}
`)
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, c) })
		tz, _, err := unstructured.NestedString(c.Object, "spec", "timeZone")
		Expect(err).NotTo(HaveOccurred())
		Expect(tz).To(Equal(whv1.DefaultUsageTimeZone))
	})

	It("takes a Cloud with a currency and no prices (usage reported, nothing charged)", func() {
		c := manifest("", cloudHeader+"  tariff: {currency: JPY}\n  timeZone: Asia/Tokyo\n")
		Expect(k8s.Create(ctx, c)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, c) })
	})

	const reportDoc = `
apiVersion: whitehall.cloud/v1alpha1
kind: UsageReport
metadata: {name: %s}
spec:
  month: "%s"
  cloud: whitehall
  timeZone: Europe/London
  currency: GBP
  departmentCount: 1
  departments:
  - {namespace: hmrc, tenant: sa, projectID: p1, costCode: HMRC-001, vcpuHours: "10", cost: "0.21"}
  totals:
  - {costCode: HMRC-001, departments: 1, cost: "0.21"}
  total: "0.21"
`
	DescribeTable("refuses a UsageReport not named for its month",
		func(name, month, message string) {
			err := k8s.Create(ctx, manifest("", fmt.Sprintf(reportDoc, name, month)))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("another month's name", "1999-02", "1999-01", `a UsageReport is named for its month`),
		Entry("a month 13", "1999-13", "1999-13", `spec.month: Invalid value: "1999-13"`),
		Entry("another cloud's name", "1999-01.other", "1999-01", `a UsageReport is named for its month`),
	)

	It("never changes a UsageReport once written", func() {
		r := manifest("", fmt.Sprintf(reportDoc, "1999-03", "1999-03"))
		Expect(k8s.Create(ctx, r)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, r) })
		var report whv1.UsageReport
		Expect(k8s.Get(ctx, client.ObjectKey{Name: "1999-03"}, &report)).To(Succeed())
		report.Spec.Departments[0].Cost = "0.00"
		err := k8s.Update(ctx, &report)
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("a UsageReport is never changed once written"))

		Expect(k8s.Get(ctx, client.ObjectKey{Name: "1999-03"}, &report)).To(Succeed())
		report.Labels = map[string]string{"finance.example/exported": "true"}
		Expect(k8s.Update(ctx, &report)).To(Succeed(), "labels are not the statement")
		Expect(report.Spec.Departments[0].Cost).To(Equal("0.21"))
	})
})
