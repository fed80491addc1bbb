package usage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
	showback "github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

// DefaultInterval is how often a Cloud's usage is read unless --usage-interval says
// otherwise.
const DefaultInterval = time.Hour

// Cloud is what the usage reader needs of OpenStack.
type Cloud interface {
	openstack.Usage
}

var _ Cloud = (*openstack.Cloud)(nil)

// Reconciler reads, at most every Interval, what every department on a Cloud used
// (one all-projects Nova call and one all-projects volume listing), writes each Tenant's
// status.usage and the Cloud's running month, and at month close writes the month's
// UsageReport once.
type Reconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Clouds   access.CloudConnector[Cloud]
	Access   access.Access
	// Interval between reads; zero means DefaultInterval.
	Interval time.Duration
	// Now is the clock; tests move it.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=usagereports,verbs=get;list;watch;create
// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=peakseasons/status,verbs=get;update;patch

// Reconcile reads a Cloud's usage when a read is due.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	cloud := &whv1.Cloud{}
	if err := r.Get(ctx, req.NamespacedName, cloud); err != nil {
		if apierrors.IsNotFound(err) {
			forgetUsageMetrics(req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	if !cloud.DeletionTimestamp.IsZero() {
		forgetUsageMetrics(cloud.Name)
		return ctrl.Result{}, nil
	}
	loc, err := season.LoadZone(cmp.Or(cloud.Spec.TimeZone, whv1.DefaultUsageTimeZone))
	if err == nil {
		_, err = tariffOf(cloud)
	}
	if err != nil { // the spec must change before anything can be read
		frame.Notify(ctx, r.Recorder, cloud, corev1.EventTypeWarning, whv1.ReasonInvalidConfiguration, "ReadUsage", "usage is not read: %v", err)
		return ctrl.Result{}, nil
	}
	now := r.Now()
	current := showback.MonthOf(now, loc)
	if wait := r.due(cloud.Status.Usage, current, now); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	if err := r.read(ctx, cloud, current, now); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: min(r.interval(), current.End().Sub(now))}, nil
}

func (r *Reconciler) interval() time.Duration { return cmp.Or(r.Interval, DefaultInterval) }

// due is how long until the next read: zero when one is due now (none yet, the interval
// has passed, or the month has turned).
func (r *Reconciler) due(st *whv1.CloudUsage, current showback.Month, now time.Time) time.Duration {
	if st == nil || st.ReadAt == nil || st.Month != current.String() {
		return 0
	}
	wait := st.ReadAt.Add(r.interval()).Sub(now)
	return max(0, min(wait, current.End().Sub(now)))
}

// read closes the months that ended since the last read, meters the current one, and
// writes what it found.
func (r *Reconciler) read(ctx context.Context, cloud *whv1.Cloud, current showback.Month, now time.Time) error {
	osCloud, err := r.Clouds.Cloud(ctx, r.Access.CloudRef(cloud))
	if err != nil {
		return err
	}
	tenants, err := r.departments(ctx, cloud)
	if err != nil {
		return err
	}
	tariff, _ := tariffOf(cloud)
	st := cloud.Status.Usage.DeepCopy()
	closed := map[string]*whv1.MonthUsage{}
	// A month is closed once, however long the operator was away (up to a year).
	for i := 0; st != nil && st.Month != "" && st.Month != current.String() && i < 12; i++ {
		if st, err = r.closeMonth(ctx, osCloud, cloud, tariff, current.Loc, st, tenants, closed); err != nil {
			return err
		}
	}
	if st == nil || st.Month != current.String() {
		st = &whv1.CloudUsage{Month: current.String(), ReadAt: &metav1.Time{Time: current.Start()}}
	}
	m, err := r.meter(ctx, osCloud, current, tariff, st, now)
	if err != nil {
		return err
	}
	before := st.Departments
	st.Departments = metered(st.Departments, tenants, m)
	st.ReadAt = &metav1.Time{Time: now}
	countUsage(before, st.Departments)
	if err := r.writeCloud(ctx, cloud, st); err != nil {
		return err
	}
	recordUsageMetrics(cloud.Name, st.Departments)
	if err := r.writeTenants(ctx, tenants, st, closed); err != nil {
		return err
	}
	return r.seasonWindows(ctx, osCloud, cloud, tenants, now)
}

// meter reads a month's usage up to until: one all-projects Nova call for the month so
// far, and the volumes integrated since the last read.
func (r *Reconciler) meter(ctx context.Context, osCloud Cloud, month showback.Month, tariff showback.Tariff, st *whv1.CloudUsage, until time.Time) (meter, error) {
	compute, err := osCloud.ComputeUsage(ctx, month.Start(), until)
	if err != nil {
		return meter{}, err
	}
	m := meter{month: month, tariff: tariff, compute: compute}
	vols, ok, err := osCloud.Volumes(ctx)
	if err != nil {
		return meter{}, err
	}
	if ok {
		since := month.Start()
		if st.ReadAt != nil && st.ReadAt.After(since) {
			since = st.ReadAt.Time
		}
		m.volumes = integrate(runningVolumes(st.Departments), since, until, vols)
	}
	return m, nil
}

// closeMonth meters st's month to its end, writes its UsageReport (or keeps the one
// already written) and records each project's final figures in closed. It returns the
// state of the month after.
func (r *Reconciler) closeMonth(ctx context.Context, osCloud Cloud, cloud *whv1.Cloud, tariff showback.Tariff, loc *time.Location,
	st *whv1.CloudUsage, tenants []*whv1.Tenant, closed map[string]*whv1.MonthUsage,
) (*whv1.CloudUsage, error) {
	month, err := showback.ParseMonth(st.Month, loc)
	if err != nil {
		return nil, err
	}
	m, err := r.meter(ctx, osCloud, month, tariff, st, month.End())
	if err != nil {
		return nil, err
	}
	var existed []*whv1.Tenant
	for _, t := range tenants {
		if t.CreationTimestamp.Before(&metav1.Time{Time: month.End()}) {
			existed = append(existed, t)
		}
	}
	deps := metered(st.Departments, existed, m)
	countUsage(st.Departments, deps)
	name, err := r.reportName(ctx, cloud, month)
	if err != nil {
		return nil, err
	}
	report := statement(name, cloud, m, deps)
	if err := r.Create(ctx, report); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return nil, fmt.Errorf("writing UsageReport %s: %w", name, err)
		}
		// Written before (a read that failed after it): the statement stands as written.
		if err := r.Get(ctx, client.ObjectKey{Name: name}, report); err != nil {
			return nil, err
		}
	} else {
		total := "no tariff"
		if report.Spec.Total != "" {
			total = "total " + report.Spec.Total + " " + report.Spec.Currency
		}
		frame.Notify(ctx, r.Recorder, cloud, corev1.EventTypeNormal, "UsageReportWritten", "CloseMonth",
			"UsageReport %s: %d departments, %s", name, report.Spec.DepartmentCount, total)
	}
	for _, d := range report.Spec.Departments {
		closed[d.ProjectID] = &whv1.MonthUsage{Month: report.Spec.Month, UsageFigures: d.UsageFigures}
	}
	return &whv1.CloudUsage{Month: month.Next().String(), ReadAt: &metav1.Time{Time: month.End()}}, nil
}

