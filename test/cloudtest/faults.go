package cloudtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// ProjectsNamed returns name → ID of the projects of every domain whose names start with
// prefix.
func (a *Admin) ProjectsNamed(ctx context.Context, prefix string) (map[string]string, error) {
	pages, err := projects.List(a.Identity, projects.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := projects.ExtractProjects(pages)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, p := range list {
		if strings.HasPrefix(p.Name, prefix) {
			out[p.Name] = p.ID
		}
	}
	return out, nil
}

// ServersNamed lists the servers of every project whose names start with prefix.
func (a *Admin) ServersNamed(ctx context.Context, prefix string) ([]ServerInfo, error) {
	pages, err := servers.List(a.Compute, servers.ListOpts{AllTenants: true}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	var out []ServerInfo
	for _, s := range list {
		if strings.HasPrefix(s.Name, prefix) {
			out = append(out, ServerInfo{ID: s.ID, Name: s.Name, Status: s.Status, Metadata: s.Metadata})
		}
	}
	return out, nil
}

// NetworkResources lists what Neutron holds for a project — which may be deleted
// already — as "kind name (id)".
//
// Security groups are listed without a project filter and filtered here: Neutron
// creates a project's default security group whenever it is listed by that project, so
// a filtered list would itself leave one behind.
func (a *Admin) NetworkResources(ctx context.Context, projectID string) ([]string, error) {
	var out []string
	add := func(kind, name, id string) { out = append(out, fmt.Sprintf("%s %s (%s)", kind, name, id)) }

	pages, err := networks.List(a.Network, networks.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil {
		return nil, err
	}
	for _, n := range nets {
		add("network", n.Name, n.ID)
	}

	if pages, err = subnets.List(a.Network, subnets.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return nil, err
	}
	subs, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, err
	}
	for _, s := range subs {
		add("subnet", s.Name, s.ID)
	}

	if pages, err = routers.List(a.Network, routers.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return nil, err
	}
	rts, err := routers.ExtractRouters(pages)
	if err != nil {
		return nil, err
	}
	for _, r := range rts {
		add("router", r.Name, r.ID)
	}

	if pages, err = ports.List(a.Network, ports.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return nil, err
	}
	prts, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	for _, p := range prts {
		add("port", p.Name+" "+p.DeviceOwner, p.ID)
	}

	if pages, err = groups.List(a.Network, groups.ListOpts{}).AllPages(ctx); err != nil {
		return nil, err
	}
	sgs, err := groups.ExtractGroups(pages)
	if err != nil {
		return nil, err
	}
	for _, g := range sgs {
		if g.ProjectID == projectID || g.TenantID == projectID {
			add("security group", g.Name, g.ID)
		}
	}
	return out, nil
}
