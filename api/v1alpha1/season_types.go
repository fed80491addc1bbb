package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Condition types and reasons of PeakSeason.
const (
	// ConditionCapacityAtRisk is True when the peak quota committed to the season exceeds
	// what the cloud can hold.
	ConditionCapacityAtRisk = "CapacityAtRisk"
	// ReasonOvercommitted: committed peak quota exceeds capacity; the message has numbers.
	ReasonOvercommitted = "Overcommitted"
	// ReasonWithinCapacity: committed peak quota fits in the cloud.
	ReasonWithinCapacity = "WithinCapacity"
	// ReasonCapacityUnknown: no capacity credentials are set, or the cloud's capacity
	// could not be read.
	ReasonCapacityUnknown = "CapacityUnknown"
)

// PeakSeasonSpec is a calendar of peak windows that every department shares.
type PeakSeasonSpec struct {
	// timeZone is the IANA time zone the windows are written in. Window boundaries are
	// local wall-clock times, so they land on the right instant on both sides of a
	// daylight-saving change.
	// Names are case-sensitive: a zone the operator cannot load (Europe/LONDON, Local)
	// is refused at apply.
	// +optional
	// +kubebuilder:default="Europe/London"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone \"Local\" is not allowed: name an IANA zone such as Europe/London"
	// +kubebuilder:validation:XValidation:rule="timestamp('2000-06-01T00:00:00Z').getFullYear(self) == 2000",message="timeZone must be an IANA time zone such as Europe/London (names are case-sensitive)"
	TimeZone string `json:"timeZone,omitempty"`

	// windows are the periods of the peak. Overlapping windows merge.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Windows []SeasonWindow `json:"windows"`

	// rampUp starts the peak this long before each window opens, so quota is in place
	// before the rush (for example 48h).
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('2160h')",message="rampUp must be at most 2160h (90 days)"
	RampUp *metav1.Duration `json:"rampUp,omitempty"`

	// rampDown keeps the peak this long after each window closes.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('2160h')",message="rampDown must be at most 2160h (90 days)"
	RampDown *metav1.Duration `json:"rampDown,omitempty"`

	// confirmAhead is how long before each window opens (ramp included) the operator
	// starts judging the peaks committed to it against the cloud's capacity, so each
	// department knows weeks ahead whether its peak is Confirmed or AtRisk
	// (status.confirmation). Default 720h (30 days).
	// +optional
	// +kubebuilder:default="720h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('2160h')",message="confirmAhead must be at most 2160h (90 days)"
	ConfirmAhead *metav1.Duration `json:"confirmAhead,omitempty"`

	// priorities set, for this season only, the priority of the departments a
	// DepartmentPolicy governs, in place of that policy's peaks.priority. When the peaks do
	// not fit, a higher priority gets its whole peak before a lower one gets any of its
	// own. Set by the centre: departments cannot write PeakSeasons.
	// +optional
	// +listType=map
	// +listMapKey=departmentPolicy
	// +kubebuilder:validation:MaxItems=64
	Priorities []SeasonPriority `json:"priorities,omitempty"`

	// holidays say which weekdays are not working days, for workingDays windows; the
	// default is England and Wales' bank holidays.
	// +optional
	Holidays *HolidayCalendar `json:"holidays,omitempty"`

	// cloudRef names the Cloud whose capacity (Placement inventories) the committed peak
	// is held against. A season is shared by every department, so it uses the platform
	// team's Cloud, never a department's Secret. Without it, capacity is not checked
	// (CapacityAtRisk is Unknown).
	// +optional
	CloudRef *CloudReference `json:"cloudRef,omitempty"`
}

