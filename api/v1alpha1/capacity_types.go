package v1alpha1

// Capacity confirmed ahead, and shared by priority when short: a PeakSeason judges the
// peaks committed to its next window against the cloud's capacity from confirmAhead
// before it opens, and publishes each ComputeQuota's grant; the ComputeQuota reads it.

// Condition types and reasons a ComputeQuota shows of its peaks' capacity.
const (
	// ConditionPeakCapacity is True when every peak whose season is being confirmed fits
	// in the cloud (Confirmed), False when one does not fit in full (AtRisk: the message
	// says what it gets and why), Unknown while a peak awaits its season's judgement.
	// Absent when no season of the ComputeQuota is within its confirmAhead.
	ConditionPeakCapacity = "PeakCapacity"
	// ReasonPeakConfirmed: the season confirmed the whole peak.
	ReasonPeakConfirmed = "Confirmed"
	// ReasonPeakAtRisk: the season's peaks do not fit; this peak gets part of its value
	// (or none of it) when the window opens.
	ReasonPeakAtRisk = "AtRisk"
	// ReasonPeakNotJudged: the season has not judged this peak yet (it is new, was just
	// approved, or the season lists too many); while its window is open only the
	// baseline applies until it is judged.
	ReasonPeakNotJudged = "NotJudged"
)

// Why a grant is what it is (PeakGrant.reason).
const (
	// GrantWholePeak: the whole peak fits.
	GrantWholePeak = "WholePeak"
	// GrantShared: the peaks of this priority share what was left, in proportion to
	// what each wants above its floor.
	GrantShared = "Shared"
	// GrantHigherPriorities: higher priorities took the capacity: only the floor
	// (baseline, or what is in use if more) is granted.
	GrantHigherPriorities = "HigherPriorities"
)

// MaxGrants is how many grants a PeakSeason lists (status.confirmation.grants).
const MaxGrants = 1000

// SeasonPriority sets the priority of the departments one DepartmentPolicy governs,
// for one season.
type SeasonPriority struct {
	// departmentPolicy is the name of a DepartmentPolicy.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	DepartmentPolicy string `json:"departmentPolicy"`
	// priority of those departments in this season: higher first.
	// +required
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	Priority int32 `json:"priority"`
}

// CapacityConfirmation is a season's judgement of the peaks committed to one window.
type CapacityConfirmation struct {
	// window is the window judged, ramps applied: the next to open, or the one open now
	// (absent when ramps join the windows into one without end).
	// +optional
	Window *TimeWindow `json:"window,omitempty"`
	// available is what the season's departments may share: the cloud's capacity less
	// what is in use outside them (Placement's usages of every resource provider less
	// what the season's departments' projects use, as Nova reports it to them).
	// +optional
	Available *CapacityAmounts `json:"available,omitempty"`
	// inUseOutside is what is in use outside the season's departments, as above.
	// +optional
	InUseOutside *CapacityAmounts `json:"inUseOutside,omitempty"`
	// confirmed is how many peaks fit in full; atRisk how many do not.
	// +optional
	Confirmed int32 `json:"confirmed"`
	// +optional
	AtRisk int32 `json:"atRisk"`
	// unlisted is how many judged peaks are not in grants because the list is full
	// (1000 entries: the peaks at risk first, then those granted in full, each highest
	// priority first).
	// +optional
	Unlisted int32 `json:"unlisted,omitempty"`
	// unlistedConfirmed is true when every peak left out of grants is granted in full: a
	// ComputeQuota of the season that is not listed then applies its peak as written.
	// Otherwise one not listed applies only its baseline while the window is open, and
	// shows PeakCapacity Unknown.
	// +optional
	UnlistedConfirmed bool `json:"unlistedConfirmed,omitempty"`
	// grants are what each ComputeQuota whose peak is approved gets during the window.
	// A ComputeQuota not listed (a peak pending approval, a ComputeQuota created since)
	// applies its baseline while the window is open, until it is judged.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1000
	Grants []PeakGrant `json:"grants,omitempty"`
}

// PeakGrant is what one ComputeQuota's peak gets during a season's window.
type PeakGrant struct {
	// namespace and name of the ComputeQuota.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// priority it was judged at.
	// +optional
	Priority int32 `json:"priority"`
	// cores and ramMiB are the peak's values granted, for the fields the peak sets
	// (-1: unlimited, as the peak asks and the cloud holds).
	// +optional
	Cores *int64 `json:"cores,omitempty"`
	// +optional
	RAMMiB *int64 `json:"ramMiB,omitempty"`
	// confirmed is true when the whole peak is granted.
	// +optional
	Confirmed bool `json:"confirmed"`
	// reason says why: WholePeak, Shared (with sharedWith others of its priority) or
	// HigherPriorities.
	// +optional
	// +kubebuilder:validation:Enum=WholePeak;Shared;HigherPriorities
	Reason string `json:"reason,omitempty"`
	// sharedWith is how many other peaks of its priority shared what was left.
	// +optional
	SharedWith int32 `json:"sharedWith,omitempty"`
}

// PriorityOrNil is the rules' priority; nil when r or its priority is not set.
func (r *PeakRules) PriorityOrNil() *int32 {
	if r == nil {
		return nil
	}
	return r.Priority
}

// The verdicts of a peak's capacity (PeakCapacityStatus.verdict).
const (
	// VerdictConfirmed: the whole peak fits.
	VerdictConfirmed = "Confirmed"
	// VerdictAtRisk: the peak gets part of its value, or none of it.
	VerdictAtRisk = "AtRisk"
	// VerdictNotJudged: the season has not judged the peak yet.
	VerdictNotJudged = "NotJudged"
)

// PeakCapacityStatus is what a season's judgement grants one peak of a ComputeQuota.
type PeakCapacityStatus struct {
	// season is the PeakSeason that judged the peak.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Season string `json:"season"`
	// verdict is Confirmed (the whole peak fits), AtRisk (it gets cores and ramMiB, less
	// than it asks) or NotJudged (only the baseline applies in the window until it is).
	// +required
	// +kubebuilder:validation:Enum=Confirmed;AtRisk;NotJudged
	Verdict string `json:"verdict"`
	// cores and ramMiB are what the peak gets during the window, for the fields it sets.
	// +optional
	Cores *int64 `json:"cores,omitempty"`
	// +optional
	RAMMiB *int64 `json:"ramMiB,omitempty"`
	// window is the window judged, ramps applied.
	// +optional
	Window *TimeWindow `json:"window,omitempty"`
}
