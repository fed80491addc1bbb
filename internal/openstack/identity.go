package openstack

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/domains"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// Keystone project attributes that record which Tenant owns the project: the one that
// created or adopted it. The UID (OwnerKey) lets a project found by name after a crash be
// recognised as ours and a stranger's project never be taken over silently; the
// namespace and name tell a cloud admin whose it is, and let the same Tenant applied to a
// rebuilt cluster take its project back; the cluster (OwnerClusterKey) tells whether the
// recorded owner can still be alive (see ClusterRecords). PreviousOwnerKey keeps the UID
// of the owner a project was taken back from, whose marks its network still carries.
const (
	OwnerKey          = "whitehall_owner"
	OwnerNamespaceKey = "whitehall_namespace"
	OwnerNameKey      = "whitehall_tenant"
	OwnerClusterKey   = "whitehall_cluster"
	PreviousOwnerKey  = "whitehall_previous_owner"
)

// Project is a Keystone project as the operator sees it.
type Project struct {
	ID          string
	Name        string
	DomainID    string
	Description string
	Tags        []string
	Enabled     bool
	// Owner is the UID of the object that created or adopted the project, or "" for a
	// project nobody here owns.
	Owner string
	// OwnerNamespace and OwnerName name that object (a Tenant).
	OwnerNamespace string
	OwnerName      string
	// OwnerCluster is the ID of the cluster that object lives in; "" in a record written
	// before clusters were recorded.
	OwnerCluster string
	// PreviousOwner is the UID of the owner the project was taken back from, if any.
	PreviousOwner string
}

// ProjectCreate describes a project to create.
type ProjectCreate struct {
	Name        string
	DomainID    string
	Description string
	Tags        []string
	Enabled     bool
	// Owner, OwnerNamespace, OwnerName and OwnerCluster are the UID, namespace, name and
	// cluster of the Tenant creating it.
	Owner          string
	OwnerNamespace string
	OwnerName      string
	OwnerCluster   string
}

// ProjectUpdate changes only the fields that are set.
type ProjectUpdate struct {
	Name        *string
	Description *string
	Tags        *[]string
	Enabled     *bool
	// Owner records a new owner: a Tenant adopting an imported project.
	Owner *ProjectOwner
}

// ProjectOwner is the Tenant that owns a project.
type ProjectOwner struct {
	UID       string
	Namespace string
	Name      string
	// Cluster is the ID of the cluster the Tenant lives in.
	Cluster string
	// Previous is the UID of the owner it was taken back from ("" for none).
	Previous string
}

// extra is the owner as Keystone project attributes: every key is written, so a record
// never mixes two owners.
func (o ProjectOwner) extra() map[string]any {
	return map[string]any{OwnerKey: o.UID, OwnerNamespaceKey: o.Namespace, OwnerNameKey: o.Name,
		OwnerClusterKey: o.Cluster, PreviousOwnerKey: o.Previous}
}

// IsEmpty reports whether the update changes nothing.
func (u ProjectUpdate) IsEmpty() bool {
	return u.Name == nil && u.Description == nil && u.Tags == nil && u.Enabled == nil && u.Owner == nil
}

// Projects manages Keystone projects.
type Projects interface {
	// GetProject returns the project with id, or an error wrapping ErrNotFound.
	GetProject(ctx context.Context, id string) (*Project, error)
	// FindProject returns the project named name in domainID, or an error wrapping
	// ErrNotFound.
	FindProject(ctx context.Context, domainID, name string) (*Project, error)
	CreateProject(ctx context.Context, opts ProjectCreate) (*Project, error)
	UpdateProject(ctx context.Context, id string, opts ProjectUpdate) (*Project, error)
	// DeleteProject deletes the project; a project already gone is not an error.
	DeleteProject(ctx context.Context, id string) error
}

// Directory turns names into Keystone IDs. Anything not found wraps ErrNotFound.
type Directory interface {
	DomainID(ctx context.Context, nameOrID string) (string, error)
	RoleID(ctx context.Context, nameOrID string) (string, error)
	GroupID(ctx context.Context, nameOrID, domainID string) (string, error)
	UserID(ctx context.Context, nameOrID, domainID string) (string, error)
}

// Assignment is one role of one principal (a group or a user, by ID) on a project.
type Assignment struct {
	GroupID string
	UserID  string
	RoleID  string
}

// RoleAssignments reads and changes role assignments on a project.
type RoleAssignments interface {
	// ListAssignments returns the direct assignments on the project, in one call.
	ListAssignments(ctx context.Context, projectID string) ([]Assignment, error)
	Grant(ctx context.Context, projectID string, a Assignment) error
	// Revoke removes the assignment; one already gone is not an error.
	Revoke(ctx context.Context, projectID string, a Assignment) error
}

var (
	_ Projects        = (*Cloud)(nil)
	_ Directory       = (*Cloud)(nil)
	_ RoleAssignments = (*Cloud)(nil)
)

