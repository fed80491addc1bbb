package openstacktest

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ openstack.Inventory = (*Cloud)(nil)

// SetAdminProject names the project the admin's login is scoped to (AdminProjectID).
func (c *Cloud) SetAdminProject(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.adminProject = id
}

// AdminProjectID implements openstack.Inventory.
func (c *Cloud) AdminProjectID(context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return cmp.Or(c.adminProject, "project-admin"), nil
}

// ListProjects implements openstack.Inventory, sorted by ID.
func (c *Cloud) ListProjects(_ context.Context, domainID string) ([]openstack.Project, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListProjects"); err != nil {
		return nil, err
	}
	var out []openstack.Project
	for _, id := range slices.Sorted(maps.Keys(c.projects)) {
		if p := c.projects[id]; p.DomainID == domainID {
			out = append(out, *clone(p))
		}
	}
	return out, nil
}

// ListNamedAssignments implements openstack.Inventory: the names AddGroup, AddUser and
// New gave, the domain by its ID.
func (c *Cloud) ListNamedAssignments(_ context.Context, projectID string) ([]openstack.NamedAssignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListNamedAssignments", projectID); err != nil {
		return nil, err
	}
	var out []openstack.NamedAssignment
	for a := range c.assigned[projectID] {
		n := openstack.NamedAssignment{Role: nameOf(c.roles, a.RoleID)}
		if a.GroupID != "" {
			n.GroupDomain, n.Group = domainAndName(c.groups, a.GroupID)
		} else {
			n.UserDomain, n.User = domainAndName(c.users, a.UserID)
		}
		out = append(out, n)
	}
	return out, nil
}

// nameOf is the key of table, other than the ID itself, that leads to id.
func nameOf(table map[string]string, id string) string {
	for key, v := range table {
		if v == id && key != id {
			return key
		}
	}
	return ""
}

// domainAndName splits the "<domain ID>/<name>" key that leads to id.
func domainAndName(table map[string]string, id string) (string, string) {
	domain, name, _ := strings.Cut(nameOf(table, id), "/")
	return domain, name
}

// FindNetworkBundle implements openstack.Inventory: the bundle of that name, unless it
// is another Tenant's. Its external network is the name its gateway was given.
func (c *Cloud) FindNetworkBundle(_ context.Context, projectID, name string) (*openstack.FoundBundle, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("FindNetworkBundle", projectID); err != nil {
		return nil, "", err
	}
	b := c.bundles[projectID+"/"+name]
	switch {
	case b == nil:
		return nil, "", nil
	case b.owner != "":
		return nil, "network " + name + ": it was made for a Tenant", nil
	}
	return &openstack.FoundBundle{CIDR: b.cidr, DNSNameservers: slices.Clone(b.dns),
		ExternalNetwork: strings.TrimPrefix(b.gateway, "net-")}, "", nil
}

// AddProjectTag implements openstack.Inventory, and logs the write.
func (c *Cloud) AddProjectTag(_ context.Context, projectID, tag string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("AddProjectTag", projectID); err != nil {
		return err
	}
	p := c.projects[projectID]
	if p == nil {
		return notFound("project " + projectID)
	}
	if !slices.Contains(p.Tags, tag) {
		p.Tags = append(p.Tags, tag)
	}
	c.logWrite(projectID, "AddProjectTag %s", tag)
	return nil
}
