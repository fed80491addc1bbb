package cloudtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// Helpers for adopting what people made before the operator: projects with their
// people, quotas and a network bundle made by hand, and a snapshot of all of it, to
// tell that nothing was written.

// CreateProjectByHand makes a project in the default domain with a description, tags
// and enabled flag, as a person would, outside the operator.
func (a *Admin) CreateProjectByHand(ctx context.Context, name, description string, tags []string, enabled bool) (string, error) {
	p, err := projects.Create(ctx, a.Identity, projects.CreateOpts{Name: name, DomainID: "default", Description: description,
		Tags: tags, Enabled: &enabled}).Extract()
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// EnsureGroup returns the ID of the group of this name in the default domain, making it
// if there is none (made tells the caller to delete it after).
func (a *Admin) EnsureGroup(ctx context.Context, name string) (id string, made bool, err error) {
	pages, err := groups.List(a.Identity, groups.ListOpts{Name: name, DomainID: "default"}).AllPages(ctx)
	if err != nil {
		return "", false, err
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return "", false, err
	}
	if len(list) > 0 {
		return list[0].ID, false, nil
	}
	g, err := groups.Create(ctx, a.Identity, groups.CreateOpts{Name: name, DomainID: "default"}).Extract()
	if err != nil {
		return "", false, err
	}
	return g.ID, true, nil
}

// DeleteGroup deletes a group; one already gone is fine.
func (a *Admin) DeleteGroup(ctx context.Context, id string) error {
	return ignore404(groups.Delete(ctx, a.Identity, id).ExtractErr())
}

// CreateUserByHand makes a user in the default domain, with no password.
func (a *Admin) CreateUserByHand(ctx context.Context, name string) (string, error) {
	u, err := users.Create(ctx, a.Identity, users.CreateOpts{Name: name, DomainID: "default"}).Extract()
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// GrantByHand gives a user or a group (by ID) a role (by name) on a project.
func (a *Admin) GrantByHand(ctx context.Context, projectID, userID, groupID, role string) error {
	pages, err := roles.List(a.Identity, roles.ListOpts{Name: role}).AllPages(ctx)
	if err != nil {
		return err
	}
	list, err := roles.ExtractRoles(pages)
	if err != nil {
		return err
	}
	if len(list) != 1 {
		return fmt.Errorf("%d roles named %q", len(list), role)
	}
	return roles.Assign(ctx, a.Identity, list[0].ID, roles.AssignOpts{UserID: userID, GroupID: groupID, ProjectID: projectID}).ExtractErr()
}

// Quotas by service, by each service's own field names (cores, ram, port, gigabytes…).
type Quotas struct {
	Compute, Network, Volume map[string]int
}

// SetQuotasByHand writes limits to Nova, Neutron and Cinder, as an admin would.
func (a *Admin) SetQuotasByHand(ctx context.Context, projectID string, q Quotas) error {
	put := func(sc *gophercloud.ServiceClient, path, envelope string, limits map[string]int) error {
		if len(limits) == 0 {
			return nil
		}
		_, err := sc.Put(ctx, sc.ServiceURL(path, projectID), map[string]any{envelope: limits}, nil,
			&gophercloud.RequestOpts{OkCodes: []int{200}})
		return err
	}
	return errors.Join(
		put(a.Compute, "os-quota-sets", "quota_set", q.Compute),
		put(a.Network, "quotas", "quota", q.Network),
		put(a.Volume, "os-quota-sets", "quota_set", q.Volume))
}

// CreateBundleByHand makes what a Tenant's bundle is, by hand: a network and a subnet
// named name with the range and DNS servers, and a router named name with its gateway on
// the external network (by name) and an interface on the subnet.
func (a *Admin) CreateBundleByHand(ctx context.Context, projectID, name, cidr string, dns []string, external string) (Remover, error) {
	ext, err := a.ExternalNetworks(ctx, external)
	if err != nil || len(ext) != 1 {
		return nil, errors.Join(err, fmt.Errorf("%d external networks named %q", len(ext), external))
	}
	n, err := networks.Create(ctx, a.Network, networks.CreateOpts{Name: name, ProjectID: projectID}).Extract()
	if err != nil {
		return nil, err
	}
	var routerID, subnetID string
	remove := func(ctx context.Context) error {
		var errs []error
		if routerID != "" && subnetID != "" {
			_, err := routers.RemoveInterface(ctx, a.Network, routerID, routers.RemoveInterfaceOpts{SubnetID: subnetID}).Extract()
			errs = append(errs, ignore404(err))
		}
		if routerID != "" {
			errs = append(errs, ignore404(routers.Delete(ctx, a.Network, routerID).ExtractErr()))
		}
		return errors.Join(append(errs, ignore404(networks.Delete(ctx, a.Network, n.ID).ExtractErr()))...)
	}
	s, err := subnets.Create(ctx, a.Network, subnets.CreateOpts{NetworkID: n.ID, Name: name, ProjectID: projectID, CIDR: cidr,
		IPVersion: gophercloud.IPv4, DNSNameservers: dns}).Extract()
	if err != nil {
		return nil, errors.Join(err, remove(ctx))
	}
	r, err := routers.Create(ctx, a.Network, routers.CreateOpts{Name: name, ProjectID: projectID,
		GatewayInfo: &routers.GatewayInfo{NetworkID: ext[0]}}).Extract()
	if err != nil {
		return nil, errors.Join(err, remove(ctx))
	}
	routerID = r.ID
	if _, err := routers.AddInterface(ctx, a.Network, r.ID, routers.AddInterfaceOpts{SubnetID: s.ID}).Extract(); err != nil {
		return nil, errors.Join(err, remove(ctx))
	}
	subnetID = s.ID
	return remove, nil
}

// ProjectState is everything of a project that adopting it could change, as text: its
// Keystone record (attributes included), its role assignments, its limits in the three
// services, and its networks, subnets and routers with their descriptions, ranges, DNS
// servers and gateways. Two equal states mean nothing was written. The attributes named
// in ignoreExtra are left out (the operator's owner records, which an adoption writes).
func (a *Admin) ProjectState(ctx context.Context, projectID string, ignoreExtra ...string) (string, error) {
	p, err := projects.Get(ctx, a.Identity, projectID).Extract()
	if err != nil {
		return "", err
	}
	for _, key := range ignoreExtra {
		delete(p.Extra, key)
	}
	tags := slices.Sorted(slices.Values(p.Tags))
	project, err := json.Marshal(map[string]any{"name": p.Name, "description": p.Description, "enabled": p.Enabled,
		"tags": tags, "extra": p.Extra})
	if err != nil {
		return "", err
	}
	people, err := a.Assignments(ctx, projectID)
	if err != nil {
		return "", err
	}
	slices.Sort(people)
	limits, err := a.rawQuotas(ctx, projectID)
	if err != nil {
		return "", err
	}
	network, err := a.networkState(ctx, projectID)
	if err != nil {
		return "", err
	}
	return strings.Join([]string{string(project), strings.Join(people, ","), limits, network}, "\n"), nil
}

// rawQuotas is the limits of the three services as they answer, in canonical JSON.
func (a *Admin) rawQuotas(ctx context.Context, projectID string) (string, error) {
	var out []string
	for _, q := range []struct {
		sc   *gophercloud.ServiceClient
		path string
	}{{a.Compute, "os-quota-sets"}, {a.Network, "quotas"}, {a.Volume, "os-quota-sets"}} {
		var body map[string]any
		if _, err := q.sc.Get(ctx, q.sc.ServiceURL(q.path, projectID), &body, nil); err != nil {
			return "", err
		}
		text, err := json.Marshal(body)
		if err != nil {
			return "", err
		}
		out = append(out, string(text))
	}
	return strings.Join(out, "\n"), nil
}

// networkState lists the project's networks, subnets and routers with what a bundle
// holds of each.
func (a *Admin) networkState(ctx context.Context, projectID string) (string, error) {
	var out []string
	pages, err := networks.List(a.Network, networks.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil {
		return "", err
	}
	for _, n := range nets {
		out = append(out, fmt.Sprintf("network %s %s %q", n.ID, n.Name, n.Description))
	}
	if pages, err = subnets.List(a.Network, subnets.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return "", err
	}
	subs, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return "", err
	}
	for _, s := range subs {
		out = append(out, fmt.Sprintf("subnet %s %s %q %s %v", s.ID, s.Name, s.Description, s.CIDR, s.DNSNameservers))
	}
	if pages, err = routers.List(a.Network, routers.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return "", err
	}
	rts, err := routers.ExtractRouters(pages)
	if err != nil {
		return "", err
	}
	for _, r := range rts {
		info, err := a.GetRouter(ctx, r.ID)
		if err != nil || info == nil {
			return "", errors.Join(err, fmt.Errorf("router %s went away", r.ID))
		}
		out = append(out, fmt.Sprintf("router %s %s %q %s %v", r.ID, r.Name, r.Description, info.GatewayNetworkID, info.InterfaceSubnets))
	}
	slices.Sort(out)
	return strings.Join(out, "\n"), nil
}

// DeleteProjectByHand deletes a project made by hand with its routers (detached first)
// and networks: Keystone would leave them behind in Neutron.
func (a *Admin) DeleteProjectByHand(ctx context.Context, projectID string) error {
	pages, err := routers.List(a.Network, routers.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return err
	}
	rts, err := routers.ExtractRouters(pages)
	if err != nil {
		return err
	}
	for _, r := range rts {
		info, err := a.GetRouter(ctx, r.ID)
		if err != nil {
			return err
		}
		for _, s := range info.InterfaceSubnets {
			if _, err := routers.RemoveInterface(ctx, a.Network, r.ID, routers.RemoveInterfaceOpts{SubnetID: s}).Extract(); ignore404(err) != nil {
				return err
			}
		}
		if err := ignore404(routers.Delete(ctx, a.Network, r.ID).ExtractErr()); err != nil {
			return err
		}
	}
	if pages, err = networks.List(a.Network, networks.ListOpts{ProjectID: projectID}).AllPages(ctx); err != nil {
		return err
	}
	nets, err := networks.ExtractNetworks(pages)
	if err != nil {
		return err
	}
	for _, n := range nets {
		if err := ignore404(networks.Delete(ctx, a.Network, n.ID).ExtractErr()); err != nil {
			return err
		}
	}
	return a.DeleteProject(ctx, projectID)
}
