package cloudtest

import (
	"context"
	"errors"
	"sync"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	volumequotas "github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/quotasets"
	computequotas "github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	networkquotas "github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// Quota is what a test checks of a project's quota in the three services.
type Quota struct {
	Cores, Instances, RAM, KeyPairs int
	Ports, Networks                 int
	Gigabytes, Volumes              int
}

// GetQuota reads a project's quota from Nova, Neutron and Cinder.
func (a *Admin) GetQuota(ctx context.Context, projectID string) (Quota, error) {
	var (
		q                Quota
		c                *computequotas.QuotaSet
		n                *networkquotas.Quota
		v                *volumequotas.QuotaSet
		cErr, nErr, vErr error
		wg               sync.WaitGroup
	)
	// Read at the same time, so a test polling for a change sees it as soon as it lands.
	wg.Go(func() { c, cErr = computequotas.Get(ctx, a.Compute, projectID).Extract() })
	wg.Go(func() { n, nErr = networkquotas.Get(ctx, a.Network, projectID).Extract() })
	wg.Go(func() { v, vErr = volumequotas.Get(ctx, a.Volume, projectID).Extract() })
	wg.Wait()
	if err := errors.Join(cErr, nErr, vErr); err != nil {
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

// ServerInfo is what a test checks of a server.
type ServerInfo struct {
	ID, Name, Status string
	Metadata         map[string]string
	// UserID is the Keystone user that created it.
	UserID string
}

// ProjectServers lists the servers of a project, as an admin sees them.
func (a *Admin) ProjectServers(ctx context.Context, projectID string) ([]ServerInfo, error) {
	pages, err := servers.List(a.Compute, servers.ListOpts{AllTenants: true, TenantID: projectID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	out := make([]ServerInfo, 0, len(list))
	for _, s := range list {
		out = append(out, ServerInfo{ID: s.ID, Name: s.Name, Status: s.Status, Metadata: s.Metadata, UserID: s.UserID})
	}
	return out, nil
}

// NetworkExists reports whether a Neutron network exists.
func (a *Admin) NetworkExists(ctx context.Context, id string) (bool, error) {
	err := networks.Get(ctx, a.Network, id).Err
	if gophercloud.ResponseCodeIs(err, 404) {
		return false, nil
	}
	return err == nil, err
}
