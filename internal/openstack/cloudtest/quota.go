package cloudtest

import (
	"context"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	volumequotas "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	computequotas "github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	networkquotas "github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
)

// Quota is what a test checks of a project's quota in the three services.
type Quota struct {
	Cores, Instances, RAM, KeyPairs int
	Ports, Networks                 int
	Gigabytes, Volumes              int
}

// GetQuota reads a project's quota from Nova, Neutron and Cinder.
func (a *Admin) GetQuota(ctx context.Context, projectID string) (Quota, error) {
	var q Quota
	c, err := computequotas.Get(ctx, a.Compute, projectID).Extract()
	if err != nil {
		return q, err
	}
	n, err := networkquotas.Get(ctx, a.Network, projectID).Extract()
	if err != nil {
		return q, err
	}
	v, err := volumequotas.Get(ctx, a.Volume, projectID).Extract()
	if err != nil {
		return q, err
	}
	return Quota{
		Cores: c.Cores, Instances: c.Instances, RAM: c.RAM, KeyPairs: c.KeyPairs,
		Ports: n.Port, Networks: n.Network, Gigabytes: v.Gigabytes, Volumes: v.Volumes,
	}, nil
}

// SetComputeQuota sets Nova limits by hand.
func (a *Admin) SetComputeQuota(ctx context.Context, projectID string, cores, keyPairs *int) error {
	return computequotas.Update(ctx, a.Compute, projectID, computequotas.UpdateOpts{Cores: cores, KeyPairs: keyPairs}).Err
}

func openQuotaClients(a *Admin, provider *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) error {
	var err error
	if a.Compute, err = openstack.NewComputeV2(provider, eo); err != nil {
		return err
	}
	a.Volume, err = openstack.NewBlockStorageV3(provider, eo)
	return err
}