func toProject(p *projects.Project) *Project {
	extra := func(key string) string {
		v, _ := p.Extra[key].(string)
		return v
	}
	return &Project{
		ID:             p.ID,
		Name:           p.Name,
		DomainID:       p.DomainID,
		Description:    p.Description,
		Tags:           p.Tags,
		Enabled:        p.Enabled,
		Owner:          extra(OwnerKey),
		OwnerNamespace: extra(OwnerNamespaceKey),
		OwnerName:      extra(OwnerNameKey),
		OwnerCluster:   extra(OwnerClusterKey),
		PreviousOwner:  extra(PreviousOwnerKey),
	}
}

// GetProject implements Projects.
func (c *Cloud) GetProject(ctx context.Context, id string) (_ *Project, err error) {
	if p, ok := c.view.Project(ctx, id); ok {
		return p, nil
	}
	defer c.convert(&err)
	p, err := projects.Get(ctx, c.identity, id).Extract()
	if err != nil {
		return nil, notFound(err, "project %s", id)
	}
	return toProject(p), nil
}

// FindProject implements Projects.
func (c *Cloud) FindProject(ctx context.Context, domainID, name string) (_ *Project, err error) {
	defer c.convert(&err)
	var found *Project
	err = projects.List(c.identity, projects.ListOpts{DomainID: domainID, Name: name}).EachPage(ctx,
		func(_ context.Context, page pagination.Page) (bool, error) {
			list, err := projects.ExtractProjects(page)
			if err != nil {
				return false, err
			}
			for i := range list {
				if list[i].Name == name {
					found = toProject(&list[i])
					return false, nil
				}
			}
			return true, nil
		})
	if err != nil {
		return nil, err
	}
	if found == nil {
		return nil, fmt.Errorf("%w: project %q in domain %s", ErrNotFound, name, domainID)
	}
	return found, nil
}

// CreateProject implements Projects.
func (c *Cloud) CreateProject(ctx context.Context, opts ProjectCreate) (_ *Project, err error) {
	defer c.convert(&err)
	create := projects.CreateOpts{
		Name:        opts.Name,
		DomainID:    opts.DomainID,
		Description: opts.Description,
		Tags:        opts.Tags,
		Enabled:     &opts.Enabled,
	}
	for key, v := range map[string]string{OwnerKey: opts.Owner, OwnerNamespaceKey: opts.OwnerNamespace, OwnerNameKey: opts.OwnerName,
		OwnerClusterKey: opts.OwnerCluster} {
		if v != "" {
			if create.Extra == nil {
				create.Extra = map[string]any{}
			}
			create.Extra[key] = v
		}
	}
	p, err := projects.Create(ctx, c.identity, create).Extract()
	if err != nil {
		return nil, err
	}
	c.view.Wrote(ProjectsListing, p.ID)
	return toProject(p), nil
}

// UpdateProject implements Projects.
func (c *Cloud) UpdateProject(ctx context.Context, id string, opts ProjectUpdate) (_ *Project, err error) {
	defer c.convert(&err)
	update := projects.UpdateOpts{Description: opts.Description, Tags: opts.Tags, Enabled: opts.Enabled}
	if opts.Name != nil {
		update.Name = *opts.Name
	}
	if opts.Owner != nil {
		update.Extra = opts.Owner.extra()
	}
	defer c.view.Wrote(ProjectsListing, id)
	p, err := projects.Update(ctx, c.identity, id, update).Extract()
	if err != nil {
		return nil, notFound(err, "project %s", id)
	}
	return toProject(p), nil
}

// DeleteProject implements Projects.
func (c *Cloud) DeleteProject(ctx context.Context, id string) (err error) {
	defer c.convert(&err)
	defer c.view.wroteAll(id) // its assignments and quota go with it
	err = projects.Delete(ctx, c.identity, id).ExtractErr()
	if IsNotFound(err) {
		return nil
	}
	return err
}

// DomainID implements Directory.
func (c *Cloud) DomainID(ctx context.Context, nameOrID string) (_ string, err error) {
	defer c.convert(&err)
	return c.names.resolve("domain/"+nameOrID, func() (string, error) {
		var id string
		err := domains.List(c.identity, domains.ListOpts{Name: nameOrID}).EachPage(ctx,
			func(_ context.Context, page pagination.Page) (bool, error) {
				list, err := domains.ExtractDomains(page)
				if len(list) > 0 {
					id = list[0].ID
				}
				return false, err
			})
		if err != nil || id != "" {
			return id, err
		}
		d, err := domains.Get(ctx, c.identity, nameOrID).Extract()
		if err != nil {
			return "", notFound(err, "domain %q", nameOrID)
		}
		return d.ID, nil
	})
}

