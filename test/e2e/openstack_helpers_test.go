package e2e

import (
	"context"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/applicationcredentials"
)

// Admin views of OpenStack that test/cloudtest does not give, for the
// isolation specs. They use gophercloud directly, with the suite's admin session.

// applicationCredentialExists reports whether Keystone still holds the application
// credential id of user userID.
func applicationCredentialExists(ctx context.Context, userID, id string) (bool, error) {
	err := applicationcredentials.Get(ctx, admin.Identity, userID, id).Err
	if gophercloud.ResponseCodeIs(err, 404) {
		return false, nil
	}
	return err == nil, err
}

// serverCreators returns name → ID of the Keystone user that created it, for the
// servers of a project whose names start with prefix.
func serverCreators(ctx context.Context, projectID, prefix string) (map[string]string, error) {
	list, err := admin.ProjectServers(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range list {
		if strings.HasPrefix(s.Name, prefix) {
			out[s.Name] = s.UserID
		}
	}
	return out, nil
}

// deleteLeftoverProjects deletes what an earlier, interrupted run left under these
// project names: the project, its servers and its service user. Names are the specs' own, so a
// project is deleted whoever made it (a handed-over project is made by the spec itself).
func deleteLeftoverProjects(ctx context.Context, names ...string) error {
	for _, name := range names {
		id, err := admin.FindProject(ctx, name)
		if err != nil {
			return err
		}
		if id == "" {
			continue
		}
		left, err := admin.ProjectServers(ctx, id)
		if err != nil {
			return err
		}
		for _, s := range left {
			if err := servers.Delete(ctx, admin.Compute, s.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
				return err
			}
		}
		users, err := admin.UsersNamed(ctx, "whitehall-project-"+id)
		if err != nil {
			return err
		}
		for _, uid := range users {
			if err := admin.DeleteUser(ctx, uid); err != nil {
				return err
			}
		}
		if err := admin.DeleteProject(ctx, id); err != nil {
			return err
		}
	}
	return nil
}