// SeasonWindow is one of: a window that repeats every year (yearly), every month
// (monthly), a window of working days (workingDays), or a one-off window (from and to).
//
// +kubebuilder:validation:XValidation:rule="[has(self.yearly), has(self.monthly), has(self.workingDays), has(self.from) || has(self.to)].filter(k, k).size() == 1",message="a window is exactly one of yearly, monthly, workingDays, or a one-off window with from and to"
// +kubebuilder:validation:XValidation:rule="has(self.yearly) || has(self.monthly) || has(self.workingDays) || (has(self.from) && has(self.to))",message="a one-off window needs both from and to"
// +kubebuilder:validation:XValidation:rule="!has(self.from) || !has(self.to) || self.to > self.from",message="to must be after from"
type SeasonWindow struct {
	// yearly repeats every year between two dates.
	// +optional
	Yearly *YearlyWindow `json:"yearly,omitempty"`

	// monthly repeats every month between two days of the month.
	// +optional
	Monthly *MonthlyWindow `json:"monthly,omitempty"`

	// workingDays covers whole working days, counted in the season's holidays: every
	// year the last few before a date, or every month a few from (or up to) the Nth.
	// +optional
	WorkingDays *WorkingDaysWindow `json:"workingDays,omitempty"`

	// from is the local date-time a one-off window opens, as 2027-04-01T00:00:00.
	// +optional
	// +kubebuilder:validation:MaxLength=25
	// +kubebuilder:validation:Pattern=`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}T') || int(self.substring(8, 10)) <= (int(self.substring(5, 7)) == 2 ? (((int(self.substring(0, 4)) % 4 == 0 && int(self.substring(0, 4)) % 100 != 0) || int(self.substring(0, 4)) % 400 == 0) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(5, 7)) - 1])",message="no such day: the day is past the end of its month"
	From *string `json:"from,omitempty"`

	// to is the local date-time a one-off window closes (exclusive).
	// +optional
	// +kubebuilder:validation:MaxLength=25
	// +kubebuilder:validation:Pattern=`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}T') || int(self.substring(8, 10)) <= (int(self.substring(5, 7)) == 2 ? (((int(self.substring(0, 4)) % 4 == 0 && int(self.substring(0, 4)) % 100 != 0) || int(self.substring(0, 4)) % 400 == 0) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(5, 7)) - 1])",message="no such day: the day is past the end of its month"
	To *string `json:"to,omitempty"`
}

// YearlyWindow is a window between two dates of every year, from local midnight of
// from to local midnight of to (exclusive). It may cross the new year (12-20 to 01-05).
// 02-29 in a year without it means 1 March.
//
// +kubebuilder:validation:XValidation:rule="self.from != self.to",message="yearly.from and yearly.to must differ"
type YearlyWindow struct {
	// from is the first day, as MM-DD.
	// +required
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0[1-9]|1[0-2])-[0-9]{2}$') || int(self.substring(3, 5)) <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(0, 2)) - 1]",message="no such day: the day is past the end of its month (02-29 is allowed)"
	From string `json:"from"`
	// to is the day after the last day, as MM-DD.
	// +required
	// +kubebuilder:validation:MaxLength=10
	// +kubebuilder:validation:Pattern=`^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0[1-9]|1[0-2])-[0-9]{2}$') || int(self.substring(3, 5)) <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(0, 2)) - 1]",message="no such day: the day is past the end of its month (02-29 is allowed)"
	To string `json:"to"`
}

// MonthlyWindow is a window between two days of every month, from local midnight of
// day from to local midnight of day to (exclusive). When to is not after from it crosses
// the month's end (25 to 3: the 25th to the 3rd of the next month). A day a month does
// not have (31 in April) is the instant that month ends.
//
// +kubebuilder:validation:XValidation:rule="self.from != self.to",message="monthly.from and monthly.to must differ"
type MonthlyWindow struct {
	// from is the first day of the month, 1 to 31.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=31
	From int32 `json:"from"`
	// to is the day after the last day, 1 to 31.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=31
	To int32 `json:"to"`
}