// RoleID implements Directory. Roles are few: one list serves every lookup.
func (c *Cloud) RoleID(ctx context.Context, nameOrID string) (_ string, err error) {
	defer c.convert(&err)
	return c.names.resolve("role/"+nameOrID, func() (string, error) {
		pages, err := roles.List(c.identity, roles.ListOpts{}).AllPages(ctx)
		if err != nil {
			return "", err
		}
		list, err := roles.ExtractRoles(pages)
		if err != nil {
			return "", err
		}
		found := ""
		for _, r := range list {
			if r.DomainID != "" {
				continue // domain-specific roles cannot be granted on a project by name
			}
			c.names.put("role/"+r.Name, r.ID)
			c.names.put("role/"+r.ID, r.ID)
			if r.Name == nameOrID || r.ID == nameOrID {
				found = r.ID
			}
		}
		if found == "" {
			return "", fmt.Errorf("%w: role %q", ErrNotFound, nameOrID)
		}
		return found, nil
	})
}

// GroupID implements Directory.
func (c *Cloud) GroupID(ctx context.Context, nameOrID, domainID string) (_ string, err error) {
	defer c.convert(&err)
	return c.principalID(ctx, "group", nameOrID, domainID,
		func() pagination.Pager {
			return groups.List(c.identity, groups.ListOpts{Name: nameOrID, DomainID: domainID})
		},
		func(page pagination.Page) (string, error) {
			list, err := groups.ExtractGroups(page)
			if err != nil || len(list) == 0 {
				return "", err
			}
			return list[0].ID, nil
		},
		func() (string, error) {
			g, err := groups.Get(ctx, c.identity, nameOrID).Extract()
			if err != nil {
				return "", err
			}
			return g.ID, nil
		})
}

// UserID implements Directory.
func (c *Cloud) UserID(ctx context.Context, nameOrID, domainID string) (_ string, err error) {
	defer c.convert(&err)
	return c.principalID(ctx, "user", nameOrID, domainID,
		func() pagination.Pager {
			return users.List(c.identity, users.ListOpts{Name: nameOrID, DomainID: domainID})
		},
		func(page pagination.Page) (string, error) {
			list, err := users.ExtractUsers(page)
			if err != nil || len(list) == 0 {
				return "", err
			}
			return list[0].ID, nil
		},
		func() (string, error) {
			u, err := users.Get(ctx, c.identity, nameOrID).Extract()
			if err != nil {
				return "", err
			}
			return u.ID, nil
		})
}

// principalID finds a group or user by name in a domain (one list call, the usual case),
// else by ID, and caches the answer.
func (c *Cloud) principalID(ctx context.Context, kind, nameOrID, domainID string,
	list func() pagination.Pager, first func(pagination.Page) (string, error), byID func() (string, error)) (string, error) {
	return c.names.resolve(kind+"/"+domainID+"/"+nameOrID, func() (string, error) {
		var id string
		err := list().EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
			var err error
			id, err = first(page)
			return false, err
		})
		if err != nil || id != "" {
			return id, err
		}
		id, err = byID()
		if err != nil {
			return "", notFound(err, "%s %q in domain %s", kind, nameOrID, domainID)
		}
		return id, nil
	})
}

// ListAssignments implements RoleAssignments.
func (c *Cloud) ListAssignments(ctx context.Context, projectID string) (_ []Assignment, err error) {
	if list, ok := c.view.Assignments(ctx, projectID); ok {
		return list, nil
	}
	defer c.convert(&err)
	pages, err := roles.ListAssignments(c.identity, roles.ListAssignmentsOpts{ScopeProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := roles.ExtractRoleAssignments(pages)
	if err != nil {
		return nil, err
	}
	out := make([]Assignment, 0, len(list))
	for _, a := range list {
		out = append(out, Assignment{GroupID: a.Group.ID, UserID: a.User.ID, RoleID: a.Role.ID})
	}
	return out, nil
}

// Grant implements RoleAssignments.
func (c *Cloud) Grant(ctx context.Context, projectID string, a Assignment) (err error) {
	defer c.convert(&err)
	defer c.view.Wrote(AssignmentsListing, projectID)
	return roles.Assign(ctx, c.identity, a.RoleID, roles.AssignOpts{GroupID: a.GroupID, UserID: a.UserID, ProjectID: projectID}).ExtractErr()
}

// Revoke implements RoleAssignments.
func (c *Cloud) Revoke(ctx context.Context, projectID string, a Assignment) (err error) {
	defer c.convert(&err)
	defer c.view.Wrote(AssignmentsListing, projectID)
	err = roles.Unassign(ctx, c.identity, a.RoleID, roles.UnassignOpts{GroupID: a.GroupID, UserID: a.UserID, ProjectID: projectID}).ExtractErr()
	if IsNotFound(err) {
		return nil
	}
	return err
}

// notFound wraps a 404 in ErrNotFound with a description of what was missing.
func notFound(err error, format string, args ...any) error {
	if IsNotFound(err) {
		return fmt.Errorf("%w: %s", ErrNotFound, fmt.Sprintf(format, args...))
	}
	return err
}
