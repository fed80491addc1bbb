package openstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/backups"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/snapshots"
	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/objectstorage/v1/containers"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// inventoryComputeMicroversion lists servers in a cell that is down (2.69): without it
// Nova leaves them out, and a project would look empty while it still holds servers.
const inventoryComputeMicroversion = "2.69"

// Contents is what a project still holds that is a department's data, each item as
// "name (id)".
type Contents struct {
	Servers     []string
	Volumes     []string
	Snapshots   []string
	Backups     []string
	Images      []string
	FloatingIPs []string
	Containers  []string
	Networks    []string
	Routers     []string
	// SecurityGroups other than default, which Neutron makes by itself.
	SecurityGroups []string
	// Ports other than those networks and routers bring with them.
	Ports []string
}

// ContentKind is one kind of leftover and its items.
type ContentKind struct {
	Kind  string
	Items []string
}

// Kinds lists the contents by kind, in a fixed order, the kinds holding nothing left out.
func (c Contents) Kinds() []ContentKind {
	var out []ContentKind
	for _, k := range []ContentKind{
		{"server", c.Servers}, {"volume", c.Volumes}, {"volume snapshot", c.Snapshots},
		{"volume backup", c.Backups}, {"image", c.Images}, {"floating IP", c.FloatingIPs},
		{"object container", c.Containers}, {"network", c.Networks}, {"router", c.Routers},
		{"security group", c.SecurityGroups}, {"port", c.Ports},
	} {
		if len(k.Items) > 0 {
			out = append(out, k)
		}
	}
	return out
}

// IsEmpty reports whether the project holds none of them.
func (c Contents) IsEmpty() bool { return len(c.Kinds()) == 0 }

// ProjectContents reads what a project holds before it is deleted.
type ProjectContents interface {
	// ProjectContents lists the department's data in the project: everything but the
	// network pieces own says are the operator's and the ports networks and routers
	// bring with them. One list call per kind; a service the catalog lacks holds nothing.
	ProjectContents(ctx context.Context, projectID string, own Ownership) (Contents, error)
	// DeleteSecurityGroups deletes the project's security groups, including the default
	// one Neutron makes by itself, which would otherwise outlive the project. Call it
	// only once the project holds no ports.
	DeleteSecurityGroups(ctx context.Context, projectID string) error
}

var _ ProjectContents = (*Cloud)(nil)

// bundlePortOwners are the device owners of the ports Neutron makes for networks and
// routers: DHCP, metadata (OVN's distributed port), router interfaces, gateways, HA and
// SNAT ports, and the port behind a floating IP. They come and go with their network,
// router or floating IP, which are counted themselves.
var bundlePortOwners = map[string]bool{
	"network:dhcp":                           true,
	"network:distributed":                    true,
	"network:router_interface":               true,
	"network:router_interface_distributed":   true,
	"network:ha_router_replicated_interface": true,
	"network:router_gateway":                 true,
	"network:router_ha_interface":            true,
	"network:router_centralized_snat":        true,
	"network:floatingip":                     true,
}

// isDepartmentPort reports whether a port with this device owner is a department's
// (a server's, a load balancer's, one made by hand) rather than part of a network or
// router.
func isDepartmentPort(deviceOwner string) bool { return !bundlePortOwners[deviceOwner] }

// listing is one kind of the inventory: how to list it, and what of it is data.
type listing struct {
	service string
	what    string
	into    *[]string
	list    func(sc *gophercloud.ServiceClient) ([]labelled, error)
}

// labelled is one item found: its label, and whether it is a department's.
type labelled struct {
	label string
	data  bool
}

// ProjectContents implements ProjectContents.
func (c *Cloud) ProjectContents(ctx context.Context, projectID string, own Ownership) (_ Contents, err error) {
	defer c.convert(&err)
	var out Contents
	for _, l := range contentListings(ctx, projectID, own, &out) {
		sc, ok, err := c.catalogService(l.service)
		if err != nil {
			return out, err
		}
		if !ok {
			continue // a cloud without the service holds none of it
		}
		items, err := l.list(sc)
		if err != nil {
			return out, fmt.Errorf("listing %s: %w", l.what, err)
		}
		for _, it := range items {
			if it.data {
				*l.into = append(*l.into, it.label)
			}
		}
	}
	return out, nil
}

