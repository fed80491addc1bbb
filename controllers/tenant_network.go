package controllers

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// reconcileNetwork makes the project's network bundle match spec.network, recreating
// anything deleted by hand, and records its IDs.
func (r *TenantReconciler) reconcileNetwork(ctx context.Context, cloud TenantCloud, t *whv1.Tenant) error {
	n := t.Spec.Network
	if n == nil {
		return nil
	}
	bundle, created, err := cloud.EnsureNetworkBundle(ctx, openstack.NetworkBundleSpec{
		ProjectID:       t.Status.ProjectID,
		Name:            t.ProjectName(),
		CIDR:            n.CIDR,
		DNSNameservers:  n.DNSNameservers,
		ExternalNetwork: ptr.Deref(n.ExternalNetwork, ""),
	}, knownBundle(t))
	// Record what exists even on error, so nothing created is forgotten.
	t.Status.Network = &whv1.TenantNetworkStatus{NetworkID: bundle.NetworkID, SubnetID: bundle.SubnetID, RouterID: bundle.RouterID}
	if len(created) > 0 {
		notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "NetworkCreated", "CreateNetwork",
			"Created %s in project %s", strings.Join(created, ", "), t.Status.ProjectID)
	}
	return err
}

func knownBundle(t *whv1.Tenant) openstack.NetworkBundle {
	if t.Status.Network == nil {
		return openstack.NetworkBundle{}
	}
	return openstack.NetworkBundle{NetworkID: t.Status.Network.NetworkID, SubnetID: t.Status.Network.SubnetID, RouterID: t.Status.Network.RouterID}
}

// ownDevices are the devices whose ports the operator made: its router.
func ownDevices(t *whv1.Tenant) map[string]bool {
	if t.Status.Network == nil || t.Status.Network.RouterID == "" {
		return nil
	}
	return map[string]bool{t.Status.Network.RouterID: true}
}
