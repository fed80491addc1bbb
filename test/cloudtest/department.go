package cloudtest

import (
	"context"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
)

// Department is a department's own session: the application credential the operator
// wrote into its namespace, used as its tools would use it. It can do what the
// department may do in its project, and nothing more.
type Department struct {
	Network *gophercloud.ServiceClient
	Compute *gophercloud.ServiceClient
}

// AsApplicationCredential logs in at authURL with an application credential, with the
// admin's TLS settings and endpoints.
func (a *Admin) AsApplicationCredential(ctx context.Context, authURL, id, secret string) (*Department, error) {
	provider, err := config.NewProviderClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint:            authURL,
		ApplicationCredentialID:     id,
		ApplicationCredentialSecret: secret,
		AllowReauth:                 true,
	}, config.WithTLSConfig(a.tls))
	if err != nil {
		return nil, err
	}
	d := &Department{}
	if d.Network, err = openstack.NewNetworkV2(provider, a.endpoints); err != nil {
		return nil, err
	}
	d.Compute, err = openstack.NewComputeV2(provider, a.endpoints)
	return d, err
}

// CreateNetwork makes a network, without a subnet, in the department's own project and
// returns its ID.
func (d *Department) CreateNetwork(ctx context.Context, name string) (string, error) {
	n, err := networks.Create(ctx, d.Network, networks.CreateOpts{Name: name, Description: "made by the department"}).Extract()
	if err != nil {
		return "", err
	}
	return n.ID, nil
}

// DeleteNetwork deletes a network of the department's; one already gone is fine.
func (d *Department) DeleteNetwork(ctx context.Context, id string) error {
	return ignore404(networks.Delete(ctx, d.Network, id).ExtractErr())
}

// StopServer stops a server of the department's (SHUTOFF), as its own tools would.
func (d *Department) StopServer(ctx context.Context, id string) error {
	return servers.Stop(ctx, d.Compute, id).ExtractErr()
}

// ExternalNetworks returns the IDs of the external (router:external) networks named
// name, as the admin sees them.
func (a *Admin) ExternalNetworks(ctx context.Context, name string) ([]string, error) {
	yes := true
	opts := external.ListOptsExt{ListOptsBuilder: networks.ListOpts{Name: name}, External: &yes}
	pages, err := networks.List(a.Network, opts).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := networks.ExtractNetworks(pages)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(list))
	for _, n := range list {
		ids = append(ids, n.ID)
	}
	return ids, nil
}