// contentListings lists, kind by kind, what a project holds into out's fields.
func contentListings(ctx context.Context, projectID string, own Ownership, out *Contents) []listing {
	return []listing{
		{"compute", "servers", &out.Servers, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			v := *sc
			v.Microversion = inventoryComputeMicroversion
			return extract(servers.List(&v, servers.ListOpts{AllTenants: true, TenantID: projectID}), ctx, servers.ExtractServers,
				func(s servers.Server) labelled { return labelled{label(s.Name, s.ID), true} })
		}},
		{"block-storage", "volumes", &out.Volumes, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(volumes.List(sc, volumes.ListOpts{AllTenants: true, TenantID: projectID}), ctx, volumes.ExtractVolumes,
				func(v volumes.Volume) labelled { return labelled{label(v.Name, v.ID), true} })
		}},
		{"block-storage", "volume snapshots", &out.Snapshots, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(snapshots.List(sc, snapshots.ListOpts{AllTenants: true, TenantID: projectID}), ctx, snapshots.ExtractSnapshots,
				func(s snapshots.Snapshot) labelled { return labelled{label(s.Name, s.ID), true} })
		}},
		{"block-storage", "volume backups", &out.Backups, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(backups.List(sc, backups.ListOpts{AllTenants: true, TenantID: projectID}), ctx, backups.ExtractBackups,
				func(b backups.Backup) labelled { return labelled{label(b.Name, b.ID), true} })
		}},
		{"image", "images", &out.Images, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			// Images the project owns, whatever their visibility; public ones are
			// published for everyone and are not the project's to keep.
			return extract(images.List(sc, images.ListOpts{Owner: projectID, Visibility: "all"}), ctx, images.ExtractImages,
				func(i images.Image) labelled {
					return labelled{label(i.Name, i.ID), i.Visibility != images.ImageVisibilityPublic}
				})
		}},
		{"network", "floating IPs", &out.FloatingIPs, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(floatingips.List(sc, floatingips.ListOpts{ProjectID: projectID}), ctx, floatingips.ExtractFloatingIPs,
				func(f floatingips.FloatingIP) labelled { return labelled{label(f.FloatingIP, f.ID), true} })
		}},
		{"object-store", "object containers", &out.Containers, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			account, err := projectAccount(sc, projectID)
			if err != nil {
				return nil, err
			}
			return extract(containers.List(account, nil), ctx, containers.ExtractInfo,
				func(ct containers.Container) labelled { return labelled{ct.Name, true} })
		}},
		{"network", "networks", &out.Networks, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(networks.List(sc, networks.ListOpts{ProjectID: projectID}), ctx, networks.ExtractNetworks,
				func(n networks.Network) labelled {
					return labelled{label(n.Name, n.ID), !own.Owns("network", n.ID, n.Description)}
				})
		}},
		{"network", "routers", &out.Routers, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(routers.List(sc, routers.ListOpts{ProjectID: projectID}), ctx, routers.ExtractRouters,
				func(r routers.Router) labelled {
					return labelled{label(r.Name, r.ID), !own.Owns("router", r.ID, r.Description)}
				})
		}},
		{"network", "security groups", &out.SecurityGroups, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(groups.List(sc, groups.ListOpts{ProjectID: projectID}), ctx, groups.ExtractGroups,
				func(g groups.SecGroup) labelled { return labelled{label(g.Name, g.ID), g.Name != "default"} })
		}},
		{"network", "ports", &out.Ports, func(sc *gophercloud.ServiceClient) ([]labelled, error) {
			return extract(ports.List(sc, ports.ListOpts{ProjectID: projectID}), ctx, ports.ExtractPorts,
				func(p ports.Port) labelled { return labelled{label(p.Name, p.ID), isDepartmentPort(p.DeviceOwner)} })
		}},
	}
}

// extract lists every page and labels each item.
func extract[T any](pager pagination.Pager, ctx context.Context, from func(pagination.Page) ([]T, error), as func(T) labelled) ([]labelled, error) {
	pages, err := pager.AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := from(pages)
	if err != nil {
		return nil, err
	}
	out := make([]labelled, 0, len(list))
	for _, item := range list {
		out = append(out, as(item))
	}
	return out, nil
}

// catalogService is the client of a service, or false when the catalog has none.
func (c *Cloud) catalogService(kind string) (*gophercloud.ServiceClient, bool, error) {
	sc, err := c.service(kind)
	var missing *gophercloud.ErrEndpointNotFound
	if errors.As(err, &missing) {
		return nil, false, nil
	}
	return sc, err == nil, err
}

// swiftAccount is the account part of an object-store endpoint: /v1/AUTH_<project>.
var swiftAccount = regexp.MustCompile(`(/v1/[A-Za-z]*_)[^/]+`)

// projectAccount is a client of the project's Swift account: the catalog's endpoint is
// the admin's own account. Reading another account takes Swift's reseller-admin role;
// without it Swift refuses and the check fails rather than miss a department's objects.
func projectAccount(sc *gophercloud.ServiceClient, projectID string) (*gophercloud.ServiceClient, error) {
	if !swiftAccount.MatchString(sc.Endpoint) {
		return nil, fmt.Errorf("no account in the object-store endpoint %s", sc.Endpoint)
	}
	account := *sc
	account.Endpoint = swiftAccount.ReplaceAllString(sc.Endpoint, "${1}"+projectID)
	account.ResourceBase = ""
	return &account, nil
}

// DeleteSecurityGroups implements ProjectContents.
func (c *Cloud) DeleteSecurityGroups(ctx context.Context, projectID string) (err error) {
	defer c.convert(&err)
	network, err := c.service("network")
	if err != nil {
		return err
	}
	pages, err := groups.List(network, groups.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing security groups: %w", err)
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return err
	}
	for _, g := range list {
		if foreign(ctx, "security group", g.ID, cmp.Or(g.ProjectID, g.TenantID), projectID) {
			continue
		}
		if err := groups.Delete(ctx, network, g.ID).ExtractErr(); err != nil && !IsNotFound(err) {
			return fmt.Errorf("deleting security group %s: %w", g.ID, err)
		}
	}
	return nil
}

func label(name, id string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%s (%s)", name, id)
}
