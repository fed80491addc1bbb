package cloudtest

import (
	"context"
	"errors"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Remover undoes what a helper made by hand; what is already gone is fine.
type Remover func(context.Context) error

// CreateNetwork puts a network with one subnet into a project, as a department would,
// and returns the network's ID.
func (a *Admin) CreateNetwork(ctx context.Context, projectID, name, cidr string) (string, Remover, error) {
	n, err := networks.Create(ctx, a.Network, networks.CreateOpts{Name: name, ProjectID: projectID, Description: "made by hand"}).Extract()
	if err != nil {
		return "", nil, err
	}
	remove := func(ctx context.Context) error { return ignore404(networks.Delete(ctx, a.Network, n.ID).ExtractErr()) }
	if _, err := subnets.Create(ctx, a.Network, subnets.CreateOpts{
		NetworkID: n.ID, Name: name, ProjectID: projectID, CIDR: cidr, IPVersion: gophercloud.IPv4,
	}).Extract(); err != nil {
		return "", nil, errors.Join(err, remove(ctx))
	}
	return n.ID, remove, nil
}

// CreateSecurityGroup puts a security group into a project, as a department would.
func (a *Admin) CreateSecurityGroup(ctx context.Context, projectID, name string) (Remover, error) {
	g, err := groups.Create(ctx, a.Network, groups.CreateOpts{Name: name, ProjectID: projectID}).Extract()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error { return ignore404(groups.Delete(ctx, a.Network, g.ID).ExtractErr()) }, nil
}

// CreateFloatingIP allocates a floating IP on the external network (by name) to a
// project, as a department would.
func (a *Admin) CreateFloatingIP(ctx context.Context, projectID, external string) (Remover, error) {
	pages, err := networks.List(a.Network, networks.ListOpts{Name: external}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := networks.ExtractNetworks(pages)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, errors.New("no external network " + external)
	}
	f, err := floatingips.Create(ctx, a.Network, floatingips.CreateOpts{FloatingNetworkID: list[0].ID, ProjectID: projectID}).Extract()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		return ignore404(floatingips.Delete(ctx, a.Network, f.ID).ExtractErr())
	}, nil
}

// NetworkInfo is what a test checks of a network.
type NetworkInfo struct {
	Name, Description string
	// CIDRs of its subnets.
	CIDRs []string
}

// GetNetwork returns a network with its subnets' CIDRs, or nil when it does not exist.
func (a *Admin) GetNetwork(ctx context.Context, id string) (*NetworkInfo, error) {
	n, err := networks.Get(ctx, a.Network, id).Extract()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pages, err := subnets.List(a.Network, subnets.ListOpts{NetworkID: id}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, err
	}
	out := &NetworkInfo{Name: n.Name, Description: n.Description}
	for _, s := range list {
		out.CIDRs = append(out.CIDRs, s.CIDR)
	}
	return out, nil
}

// RouterInfo is what a test checks of a router.
type RouterInfo struct {
	Description string
	// GatewayNetworkID is the external network of its gateway, "" for none.
	GatewayNetworkID string
	// InterfaceSubnets are the subnets it has an interface on.
	InterfaceSubnets []string
}

// GetRouter returns a router, or nil when it does not exist.
func (a *Admin) GetRouter(ctx context.Context, id string) (*RouterInfo, error) {
	r, err := routers.Get(ctx, a.Network, id).Extract()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pages, err := ports.List(a.Network, ports.ListOpts{DeviceID: id}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	out := &RouterInfo{Description: r.Description, GatewayNetworkID: r.GatewayInfo.NetworkID}
	for _, p := range list {
		if p.DeviceOwner == "network:router_gateway" {
			continue
		}
		for _, ip := range p.FixedIPs {
			out.InterfaceSubnets = append(out.InterfaceSubnets, ip.SubnetID)
		}
	}
	return out, nil
}

func ignore404(err error) error {
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil
	}
	return err
}

// CreateVolume makes a 1 GiB volume in a project as one of its members would: the admin
// takes the member role there for the call and gives it back. On the dev cloud, which
// has no storage backend, the volume ends in error, yet exists: a department's data all
// the same. Its Remover fails while the volume is still being created; retry it.
func (a *Admin) CreateVolume(ctx context.Context, projectID, name string) (Remover, error) {
	userID, err := a.CurrentUserID(ctx)
	if err != nil {
		return nil, err
	}
	pages, err := roles.List(a.Identity, roles.ListOpts{Name: "member"}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := roles.ExtractRoles(pages)
	if err != nil || len(list) == 0 {
		return nil, errors.Join(errors.New("no role member"), err)
	}
	member := list[0].ID
	if err := roles.Assign(ctx, a.Identity, member, roles.AssignOpts{UserID: userID, ProjectID: projectID}).ExtractErr(); err != nil {
		return nil, err
	}
	defer func() {
		_ = roles.Unassign(ctx, a.Identity, member, roles.UnassignOpts{UserID: userID, ProjectID: projectID}).ExtractErr()
	}()
	ao := a.auth
	ao.Scope, ao.TenantID, ao.TenantName, ao.AllowReauth = &gophercloud.AuthScope{ProjectID: projectID}, "", "", false
	provider, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(a.tls))
	if err != nil {
		return nil, err
	}
	inProject, err := openstack.NewBlockStorageV3(provider, a.endpoints)
	if err != nil {
		return nil, err
	}
	v, err := volumes.Create(ctx, inProject, volumes.CreateOpts{Size: 1, Name: name}, nil).Extract()
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) error {
		return ignore404(volumes.Delete(ctx, a.Volume, v.ID, volumes.DeleteOpts{Cascade: true}).ExtractErr())
	}, nil
}
