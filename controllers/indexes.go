package controllers

import (
	"context"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Field indexes that let a change to one object find the objects that depend on it.
const (
	// cloudRefIndex: Tenants and PeakSeasons by the Cloud they name.
	cloudRefIndex = "spec.cloudRef.name"
	// cloudSecretIndex: Clouds by the name of their credentials Secret.
	cloudSecretIndex = "spec.credentialsSecretRef.name"
	// tenantRefIndex: ComputeQuotas and TestEnvironments by the name of their Tenant.
	tenantRefIndex = "spec.tenantRef.name"
	// peakSeasonIndex: ComputeQuotas and TestEnvironments by the PeakSeasons their peaks name.
	peakSeasonIndex = "spec.peaks.season"
)

// SetupIndexes registers every field index the controllers use, once per manager.
func SetupIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &whv1.Tenant{}, cloudRefIndex, func(o client.Object) []string {
		if ref := o.(*whv1.Tenant).Spec.CloudRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.PeakSeason{}, cloudRefIndex, func(o client.Object) []string {
		if ref := o.(*whv1.PeakSeason).Spec.CloudRef; ref != nil {
			return []string{ref.Name}
		}
		return nil
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.Cloud{}, cloudSecretIndex, func(o client.Object) []string {
		return []string{o.(*whv1.Cloud).Spec.CredentialsSecretRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.ComputeQuota{}, tenantRefIndex, func(o client.Object) []string {
		return []string{o.(*whv1.ComputeQuota).Spec.TenantRef.Name}
	}); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.ComputeQuota{}, peakSeasonIndex, seasonsOf); err != nil {
		return err
	}
	if err := idx.IndexField(ctx, &whv1.TestEnvironment{}, tenantRefIndex, func(o client.Object) []string {
		return []string{o.(*whv1.TestEnvironment).Spec.TenantRef.Name}
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &whv1.TestEnvironment{}, peakSeasonIndex, seasonsOf)
}

// seasonsOf names the PeakSeasons a ComputeQuota's or TestEnvironment's peaks use.
func seasonsOf(o client.Object) []string {
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

// dependents enqueues the ComputeQuotas or TestEnvironments (whichever newList lists,
// into a fresh list each call) that depend on a Tenant or a PeakSeason.
type dependents struct {
	client  client.Reader
	newList func() client.ObjectList
}

// ofTenant enqueues those that name the Tenant t.
func (d dependents) ofTenant(ctx context.Context, t client.Object) []reconcile.Request {
	return listRequests(ctx, d.client, d.newList(), client.InNamespace(t.GetNamespace()), client.MatchingFields{tenantRefIndex: t.GetName()})
}

// ofQuotaTenant enqueues those that name the Tenant the ComputeQuota o names.
func (d dependents) ofQuotaTenant(ctx context.Context, o client.Object) []reconcile.Request {
	cq := o.(*whv1.ComputeQuota)
	return listRequests(ctx, d.client, d.newList(), client.InNamespace(cq.Namespace), client.MatchingFields{tenantRefIndex: cq.Spec.TenantRef.Name})
}

// usingSeason enqueues those whose peaks name the PeakSeason ps.
func (d dependents) usingSeason(ctx context.Context, ps client.Object) []reconcile.Request {
	return listRequests(ctx, d.client, d.newList(), client.MatchingFields{peakSeasonIndex: ps.GetName()})
}

// listRequests lists objects and turns them into reconcile requests.
func listRequests(ctx context.Context, c client.Reader, list client.ObjectList, opts ...client.ListOption) []reconcile.Request {
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