// WorkingDaysWindow is a window of whole working days (Monday to Friday less the
// season's holidays), either every year before a date or every month:
//
//	workingDays: {count: 5, before: "01-31"}   # the last 5 working days before 31 January
//	workingDays: {count: 1, ofMonth: -1}       # the last working day of every month (payday)
//	workingDays: {count: 2, ofMonth: 1}        # the first 2 working days of every month
//
// +kubebuilder:validation:XValidation:rule="has(self.before) != has(self.ofMonth)",message="workingDays sets exactly one of before or ofMonth"
type WorkingDaysWindow struct {
	// count is how many working days the window covers.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=23
	Count int32 `json:"count"`
	// before is a date of every year, as MM-DD: the window is the count working days
	// just before it, from the first of them to local midnight of the date (the days
	// between included). 02-29 in a year without it means 1 March.
	// +optional
	// +kubebuilder:validation:MaxLength=5
	// +kubebuilder:validation:Pattern=`^(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	// +kubebuilder:validation:XValidation:rule="!self.matches('^(0[1-9]|1[0-2])-[0-9]{2}$') || int(self.substring(3, 5)) <= [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(0, 2)) - 1]",message="no such day: the day is past the end of its month (02-29 is allowed)"
	Before *string `json:"before,omitempty"`
	// ofMonth anchors the window in every month: N is the Nth working day (1 the first)
	// and the window runs count working days from it; -N runs count working days up to
	// the Nth from the end (-1 the last). A month with too few working days has none.
	// +optional
	// +kubebuilder:validation:Minimum=-23
	// +kubebuilder:validation:Maximum=23
	// +kubebuilder:validation:XValidation:rule="self != 0",message="ofMonth is 1 to 23 (from the start) or -1 to -23 (from the end), never 0"
	OfMonth *int32 `json:"ofMonth,omitempty"`
}

// HolidayCalendar says which weekdays are not working days, for workingDays windows.
type HolidayCalendar struct {
	// calendar is the bank holidays of one UK calendar, computed for every year
	// (Easter, substitute days, and the moves and one-off holidays proclaimed so far):
	// EnglandAndWales, Scotland, NorthernIreland, or None.
	// +optional
	// +kubebuilder:default=EnglandAndWales
	// +kubebuilder:validation:Enum=EnglandAndWales;Scotland;NorthernIreland;None
	Calendar string `json:"calendar,omitempty"`
	// add are dates that are not working days either, as YYYY-MM-DD: a bank holiday
	// proclaimed for a state occasion.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=10
	// +kubebuilder:validation:items:Pattern=`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}$') || int(self.substring(8, 10)) <= (int(self.substring(5, 7)) == 2 ? (((int(self.substring(0, 4)) % 4 == 0 && int(self.substring(0, 4)) % 100 != 0) || int(self.substring(0, 4)) % 400 == 0) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(5, 7)) - 1])",message="no such day: the day is past the end of its month"
	Add []string `json:"add,omitempty"`
	// remove are dates that are working days after all, as YYYY-MM-DD.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=10
	// +kubebuilder:validation:items:Pattern=`^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$`
	// +kubebuilder:validation:items:XValidation:rule="!self.matches('^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}$') || int(self.substring(8, 10)) <= (int(self.substring(5, 7)) == 2 ? (((int(self.substring(0, 4)) % 4 == 0 && int(self.substring(0, 4)) % 100 != 0) || int(self.substring(0, 4)) % 400 == 0) ? 29 : 28) : [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][int(self.substring(5, 7)) - 1])",message="no such day: the day is past the end of its month"
	Remove []string `json:"remove,omitempty"`
}

// SeasonTransition is a moment the season turns on or off, and the windows that make
// it.
type SeasonTransition struct {
	// at is the instant.
	// +required
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	At metav1.Time `json:"at"`
	// active is the season's state from at on.
	// +optional
	Active bool `json:"active"`
	// rules name the windows whose occurrence (ramps included) starts or ends at at,
	// as "windows[1]: the last 5 working days before 01-31 (England and Wales)".
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=256
	Rules []string `json:"rules,omitempty"`
}

