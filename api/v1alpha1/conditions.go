package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// StatusObject is what every kind the operator reconciles offers the reconcile frame:
// the conditions it sets, the generation they were computed for, and the whole status,
// compared to decide whether a status write is needed. One interface, so no controller
// builds a wrapper around its kind's status.
// +kubebuilder:object:generate=false
type StatusObject interface {
	// StatusConditions returns the status's conditions, for meta.SetStatusCondition.
	StatusConditions() *[]metav1.Condition
	// SetObservedGeneration records the generation the status describes.
	SetObservedGeneration(generation int64)
	// StatusValue returns the status, for comparison only.
	StatusValue() any
}

var (
	_ StatusObject = &Cloud{}
	_ StatusObject = &Tenant{}
	_ StatusObject = &ComputeQuota{}
	_ StatusObject = &PeakSeason{}
	_ StatusObject = &DepartmentPolicy{}
	_ StatusObject = &TestEnvironment{}
)

// SyncedObject is a kind whose status records its last full read of OpenStack
// (status.lastSyncTime): the reconcile frame sets it, and spreads the first look at each
// unchanged object after a restart over the resync period from it.
// +kubebuilder:object:generate=false
type SyncedObject interface {
	StatusObject
	// LastSync returns status.lastSyncTime, nil when never synced.
	LastSync() *metav1.Time
	// SetLastSync records a full read at t.
	SetLastSync(t metav1.Time)
}

var (
	_ SyncedObject = &Tenant{}
	_ SyncedObject = &ComputeQuota{}
	_ SyncedObject = &TestEnvironment{}
)

// LastSync implements SyncedObject.
func (t *Tenant) LastSync() *metav1.Time { return t.Status.LastSyncTime }

// SetLastSync implements SyncedObject.
func (t *Tenant) SetLastSync(at metav1.Time) { t.Status.LastSyncTime = &at }

// LastSync implements SyncedObject.
func (c *ComputeQuota) LastSync() *metav1.Time { return c.Status.LastSyncTime }

// SetLastSync implements SyncedObject.
func (c *ComputeQuota) SetLastSync(at metav1.Time) { c.Status.LastSyncTime = &at }

// LastSync implements SyncedObject.
func (t *TestEnvironment) LastSync() *metav1.Time { return t.Status.LastSyncTime }

// SetLastSync implements SyncedObject.
func (t *TestEnvironment) SetLastSync(at metav1.Time) { t.Status.LastSyncTime = &at }

// StatusConditions implements StatusObject.
func (c *Cloud) StatusConditions() *[]metav1.Condition { return &c.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (c *Cloud) SetObservedGeneration(generation int64) { c.Status.ObservedGeneration = generation }

// StatusValue implements StatusObject.
func (c *Cloud) StatusValue() any { return c.Status }

// StatusConditions implements StatusObject.
func (t *Tenant) StatusConditions() *[]metav1.Condition { return &t.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (t *Tenant) SetObservedGeneration(generation int64) { t.Status.ObservedGeneration = generation }

// StatusValue implements StatusObject.
func (t *Tenant) StatusValue() any { return t.Status }

// StatusConditions implements StatusObject.
func (c *ComputeQuota) StatusConditions() *[]metav1.Condition { return &c.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (c *ComputeQuota) SetObservedGeneration(generation int64) {
	c.Status.ObservedGeneration = generation
}

// StatusValue implements StatusObject.
func (c *ComputeQuota) StatusValue() any { return c.Status }

// StatusConditions implements StatusObject.
func (p *PeakSeason) StatusConditions() *[]metav1.Condition { return &p.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (p *PeakSeason) SetObservedGeneration(generation int64) {
	p.Status.ObservedGeneration = generation
}

// StatusValue implements StatusObject.
func (p *PeakSeason) StatusValue() any { return p.Status }

// StatusConditions implements StatusObject.
func (d *DepartmentPolicy) StatusConditions() *[]metav1.Condition { return &d.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (d *DepartmentPolicy) SetObservedGeneration(generation int64) {
	d.Status.ObservedGeneration = generation
}

// StatusValue implements StatusObject.
func (d *DepartmentPolicy) StatusValue() any { return d.Status }

// StatusConditions implements StatusObject.
func (t *TestEnvironment) StatusConditions() *[]metav1.Condition { return &t.Status.Conditions }

// SetObservedGeneration implements StatusObject.
func (t *TestEnvironment) SetObservedGeneration(generation int64) {
	t.Status.ObservedGeneration = generation
}

// StatusValue implements StatusObject.
func (t *TestEnvironment) StatusValue() any { return t.Status }
