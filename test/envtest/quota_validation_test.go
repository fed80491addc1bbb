package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

var _ = Describe("ComputeQuota and PeakSeason validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	reject := func(ns, doc, message string) {
		err := k8s.Create(ctx, manifest(ns, doc), client.FieldValidation("Strict"))
		Expect(err).To(HaveOccurred(), "the API server accepted:\n%s", doc)
		Expect(err.Error()).To(ContainSubstring(message))
	}

	const quotaHeader = `
apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: q}
spec:
`
	DescribeTable("rejects a bad ComputeQuota with a clear message",
		func(spec, message string) { reject(ns, quotaHeader+spec, message) },
		Entry("no tenantRef", `  baseline: {compute: {cores: 1}}`, `spec.tenantRef: Required value`),
		Entry("no baseline", `  tenantRef: {name: t}`, `spec.baseline: Required value`),
		Entry("a negative limit other than -1", `  tenantRef: {name: t}
  baseline: {compute: {cores: -2}}`, `spec.baseline.compute.cores: Invalid value: -2: spec.baseline.compute.cores in body should be greater than or equal to -1`),
		Entry("a limit that is not a number", `  tenantRef: {name: t}
  baseline: {network: {ports: many}}`, `spec.baseline.network.ports: Invalid value: "string"`),
		Entry("an empty service block", `  tenantRef: {name: t}
  baseline: {compute: {}}`, `spec.baseline.compute: Invalid value: 0: spec.baseline.compute in body should have at least 1 properties`),
		Entry("an empty peaks entry", `  tenantRef: {name: t}
  baseline: {compute: {cores: 1}}
  peaks: [{season: sa}]`, `a peak must set at least one of compute, network or blockStorage`),
		Entry("a peak without a season", `  tenantRef: {name: t}
  baseline: {compute: {cores: 1}}
  peaks: [{compute: {cores: 2}}]`, `spec.peaks[0].season: Required value`),
		Entry("the same season twice", `  tenantRef: {name: t}
  baseline: {compute: {cores: 1}}
  peaks: [{season: sa, compute: {cores: 2}}, {season: sa, compute: {cores: 3}}]`, `each season may appear only once in peaks`),
	)

	const seasonHeader = `
apiVersion: whitehall.cloud/v1alpha1
kind: PeakSeason
metadata: {name: bad}
spec:
`
	DescribeTable("rejects a bad PeakSeason with a clear message",
		func(spec, message string) { reject("", seasonHeader+spec, message) },
		Entry("no windows", `  windows: []`, `spec.windows: Invalid value: 0: spec.windows in body should have at least 1 items`),
		Entry("a month 13", `  windows: [{yearly: {from: "13-01", to: "02-01"}}]`, `spec.windows[0].yearly.from: Invalid value: "13-01"`),
		Entry("a day 32", `  windows: [{yearly: {from: "01-02", to: "01-32"}}]`, `spec.windows[0].yearly.to: Invalid value: "01-32"`),
		Entry("a yearly window of no length", `  windows: [{yearly: {from: "01-02", to: "01-02"}}]`, `yearly.from and yearly.to must differ`),
		Entry("a one-off window ending before it starts", `  windows: [{from: "2027-04-15T00:00:00", to: "2027-04-01T00:00:00"}]`, `to must be after from`),
		Entry("a one-off window without an end", `  windows: [{from: "2027-04-15T00:00:00"}]`, `a one-off window needs both from and to`),
		Entry("both yearly and one-off", `  windows: [{yearly: {from: "01-02", to: "02-01"}, from: "2027-04-01T00:00:00", to: "2027-04-15T00:00:00"}]`, `a window is exactly one of yearly, monthly, workingDays, or a one-off window with from and to`),
		Entry("both monthly and working days", `  windows: [{monthly: {from: 1, to: 3}, workingDays: {count: 1, ofMonth: 1}}]`, `a window is exactly one of yearly, monthly, workingDays`),
		Entry("a monthly day 32", `  windows: [{monthly: {from: 25, to: 32}}]`, `spec.windows[0].monthly.to: Invalid value: 32`),
		Entry("a monthly window of no length", `  windows: [{monthly: {from: 5, to: 5}}]`, `monthly.from and monthly.to must differ`),
		Entry("working days with both anchors", `  windows: [{workingDays: {count: 1, ofMonth: 1, before: "01-31"}}]`, `workingDays sets exactly one of before or ofMonth`),
		Entry("working days with neither anchor", `  windows: [{workingDays: {count: 1}}]`, `workingDays sets exactly one of before or ofMonth`),
		Entry("the 0th working day", `  windows: [{workingDays: {count: 1, ofMonth: 0}}]`, `ofMonth is 1 to 23 (from the start) or -1 to -23 (from the end), never 0`),
		Entry("more working days than a month has", `  windows: [{workingDays: {count: 24, ofMonth: 1}}]`, `spec.windows[0].workingDays.count: Invalid value: 24`),
		Entry("working days before 30 February", `  windows: [{workingDays: {count: 3, before: "02-30"}}]`, `no such day`),
		Entry("a calendar that is not one", `  holidays: {calendar: Wales}
  windows: [{workingDays: {count: 1, ofMonth: -1}}]`, `spec.holidays.calendar: Unsupported value: "Wales"`),
		Entry("a holiday on 29 February of a common year", `  holidays: {add: ["2027-02-29"]}
  windows: [{workingDays: {count: 1, ofMonth: -1}}]`, `no such day`),
		Entry("a holiday that is a date-time", `  holidays: {remove: ["2027-04-01T00:00:00"]}
  windows: [{workingDays: {count: 1, ofMonth: -1}}]`, `spec.holidays.remove[0]: Too long`),
		Entry("a holiday in another numbering", `  holidays: {add: ["2027-4-1"]}
  windows: [{workingDays: {count: 1, ofMonth: -1}}]`, `spec.holidays.add[0]: Invalid value: "2027-4-1"`),
		Entry("a date-time with a zone", `  windows: [{from: "2027-04-01T00:00:00Z", to: "2027-04-15T00:00:00Z"}]`, `spec.windows[0].from: Invalid value: "2027-04-01T00:00:00Z"`),
		Entry("a ramp that is not a duration", `  rampUp: 2 days
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.rampUp: Invalid value: "2 days"`),
		Entry("a negative ramp", `  rampDown: -24h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.rampDown: Invalid value: "-24h"`),
		Entry("a ramp-up over 90 days", `  rampUp: 2161h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `rampUp must be at most 2160h (90 days)`),
		Entry("a ramp-down that overflows a duration", `  rampDown: 9999999999h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.rampDown: Invalid value: "string": type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: rampDown must be at most 2160h (90 days)`),
		Entry("a ramp-up that overflows a duration", `  rampUp: 9999999999h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.rampUp: Invalid value: "string": type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: rampUp must be at most 2160h (90 days)`),
		Entry("a ramp-down over 90 days in minutes", `  rampDown: 129601m
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `rampDown must be at most 2160h (90 days)`),
		Entry("capacity credentials from a namespace", `  capacityCredentialsRef: {namespace: hmrc, secretName: openstack-admin, cloudName: dev}
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `unknown field "spec.capacityCredentialsRef"`),
		Entry("a time zone that is not a zone name", `  timeZone: "Europe/London; rm -rf"
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.timeZone: Invalid value`),
		Entry("a yearly 30 February", `  windows: [{yearly: {from: "02-30", to: "03-10"}}]`, `spec.windows[0].yearly.from: Invalid value: "02-30": no such day: the day is past the end of its month`),
		Entry("a yearly 31 April", `  windows: [{yearly: {from: "04-01", to: "04-31"}}]`, `spec.windows[0].yearly.to: Invalid value: "04-31": no such day`),
		Entry("a one-off 30 February", `  windows: [{from: "2027-02-30T00:00:00", to: "2027-03-15T00:00:00"}]`, `spec.windows[0].from: Invalid value: "2027-02-30T00:00:00": no such day`),
		Entry("a one-off 29 February of a common year", `  windows: [{from: "2027-02-01T00:00:00", to: "2027-02-29T00:00:00"}]`, `spec.windows[0].to: Invalid value: "2027-02-29T00:00:00": no such day`),
		Entry("a one-off 29 February of a century that is not a leap year", `  windows: [{from: "2100-02-29T00:00:00", to: "2100-03-15T00:00:00"}]`, `no such day`),
		Entry("a one-off 31 September", `  windows: [{from: "2027-09-01T00:00:00", to: "2027-09-31T00:00:00"}]`, `no such day`),
		Entry("confirmAhead over 90 days", `  confirmAhead: 2161h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `confirmAhead must be at most 2160h (90 days)`),
		Entry("confirmAhead in days", `  confirmAhead: 30d
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.confirmAhead: Invalid value: "30d"`),
		Entry("confirmAhead that overflows a duration", `  confirmAhead: 9999999999h
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `confirmAhead must be at most 2160h (90 days)`),
		Entry("a priority for a policy name that cannot be one", `  priorities: [{departmentPolicy: "HMRC/SA", priority: 1}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.priorities[0].departmentPolicy: Invalid value: "HMRC/SA"`),
		Entry("a priority above 1000", `  priorities: [{departmentPolicy: hmrc, priority: 1001}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.priorities[0].priority: Invalid value: 1001`),
		Entry("a priority below -1000", `  priorities: [{departmentPolicy: hmrc, priority: -1001}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.priorities[0].priority: Invalid value: -1001`),
		Entry("two priorities for one policy", `  priorities: [{departmentPolicy: hmrc, priority: 1}, {departmentPolicy: hmrc, priority: 2}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.priorities[1]: Duplicate value`),
		Entry("a priority without a policy", `  priorities: [{priority: 2}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`, `spec.priorities[0].departmentPolicy: Required value`),
	)

	DescribeTable("accepts days that exist",
		func(windows string) {
			ps := manifest("", seasonHeader+"  windows: "+windows)
			ps.SetName("")
			ps.SetGenerateName("days-")
			Expect(k8s.Create(ctx, ps, client.FieldValidation("Strict"))).To(Succeed())
			DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		},
		Entry("yearly 29 February", `[{yearly: {from: "02-29", to: "03-31"}}]`),
		Entry("yearly ends of months", `[{yearly: {from: "01-31", to: "04-30"}}, {yearly: {from: "12-31", to: "01-01"}}]`),
		Entry("29 February of a leap year", `[{from: "2028-02-29T00:00:00", to: "2028-03-01T00:00:00"}]`),
		Entry("29 February of 2000", `[{from: "2000-02-29T00:00:00", to: "2000-03-01T00:00:00"}]`),
		Entry("31 December", `[{from: "2027-12-31T00:00:00", to: "2028-01-31T23:59:59"}]`),
		Entry("a monthly window across the month's end, on the 31st", `[{monthly: {from: 31, to: 3}}]`),
		Entry("working days before 29 February, and the last of every month", `[{workingDays: {count: 5, before: "02-29"}}, {workingDays: {count: 1, ofMonth: -1}}]`),
	)

	It("accepts confirmAhead of exactly 90 days and defaults it to 30 days", func() {
		ps := manifest("", seasonHeader+`  confirmAhead: 2160h
  priorities: [{departmentPolicy: hmrc.self-assessment, priority: 1000}, {departmentPolicy: test, priority: -1000}]
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`)
		ps.SetName("ahead-" + ns)
		Expect(k8s.Create(ctx, ps, client.FieldValidation("Strict"))).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		plain := manifest("", seasonHeader+`  windows: [{yearly: {from: "01-02", to: "02-01"}}]`)
		plain.SetName("default-ahead-" + ns)
		Expect(k8s.Create(ctx, plain)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, plain) })
		Expect(fetch(&whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: plain.GetName()}}).Spec.ConfirmAhead).To(
			Equal(&metav1.Duration{Duration: 720 * time.Hour}))
	})

	It("accepts ramps of exactly 90 days", func() {
		ps := manifest("", seasonHeader+`  rampUp: 2160h
  rampDown: 129600m
  windows: [{yearly: {from: "01-02", to: "02-01"}}]`)
		ps.SetName("ramps-" + ns)
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
	})
})
