package tenant

import (
	"context"
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// reconcileNetwork makes the project's network bundle match spec.network with the range
// cidr (tenantCIDR), recreating anything deleted by hand, and records its IDs. A piece
// named like the bundle that is neither the Tenant's nor an exact match stops it
// (NetworkConflict): nothing is changed.
// former is the owner the project was taken back from, whose pieces become the Tenant's.
func (r *Reconciler) reconcileNetwork(ctx context.Context, cloud Cloud, t *whv1.Tenant, cidr, former string) error {
	n := t.Spec.Network
	if n == nil {
		return nil
	}
	bundle, created, err := cloud.EnsureNetworkBundle(ctx, openstack.NetworkBundleSpec{
		ProjectID:       t.Status.ProjectID,
		Name:            t.ProjectName(),
		CIDR:            cidr,
		DNSNameservers:  n.DNSNameservers,
		ExternalNetwork: ptr.Deref(n.ExternalNetwork, ""),
		Owner:           string(t.UID),
		FormerOwner:     former,
	}, knownBundle(t))
	// Record what exists even on error, so nothing created is forgotten; what was not
	// confirmed in the project (stale, or in conflict) is not recorded.
	t.Status.Network = &whv1.TenantNetworkStatus{CIDR: cidr, NetworkID: bundle.NetworkID, SubnetID: bundle.SubnetID, RouterID: bundle.RouterID, Adopted: bundle.Adopted}
	if len(created) > 0 {
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "NetworkCreated", "CreateNetwork",
			"Created %s in project %s", strings.Join(created, ", "), t.Status.ProjectID)
	}
	var conflict *openstack.NetworkConflictError
	if errors.As(err, &conflict) {
		return frame.NewSpecError(whv1.ReasonNetworkConflict, conflict.Error()+"; rename or remove it, or change spec.network")
	}
	return err
}

func knownBundle(t *whv1.Tenant) openstack.NetworkBundle {
	if t.Status.Network == nil {
		return openstack.NetworkBundle{}
	}
	s := t.Status.Network
	return openstack.NetworkBundle{NetworkID: s.NetworkID, SubnetID: s.SubnetID, RouterID: s.RouterID, Adopted: s.Adopted}
}

// networkOwnership is what of the project's network the Tenant made: the pieces marked
// with its UID, and those its status records that were not adopted.
func networkOwnership(t *whv1.Tenant) openstack.Ownership {
	return openstack.Ownership{Owner: string(t.UID), Known: knownBundle(t)}
}
