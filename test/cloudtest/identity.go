package cloudtest

import (
	"context"
	"errors"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/users"
)

// CurrentUserID returns the ID of the admin's own user, read from its token.
func (a *Admin) CurrentUserID(_ context.Context) (string, error) {
	result, ok := a.Identity.GetAuthResult().(interface{ ExtractUser() (*tokens.User, error) })
	if !ok {
		return "", errors.New("the admin's login did not come from Keystone v3")
	}
	u, err := result.ExtractUser()
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// UserRoleAssignments returns the IDs of the roles a user holds directly on a project.
func (a *Admin) UserRoleAssignments(ctx context.Context, userID, projectID string) ([]string, error) {
	list, err := a.listAssignments(ctx, roles.ListAssignmentsOpts{UserID: userID, ScopeProjectID: projectID})
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(list))
	for _, r := range list {
		out = append(out, r.Role.ID)
	}
	return out, nil
}

// UserExists reports whether a Keystone user exists.
func (a *Admin) UserExists(ctx context.Context, id string) (bool, error) {
	err := users.Get(ctx, a.Identity, id).Err
	if gophercloud.ResponseCodeIs(err, 404) {
		return false, nil
	}
	return err == nil, err
}

// UsersNamed returns name → ID of the users of every domain whose names start with
// prefix: service users an earlier run left behind.
func (a *Admin) UsersNamed(ctx context.Context, prefix string) (map[string]string, error) {
	pages, err := users.List(a.Identity, users.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := users.ExtractUsers(pages)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, u := range list {
		if strings.HasPrefix(u.Name, prefix) {
			out[u.Name] = u.ID
		}
	}
	return out, nil
}

// DeleteUser deletes a user; one already gone is fine.
func (a *Admin) DeleteUser(ctx context.Context, id string) error {
	err := users.Delete(ctx, a.Identity, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil
	}
	return err
}

// ApplicationCredentialWorks logs in at authURL with an application credential, as a
// department's tools would, with the admin's TLS settings; nil when Keystone accepts it.
func (a *Admin) ApplicationCredentialWorks(ctx context.Context, authURL, id, secret string) error {
	_, err := config.NewProviderClient(ctx, gophercloud.AuthOptions{
		IdentityEndpoint:            authURL,
		ApplicationCredentialID:     id,
		ApplicationCredentialSecret: secret,
	}, config.WithTLSConfig(a.tls))
	return err
}

// SetProjectTags replaces a project's tags by hand, as a cloud admin handing a project
// over would.
func (a *Admin) SetProjectTags(ctx context.Context, projectID string, tags []string) error {
	if tags == nil {
		tags = []string{}
	}
	return projects.Update(ctx, a.Identity, projectID, projects.UpdateOpts{Tags: &tags}).Err
}
