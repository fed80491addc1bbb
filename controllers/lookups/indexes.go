package lookups

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// Field indexes that let a change to one object find the objects that depend on it.
const (
	// CloudRefIndex: Tenants and PeakSeasons by the Cloud they name.
	CloudRefIndex = "spec.cloudRef.name"
	// CloudSecretIndex: Clouds by the name of their credentials Secret.
	CloudSecretIndex = "spec.credentialsSecretRef.name"
	// TenantRefIndex: ComputeQuotas and TestEnvironments by the name of their Tenant.
	TenantRefIndex = "spec.tenantRef.name"
	// PeakSeasonIndex: ComputeQuotas and TestEnvironments by the PeakSeasons their peaks name.
	PeakSeasonIndex = "spec.peaks.season"
)

// SetupIndexes registers every field index the controllers use, once per manager.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &whv1.Tenant{}, CloudRefIndex, func(o client.Object) []string {
		if ref := o.(*whv1.Tenant).Spec.CloudRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.PeakSeason{}, CloudRefIndex, func(o client.Object) []string {
		if ref := o.(*whv1.PeakSeason).Spec.CloudRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.Cloud{}, CloudSecretIndex, func(o client.Object) []string {
		return []string{o.(*whv1.Cloud).Spec.CredentialsSecretRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.ComputeQuota{}, TenantRefIndex, func(o client.Object) []string {
		return []string{o.(*whv1.ComputeQuota).Spec.TenantRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.ComputeQuota{}, PeakSeasonIndex, SeasonsOf); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.TestEnvironment{}, TenantRefIndex, func(o client.Object) []string {
		return []string{o.(*whv1.TestEnvironment).Spec.TenantRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.TestEnvironment{}, PeakSeasonIndex, SeasonsOf); err != nil {
		return err
	}
	return setupProjectIndexes(ctx, mgr)
}

// SeasonsOf names the PeakSeasons a ComputeQuota's or TestEnvironment's peaks use.
func SeasonsOf(o client.Object) []string {
	var names []string
	switch o := o.(type) {
	case *whv1.ComputeQuota:
		for _, p := range o.Spec.Peaks {
			names = append(names, p.Season)
		}
	case *whv1.TestEnvironment:
		for _, p := range o.Spec.Peaks {
			names = append(names, p.Season)
		}
	}
	return names
}

// Dependents enqueues the ComputeQuotas or TestEnvironments (whichever newList lists,
// into a fresh list each call) that depend on a Tenant or a PeakSeason.
type Dependents struct {
	Reader  client.Reader
	NewList func() client.ObjectList
}

// OfTenant enqueues those that name the Tenant t.
func (d Dependents) OfTenant(ctx context.Context, t client.Object) []reconcile.Request {
	return ListRequests(ctx, d.Reader, d.NewList(), client.InNamespace(t.GetNamespace()), client.MatchingFields{TenantRefIndex: t.GetName()})
}

// OfQuotaTenant enqueues those that name the Tenant the ComputeQuota o names.
func (d Dependents) OfQuotaTenant(ctx context.Context, o client.Object) []reconcile.Request {
	cq := o.(*whv1.ComputeQuota)
	return ListRequests(ctx, d.Reader, d.NewList(), client.InNamespace(cq.Namespace), client.MatchingFields{TenantRefIndex: cq.Spec.TenantRef.Name})
}

// UsingSeason enqueues those whose peaks name the PeakSeason ps.
func (d Dependents) UsingSeason(ctx context.Context, ps client.Object) []reconcile.Request {
	return ListRequests(ctx, d.Reader, d.NewList(), client.MatchingFields{PeakSeasonIndex: ps.GetName()})
}

// ListRequests lists objects and turns them into reconcile requests.
func ListRequests(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
	if err := c.List(ctx, list, opts...); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing dependent objects")
		return nil
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(items))
	for _, item := range items {
		o := item.(client.Object)
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: o.GetName()}})
	}
	return reqs
}
