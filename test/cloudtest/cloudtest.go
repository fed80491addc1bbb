// Package cloudtest gives end-to-end tests an independent view of a real OpenStack: it
// reads and edits the cloud directly with gophercloud, never through the operator's own
// adapter, so a test checks what OpenStack really holds.
package cloudtest

import (
	"context"
	"crypto/tls"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Admin is an admin session on a cloud.
type Admin struct {
	Identity *gophercloud.ServiceClient
	Network  *gophercloud.ServiceClient
	Compute  *gophercloud.ServiceClient
	Volume   *gophercloud.ServiceClient
	// Placement reads the cloud's capacity (placement.go).
	Placement *gophercloud.ServiceClient

	// tls is the admin's TLS settings, for logging in as someone else.
	tls *tls.Config
	// auth and endpoints are the admin's login, for logging in scoped to another project.
	auth      gophercloud.AuthOptions
	endpoints gophercloud.EndpointOpts
}

// Open logs in to cloud from the clouds.yaml at path.
func Open(ctx context.Context, path, cloud string) (*Admin, error) {
	ao, eo, tlsConfig, err := clouds.Parse(clouds.WithLocations(path), clouds.WithCloudName(cloud))
	if err != nil {
		return nil, err
	}
	ao.AllowReauth = true
	provider, err := config.NewProviderClient(ctx, ao, config.WithTLSConfig(tlsConfig))
	if err != nil {
		return nil, err
	}
	identity, err := openstack.NewIdentityV3(provider, eo)
	if err != nil {
		return nil, err
	}
	network, err := openstack.NewNetworkV2(provider, eo)
	if err != nil {
		return nil, err
	}
	admin := &Admin{Identity: identity, Network: network, tls: tlsConfig, auth: ao, endpoints: eo}
	if err := openQuotaClients(admin, provider, eo); err != nil {
		return nil, err
	}
	if err := openPlacement(admin, provider, eo); err != nil {
		return nil, err
	}
	return admin, nil
}

// Project is what a test checks of a Keystone project.
type Project struct {
	ID, Name, Description string
	Tags                  []string
	Enabled               bool
	// Extra holds the project's other attributes, such as the operator's owner records.
	Extra map[string]any
}

// GetProject returns the project, or nil when it does not exist.
func (a *Admin) GetProject(ctx context.Context, id string) (*Project, error) {
	p, err := projects.Get(ctx, a.Identity, id).Extract()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Project{ID: p.ID, Name: p.Name, Description: p.Description, Tags: p.Tags, Enabled: p.Enabled, Extra: p.Extra}, nil
}

// CreateProject makes a project in the default domain, with tags, as a person would,
// outside the operator.
func (a *Admin) CreateProject(ctx context.Context, name string, tags ...string) (string, error) {
	p, err := projects.Create(ctx, a.Identity, projects.CreateOpts{Name: name, DomainID: "default", Tags: tags}).Extract()
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

// EditProject renames and disables or enables a project by hand.
func (a *Admin) EditProject(ctx context.Context, id, name string, enabled bool) error {
	return projects.Update(ctx, a.Identity, id, projects.UpdateOpts{Name: name, Enabled: &enabled}).Err
}

// DeleteProject deletes a project; one already gone is fine.
func (a *Admin) DeleteProject(ctx context.Context, id string) error {
	err := projects.Delete(ctx, a.Identity, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil
	}
	return err
}

// Assignments returns the project's direct role assignments as "group:<name>:<role>" or
// "user:<name>:<role>".
func (a *Admin) Assignments(ctx context.Context, projectID string) ([]string, error) {
	list, err := a.listAssignments(ctx, roles.ListAssignmentsOpts{ScopeProjectID: projectID, IncludeNames: gophercloud.Enabled})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		if r.Group.ID != "" {
			out = append(out, fmt.Sprintf("group:%s:%s", r.Group.Name, r.Role.Name))
		} else {
			out = append(out, fmt.Sprintf("user:%s:%s", r.User.Name, r.Role.Name))
		}
	}
	return out, nil
}

// listAssignments lists role assignments, every page.
func (a *Admin) listAssignments(ctx context.Context, opts roles.ListAssignmentsOpts) ([]roles.RoleAssignment, error) {
	pages, err := roles.ListAssignments(a.Identity, opts).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return roles.ExtractRoleAssignments(pages)
}

// RevokeAll removes every direct assignment on the project, by hand.
func (a *Admin) RevokeAll(ctx context.Context, projectID string) error {
	list, err := a.listAssignments(ctx, roles.ListAssignmentsOpts{ScopeProjectID: projectID})
	if err != nil {
		return err
	}
	for _, r := range list {
		opts := roles.UnassignOpts{GroupID: r.Group.ID, UserID: r.User.ID, ProjectID: projectID}
		if err := roles.Unassign(ctx, a.Identity, r.Role.ID, opts).ExtractErr(); err != nil {
			return err
		}
	}
	return nil
}

// CreatePort puts a network and a port into a project, as a department would, and
// returns a function that removes both.
func (a *Admin) CreatePort(ctx context.Context, projectID, name string) (func(context.Context) error, error) {
	n, err := networks.Create(ctx, a.Network, networks.CreateOpts{Name: name, ProjectID: projectID}).Extract()
	if err != nil {
		return nil, err
	}
	p, err := ports.Create(ctx, a.Network, ports.CreateOpts{NetworkID: n.ID, Name: name, ProjectID: projectID}).Extract()
	if err != nil {
		_ = networks.Delete(ctx, a.Network, n.ID).ExtractErr()
		return nil, err
	}
	return func(ctx context.Context) error {
		if err := ports.Delete(ctx, a.Network, p.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
			return err
		}
		if err := networks.Delete(ctx, a.Network, n.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
			return err
		}
		return nil
	}, nil
}

// DeleteOwnedProjects deletes the projects with these names that an operator created
// (they carry its owner attribute): leftovers of an earlier run whose control plane is
// gone. Projects made by people are never touched.
func (a *Admin) DeleteOwnedProjects(ctx context.Context, names ...string) error {
	for _, name := range names {
		pages, err := projects.List(a.Identity, projects.ListOpts{Name: name}).AllPages(ctx)
		if err != nil {
			return err
		}
		list, err := projects.ExtractProjects(pages)
		if err != nil {
			return err
		}
		for _, p := range list {
			if _, owned := p.Extra["whitehall_owner"]; owned {
				if err := a.DeleteProject(ctx, p.ID); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// FindProject returns the ID of the project named name in the default domain, or "".
func (a *Admin) FindProject(ctx context.Context, name string) (string, error) {
	pages, err := projects.List(a.Identity, projects.ListOpts{Name: name, DomainID: "default"}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := projects.ExtractProjects(pages)
	if err != nil || len(list) == 0 {
		return "", err
	}
	return list[0].ID, nil
}
