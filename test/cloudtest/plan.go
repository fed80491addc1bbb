package cloudtest

import (
	"context"
	"fmt"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// Grant gives a group or user (by name, in the default domain) a role (by name) on a
// project, by hand, as a cloud admin did before the operator came. principal is
// "group:<name>" or "user:<name>", as Assignments lists them without the role.
func (a *Admin) Grant(ctx context.Context, projectID, principal, role string) error {
	roleID, err := a.roleID(ctx, role)
	if err != nil {
		return err
	}
	opts := roles.AssignOpts{ProjectID: projectID}
	switch kind, name, _ := strings.Cut(principal, ":"); kind {
	case "group":
		opts.GroupID, err = a.groupID(ctx, name)
	case "user":
		opts.UserID, err = a.userID(ctx, name)
	default:
		return fmt.Errorf("principal %q: want group:<name> or user:<name>", principal)
	}
	if err != nil {
		return err
	}
	return roles.Assign(ctx, a.Identity, roleID, opts).ExtractErr()
}

func (a *Admin) roleID(ctx context.Context, name string) (string, error) {
	pages, err := roles.List(a.Identity, roles.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := roles.ExtractRoles(pages)
	if err != nil || len(list) != 1 {
		return "", fmt.Errorf("role %q: %d found: %v", name, len(list), err)
	}
	return list[0].ID, nil
}

func (a *Admin) groupID(ctx context.Context, name string) (string, error) {
	pages, err := groups.List(a.Identity, groups.ListOpts{Name: name, DomainID: "default"}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil || len(list) != 1 {
		return "", fmt.Errorf("group %q: %d found: %v", name, len(list), err)
	}
	return list[0].ID, nil
}

func (a *Admin) userID(ctx context.Context, name string) (string, error) {
	pages, err := users.List(a.Identity, users.ListOpts{Name: name, DomainID: "default"}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := users.ExtractUsers(pages)
	if err != nil || len(list) != 1 {
		return "", fmt.Errorf("user %q: %d found: %v", name, len(list), err)
	}
	return list[0].ID, nil
}
