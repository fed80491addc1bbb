package openstack

import (
	"context"
	"fmt"
	"net"
	"slices"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// NetworkBundleSpec is a project's ready network: a network, a subnet, and optionally a
// router with its gateway on an external network and an interface on the subnet. Every
// resource is named Name, which is unique in the project the operator owns.
type NetworkBundleSpec struct {
	ProjectID       string
	Name            string
	CIDR            string
	DNSNameservers  []string
	ExternalNetwork string // name or ID; empty: no router
}

// NetworkBundle holds the IDs of a bundle's resources.
type NetworkBundle struct {
	NetworkID, SubnetID, RouterID string
}

// Networks manages network bundles. Ensure is idempotent: it reuses the resources whose
// IDs it is given, or finds them by name in the project (after a crash lost the IDs),
// and creates only what is missing.
type Networks interface {
	// EnsureNetworkBundle returns the bundle's IDs and the kinds of resource it created.
	EnsureNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (NetworkBundle, []string, error)
	// DeleteNetworkBundle removes the router interface, the router and the network with
	// its subnet. Resources already gone are not an error.
	DeleteNetworkBundle(ctx context.Context, b NetworkBundle) error
}

var _ Networks = (*Cloud)(nil)

// EnsureNetworkBundle implements Networks.
func (c *Cloud) EnsureNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (NetworkBundle, []string, error) {
	sc, err := c.service("network")
	if err != nil {
		return known, nil, err
	}
	var created []string
	out := known

	if out.NetworkID, err = ensure("network", out.NetworkID, &created,
		func(id string) error { return networks.Get(ctx, sc, id).Err },
		func() (string, error) { return findNetwork(ctx, sc, spec.ProjectID, spec.Name) },
		func() (string, error) {
			n, err := networks.Create(ctx, sc, networks.CreateOpts{Name: spec.Name, ProjectID: spec.ProjectID}).Extract()
			if err != nil {
				return "", err
			}
			return n.ID, nil
		}); err != nil {
		return out, created, err
	}

	if out.SubnetID, err = ensure("subnet", out.SubnetID, &created,
		func(id string) error { return repairSubnet(ctx, sc, id, out.NetworkID, spec.DNSNameservers) },
		func() (string, error) { return findSubnet(ctx, sc, out.NetworkID, spec.Name) },
		func() (string, error) {
			version := gophercloud.IPv4
			if ip, _, _ := net.ParseCIDR(spec.CIDR); ip != nil && ip.To4() == nil {
				version = gophercloud.IPv6
			}
			s, err := subnets.Create(ctx, sc, subnets.CreateOpts{
				NetworkID: out.NetworkID, Name: spec.Name, ProjectID: spec.ProjectID, CIDR: spec.CIDR,
				IPVersion: version, DNSNameservers: spec.DNSNameservers,
			}).Extract()
			if err != nil {
				return "", err
			}
			return s.ID, nil
		}); err != nil {
		return out, created, err
	}

	if spec.ExternalNetwork == "" {
		if out.RouterID != "" {
			// The spec no longer asks for a router.
			if err := deleteRouter(ctx, sc, out.RouterID, out.SubnetID); err != nil {
				return out, created, err
			}
			out.RouterID = ""
		}
		return out, created, nil
	}
	external, err := c.NetworkID(ctx, spec.ExternalNetwork)
	if err != nil {
		return out, created, err
	}
	if out.RouterID, err = ensure("router", out.RouterID, &created,
		func(id string) error { return repairGateway(ctx, sc, id, external) },
		func() (string, error) { return findRouter(ctx, sc, spec.ProjectID, spec.Name) },
		func() (string, error) {
			r, err := routers.Create(ctx, sc, routers.CreateOpts{
				Name: spec.Name, ProjectID: spec.ProjectID, GatewayInfo: &routers.GatewayInfo{NetworkID: external},
			}).Extract()
			if err != nil {
				return "", err
			}
			return r.ID, nil
		}); err != nil {
		return out, created, err
	}
	attached, err := routerAttached(ctx, sc, out.RouterID, out.SubnetID)
	if err != nil || attached {
		return out, created, err
	}
	if _, err := routers.AddInterface(ctx, sc, out.RouterID, routers.AddInterfaceOpts{SubnetID: out.SubnetID}).Extract(); err != nil {
		return out, created, fmt.Errorf("attaching router %s to subnet %s: %w", out.RouterID, out.SubnetID, err)
	}
	created = append(created, "router interface")
	return out, created, nil
}

// ensure returns the ID of a resource: the known one if it still exists (check also
// repairs it), else one found by name, else a new one.
func ensure(kind, known string, created *[]string, check func(string) error, find, create func() (string, error)) (string, error) {
	if known != "" {
		err := check(known)
		if err == nil {
			return known, nil
		}
		if !IsNotFound(err) {
			return "", err
		}
	}
	id, err := find()
	if err != nil || id != "" {
		return id, err
	}
	id, err = create()
	if err != nil {
		return "", fmt.Errorf("creating %s: %w", kind, err)
	}
	*created = append(*created, kind)
	return id, nil
}

func findNetwork(ctx context.Context, sc *gophercloud.ServiceClient, projectID, name string) (string, error) {
	pages, err := networks.List(sc, networks.ListOpts{ProjectID: projectID, Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := networks.ExtractNetworks(pages)
	if err != nil || len(list) == 0 {
		return "", err
	}
	return list[0].ID, nil
}

func findSubnet(ctx context.Context, sc *gophercloud.ServiceClient, networkID, name string) (string, error) {
	pages, err := subnets.List(sc, subnets.ListOpts{NetworkID: networkID, Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := subnets.ExtractSubnets(pages)
	if err != nil || len(list) == 0 {
		return "", err
	}
	return list[0].ID, nil
}

func findRouter(ctx context.Context, sc *gophercloud.ServiceClient, projectID, name string) (string, error) {
	pages, err := routers.List(sc, routers.ListOpts{ProjectID: projectID, Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := routers.ExtractRouters(pages)
	if err != nil || len(list) == 0 {
		return "", err
	}
	return list[0].ID, nil
}

// repairSubnet checks the subnet exists on the network and restores its DNS servers.
func repairSubnet(ctx context.Context, sc *gophercloud.ServiceClient, id, networkID string, dns []string) error {
	s, err := subnets.Get(ctx, sc, id).Extract()
	if err != nil {
		return err
	}
	if s.NetworkID != networkID {
		return fmt.Errorf("%w: subnet %s is not on network %s", ErrNotFound, id, networkID)
	}
	if slices.Equal(s.DNSNameservers, dns) || (len(s.DNSNameservers) == 0 && len(dns) == 0) {
		return nil
	}
	want := slices.Clone(dns)
	if want == nil {
		want = []string{}
	}
	return subnets.Update(ctx, sc, id, subnets.UpdateOpts{DNSNameservers: &want}).Err
}

// repairGateway checks the router exists and puts its gateway back on external.
func repairGateway(ctx context.Context, sc *gophercloud.ServiceClient, id, external string) error {
	r, err := routers.Get(ctx, sc, id).Extract()
	if err != nil {
		return err
	}
	if r.GatewayInfo.NetworkID == external {
		return nil
	}
	return routers.Update(ctx, sc, id, routers.UpdateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: external}}).Err
}

func routerAttached(ctx context.Context, sc *gophercloud.ServiceClient, routerID, subnetID string) (bool, error) {
	pages, err := ports.List(sc, ports.ListOpts{DeviceID: routerID, DeviceOwner: "network:router_interface"}).AllPages(ctx)
	if err != nil {
		return false, err
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return false, err
	}
	for _, p := range list {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == subnetID {
				return true, nil
			}
		}
	}
	return false, nil
}

// DeleteNetworkBundle implements Networks.
func (c *Cloud) DeleteNetworkBundle(ctx context.Context, b NetworkBundle) error {
	sc, err := c.service("network")
	if err != nil {
		return err
	}
	if b.RouterID != "" {
		if err := deleteRouter(ctx, sc, b.RouterID, b.SubnetID); err != nil {
			return err
		}
	}
	if b.NetworkID != "" {
		// Deleting the network deletes its subnet.
		if err := networks.Delete(ctx, sc, b.NetworkID).ExtractErr(); err != nil && !IsNotFound(err) {
			return fmt.Errorf("deleting network %s: %w", b.NetworkID, err)
		}
	}
	return nil
}

func deleteRouter(ctx context.Context, sc *gophercloud.ServiceClient, routerID, subnetID string) error {
	if subnetID != "" {
		_, err := routers.RemoveInterface(ctx, sc, routerID, routers.RemoveInterfaceOpts{SubnetID: subnetID}).Extract()
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("detaching router %s: %w", routerID, err)
		}
	}
	if err := routers.Delete(ctx, sc, routerID).ExtractErr(); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting router %s: %w", routerID, err)
	}
	return nil
}