// reportName is YYYY-MM, or YYYY-MM.<cloud> when the operator meters more than one
// Cloud, so two Clouds never write one statement.
func (r *Reconciler) reportName(ctx context.Context, cloud *whv1.Cloud, month showback.Month) (string, error) {
	var clouds whv1.CloudList
	if err := r.List(ctx, &clouds); err != nil {
		return "", err
	}
	if len(clouds.Items) > 1 {
		return month.String() + "." + cloud.Name, nil
	}
	return month.String(), nil
}

// departments are the Tenants metered on this Cloud: those that name it, in a namespace
// it admits, with a project. A project claimed by two Tenants is metered for neither,
// so no department's usage ever shows in another's namespace.
func (r *Reconciler) departments(ctx context.Context, cloud *whv1.Cloud) ([]*whv1.Tenant, error) {
	var list whv1.TenantList
	if err := r.List(ctx, &list, client.MatchingFields{lookups.CloudRefIndex: cloud.Name}); err != nil {
		return nil, err
	}
	byProject := map[string][]*whv1.Tenant{}
	for i := range list.Items {
		t := &list.Items[i]
		if t.Status.ProjectID == "" {
			continue
		}
		if err := r.Access.Admits(ctx, cloud, t.Namespace); err != nil {
			var spec *frame.SpecError
			if errors.As(err, &spec) {
				continue
			}
			return nil, err
		}
		byProject[t.Status.ProjectID] = append(byProject[t.Status.ProjectID], t)
	}
	var out []*whv1.Tenant
	for project, ts := range byProject {
		if len(ts) > 1 {
			log.FromContext(ctx).Info("project claimed by more than one Tenant: its usage is not shown to either", "project", project, "tenants", len(ts))
			continue
		}
		out = append(out, ts[0])
	}
	return out, nil
}

// metered is the month's departments after a read: those already metered (kept when
// their Tenant is gone, marked deleted) and every current Tenant, with their figures.
func metered(known []whv1.MeteredDepartment, tenants []*whv1.Tenant, m meter) []whv1.MeteredDepartment {
	byProject := map[string]*whv1.MeteredDepartment{}
	for i := range known {
		d := known[i]
		d.Deleted = true
		byProject[d.ProjectID] = &d
	}
	for _, t := range tenants {
		d, ok := byProject[t.Status.ProjectID]
		if !ok {
			d = &whv1.MeteredDepartment{ProjectID: t.Status.ProjectID}
			byProject[d.ProjectID] = d
		}
		d.Namespace, d.Tenant, d.CostCode, d.Deleted = t.Namespace, t.Name, t.Labels[whv1.CostCodeLabel], false
	}
	out := make([]whv1.MeteredDepartment, 0, len(byProject))
	for _, d := range byProject {
		d.UsageFigures = m.figures(m.quantities(d.ProjectID))
		d.VolumeGiBHours = ""
		if m.volumes != nil && m.volumes[d.ProjectID] != nil {
			d.VolumeGiBHours = showback.Format(m.volumes[d.ProjectID], volumeHoursPlaces)
		}
		out = append(out, *d)
	}
	sortDepartments(out)
	return out
}

// SetupWithManager registers the reader: one reconcile per Cloud, woken by its spec and
// by its own schedule.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	if r.Now == nil {
		r.Now = time.Now
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.Cloud{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("usage").
		Complete(r)
}
