package tenant

import (
	"context"
	"net/netip"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// neutronView is what Neutron holds of the address space, for a block to be drawn from a
// DepartmentPolicy's pool: the Tenants of this cluster are not the only memory. A block
// a network in Neutron still uses is not given again (a cluster rebuilt knows no Tenant
// at first), and a Tenant that takes its project back gets the range its network has.
// It is read before the address space is locked, and only when a block is to be drawn:
// no OpenStack call is made under the lock every networked Tenant shares.
type neutronView struct {
	// used are the ranges of every subnet but the Tenant's own.
	used []netip.Prefix
	// own is the range of the network made for this Tenant, or for its former self in
	// the project it takes back; invalid when there is none.
	own netip.Prefix
}

// needsBlock reports whether the Tenant's range is still to be drawn from a pool.
func needsBlock(t *whv1.Tenant) bool {
	return t.Spec.Network != nil && t.Spec.Network.CIDR == "" && (t.Status.Network == nil || t.Status.Network.CIDR == "")
}

// readNeutron reads every subnet of the cloud (one listing) and picks the Tenant's own:
// in its project (the one status records, or the one bearing its project name or import
// that records its namespace and name), marked for it or for the owner it takes the
// project back from.
func (r *Reconciler) readNeutron(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant) (neutronView, error) {
	ranges, err := cloud.SubnetRanges(ctx)
	if err != nil {
		return neutronView{}, err
	}
	projectID, marks, err := r.ownMarks(ctx, cloud, acc, t)
	if err != nil {
		return neutronView{}, err
	}
	var view neutronView
	for _, s := range ranges {
		prefix, err := netip.ParsePrefix(s.CIDR)
		if err != nil {
			continue
		}
		if !view.own.IsValid() && projectID != "" && s.ProjectID == projectID && marks[s.Description] {
			view.own = prefix.Masked()
			continue
		}
		view.used = append(view.used, prefix)
	}
	return view, nil
}

// ownMarks returns the project the Tenant's own network would be in, and the marks its
// pieces may carry there.
func (r *Reconciler) ownMarks(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant) (string, map[string]bool, error) {
	marks := map[string]bool{openstack.OwnerMark(string(t.UID)): true}
	if t.Status.ProjectID != "" {
		return t.Status.ProjectID, marks, nil
	}
	domainID, err := cloud.DomainID(ctx, t.Spec.Project.Domain)
	if err != nil {
		return "", nil, err
	}
	var p *openstack.Project
	if imp := t.Spec.Import; imp != nil {
		p, err = findImported(ctx, cloud, imp, domainID)
	} else {
		p, err = cloud.FindProject(ctx, domainID, t.ProjectName())
	}
	switch {
	case openstack.IsNotFound(err):
		return "", marks, nil
	case err != nil:
		return "", nil, err
	case p.OwnerNamespace != t.Namespace || p.OwnerName != t.Name || acc.IsProtected(p):
		return "", marks, nil // not this Tenant's, nor its former self's
	}
	for _, uid := range []string{p.Owner, p.PreviousOwner} {
		if uid != "" {
			marks[openstack.OwnerMark(uid)] = true
		}
	}
	return p.ID, marks, nil
}

// ownBlock returns the Tenant's own range when it lies in the pool and no other Tenant
// holds any of it.
func (v neutronView) ownBlock(pool netip.Prefix, taken []netip.Prefix) (netip.Prefix, bool) {
	if !v.own.IsValid() || !pool.Masked().Contains(v.own.Addr()) || v.own.Bits() < pool.Bits() {
		return netip.Prefix{}, false
	}
	for _, u := range taken {
		if policy.Overlaps(v.own, u) {
			return netip.Prefix{}, false
		}
	}
	return v.own, true
}
