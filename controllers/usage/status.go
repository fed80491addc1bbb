package usage

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	showback "github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

// FieldManager is the field manager the usage reader applies under. The reader writes
// one field of the status of kinds it does not reconcile (Tenant.status.usage,
// Cloud.status.usage, PeakSeason.status.lastWindow); applied under a manager of its
// own, each field is the reader's alone and the kinds' own status writes leave it be.
const FieldManager = "whitehall-operator-usage"

// applyStatus writes status.<field> of obj, and nothing else, with server-side apply
// under FieldManager. A part of the field applied before and left out now is removed,
// as a merge patch would; a nil value removes the field. An object gone meanwhile is
// not an error.
func applyStatus[T any](ctx context.Context, c client.Client, obj client.Object, field string, value *T) error {
	gvk, err := apiutil.GVKForObject(obj, c.Scheme())
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{}}
	if value != nil {
		v, err := runtime.DefaultUnstructuredConverter.ToUnstructured(value)
		if err != nil {
			return err
		}
		u.Object["status"] = map[string]any{field: v}
	}
	u.SetGroupVersionKind(gvk)
	u.SetName(obj.GetName())
	u.SetNamespace(obj.GetNamespace())
	return client.IgnoreNotFound(c.Status().Apply(ctx, client.ApplyConfigurationFromUnstructured(u),
		client.FieldOwner(FieldManager), client.ForceOwnership))
}

// writeCloud writes the Cloud's status.usage.
func (r *Reconciler) writeCloud(ctx context.Context, cloud *whv1.Cloud, st *whv1.CloudUsage) error {
	return applyStatus(ctx, r.Client, cloud, "usage", st)
}

// writeTenants writes each Tenant's status.usage with its own project's figures only.
func (r *Reconciler) writeTenants(ctx context.Context, tenants []*whv1.Tenant, st *whv1.CloudUsage, closed map[string]*whv1.MonthUsage) error {
	current := map[string]whv1.MeteredDepartment{}
	for _, d := range st.Departments {
		current[d.ProjectID] = d
	}
	month, _ := showback.ParseMonth(st.Month, time.UTC)
	var errs []error
	for _, t := range tenants {
		u := &whv1.TenantUsage{ReadAt: st.ReadAt}
		d := current[t.Status.ProjectID]
		u.CurrentMonth = &whv1.MonthUsage{Month: st.Month, UsageFigures: d.UsageFigures}
		switch last := t.Status.Usage; {
		case closed[t.Status.ProjectID] != nil:
			u.LastMonth = closed[t.Status.ProjectID]
		case last != nil && last.LastMonth != nil && last.LastMonth.Month == month.Prev().String():
			u.LastMonth = last.LastMonth
		}
		if err := applyStatus(ctx, r.Client, t, "usage", u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