// PeakSeasonStatus reports whether the season is on, when it next changes, and whether
// the cloud can hold what departments have asked for during it.
type PeakSeasonStatus struct {
	// active is true while the season, ramps included, is on.
	// +optional
	Active bool `json:"active"`
	// currentWindow is the window in force, ramps applied, while active.
	// +optional
	CurrentWindow *TimeWindow `json:"currentWindow,omitempty"`
	// nextTransition is when the season next turns on or off.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	NextTransition *metav1.Time `json:"nextTransition,omitempty"`
	// upcoming are the next transitions (at most 6), each with the windows that make it.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=6
	Upcoming []SeasonTransition `json:"upcoming,omitempty"`
	// committed is the peak quota that every ComputeQuota using this season would hold
	// during it, summed.
	// +optional
	Committed *CapacityAmounts `json:"committed,omitempty"`
	// capacity is what the cloud can hold: Placement inventories × allocation ratios,
	// minus reserved.
	// +optional
	Capacity *CapacityAmounts `json:"capacity,omitempty"`
	// confirmation is the judgement of the peaks committed to the next window against the
	// cloud's capacity: from confirmAhead before the window opens until it closes. Absent
	// outside that time, or when the capacity was never read (spec.cloudRef unset).
	// +optional
	Confirmation *CapacityConfirmation `json:"confirmation,omitempty"`
	// lastWindow is what the departments using this season ran during its last closed
	// window: whether the capacity raised for it was used.
	// +optional
	LastWindow *SeasonWindowUsage `json:"lastWindow,omitempty"`
	// observedGeneration is the generation of the spec that status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// conditions: Ready and CapacityAtRisk.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:XValidation:rule="self.all(c, c.lastTransitionTime >= timestamp('0001-01-01T00:00:00Z'))",message="lastTransitionTime must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// SeasonWindowUsage is the vCPU-hours the departments using a season ran in one of its
// windows, and how many of them were above their baseline.
type SeasonWindowUsage struct {
	// start and end of the window, ramps applied.
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Start metav1.Time `json:"start"`
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	End metav1.Time `json:"end"`
	// vcpuHours the departments using the season ran during the window (Nova).
	VCPUHours string `json:"vcpuHours"`
	// baselineVCPUHours is their baseline share: baseline cores × the window's hours,
	// summed over the departments.
	BaselineVCPUHours string `json:"baselineVCPUHours"`
	// extraVCPUHours are the vCPU-hours above the baseline share: each department's
	// usage minus its share, where positive, summed.
	ExtraVCPUHours string `json:"extraVCPUHours"`
	// departments counted.
	Departments int32 `json:"departments"`
}

// TimeWindow is an interval of time, start inclusive and end exclusive.
type TimeWindow struct {
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	Start metav1.Time `json:"start"`
	// +kubebuilder:validation:XValidation:rule="self >= timestamp('0001-01-01T00:00:00Z')",message="must be an RFC 3339 date-time such as 2027-04-01T00:00:00Z"
	End metav1.Time `json:"end"`
}

// CapacityAmounts are amounts of compute resources; -1 means unlimited.
type CapacityAmounts struct {
	// +optional
	Cores *int64 `json:"cores,omitempty"`
	// +optional
	RAMMiB *int64 `json:"ramMiB,omitempty"`
	// +optional
	Instances *int64 `json:"instances,omitempty"`
}

// PeakSeason is a named calendar of peaks — Self Assessment in January, PAYE year end
// in April — that ComputeQuotas and TestEnvironments raise capacity for.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ps,categories=whitehall
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.status.active`
// +kubebuilder:printcolumn:name="Next",type=string,JSONPath=`.status.nextTransition`
// +kubebuilder:printcolumn:name="At Risk",type=string,JSONPath=`.status.conditions[?(@.type=="CapacityAtRisk")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PeakSeason struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec PeakSeasonSpec `json:"spec"`
	// +optional
	Status PeakSeasonStatus `json:"status,omitempty"`
}

// PeakSeasonList is a list of PeakSeasons.
//
// +kubebuilder:object:root=true
type PeakSeasonList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PeakSeason `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PeakSeason{}, &PeakSeasonList{})
}
