package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/pagination"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The bulk reads: what the operator would otherwise read once per department per
// resync, listed once per cloud (bulkview.go serves the per-department reads from them).
// They need the admin's login: Keystone and Neutron list every project's only to it.

var _ BulkSource = (*Cloud)(nil)

// ListAllProjects implements BulkSource: every project of the cloud, with its tags and
// owner properties, in one listing (GET /v3/projects, paged as Keystone pages it).
func (c *Cloud) ListAllProjects(ctx context.Context) (_ []Project, err error) {
	defer c.convert(&err)
	var out []Project
	err = eachWhole(ctx, projects.List(c.identity, projects.ListOpts{}), func(page pagination.Page) error {
		list, err := projects.ExtractProjects(page)
		for i := range list {
			out = append(out, *toProject(&list[i]))
		}
		return err
	})
	return out, err
}

// ListAllAssignments implements BulkSource: the direct role assignments on every
// project, by project ID (GET /v3/role_assignments, no filter). Domain and system
// assignments are left out: ListAssignments never returns them either.
func (c *Cloud) ListAllAssignments(ctx context.Context) (_ map[string][]Assignment, err error) {
	defer c.convert(&err)
	out := map[string][]Assignment{}
	err = eachWhole(ctx, roles.ListAssignments(c.identity, roles.ListAssignmentsOpts{}), func(page pagination.Page) error {
		list, err := roles.ExtractRoleAssignments(page)
		for _, a := range list {
			if p := a.Scope.Project.ID; p != "" {
				out[p] = append(out[p], Assignment{GroupID: a.Group.ID, UserID: a.User.ID, RoleID: a.Role.ID})
			}
		}
		return err
	})
	return out, err
}

// errTruncated is a Keystone listing cut short by its list_limit.
var errTruncated = errors.New("keystone truncated the listing (list_limit): it is not used")

// eachWhole runs each page of a Keystone listing through use, and fails a listing
// Keystone truncated (list_limit): a project missing from it would be served as having
// no role assignment.
func eachWhole(ctx context.Context, pager pagination.Pager, use func(pagination.Page) error) error {
	return pager.EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		if body, ok := page.GetBody().(map[string]any); ok {
			if truncated, _ := body["truncated"].(bool); truncated {
				return false, errTruncated
			}
		}
		return true, use(page)
	})
}

// ListNetworkQuotas implements BulkSource: the Neutron limits of every project that has
// a quota of its own, by project ID (GET /v2.0/quotas). A project not listed has
// Neutron's defaults: its explicit quota is gone, which only a read of its own shows.
// Neutron lists limits only, no usage.
func (c *Cloud) ListNetworkQuotas(ctx context.Context) (_ map[string]quota.Limits, err error) {
	defer c.convert(&err)
	api, sc, err := c.quotaClient(quota.NetworkService)
	if err != nil {
		return nil, err
	}
	var body struct {
		Quotas []map[string]json.RawMessage `json:"quotas"`
	}
	if _, err := sc.Get(ctx, sc.ServiceURL("quotas"), &body, nil); err != nil {
		return nil, fmt.Errorf("listing the %s quotas: %w", api.catalogType, err)
	}
	out := make(map[string]quota.Limits, len(body.Quotas))
	for _, q := range body.Quotas {
		id := stringField(q, "project_id")
		if id == "" {
			id = stringField(q, "tenant_id") // releases before project_id was added
		}
		if id == "" {
			continue
		}
		limits := quota.Limits{}
		for _, f := range quota.FieldsOf(quota.NetworkService) {
			var v json.Number
			if raw, ok := q[f.OpenStackName()]; ok && json.Unmarshal(raw, &v) == nil {
				if n, err := v.Int64(); err == nil {
					limits[f] = n
				}
			}
		}
		out[id] = limits
	}
	return out, nil
}

// stringField is a string field of a decoded JSON object, or "".
func stringField(obj map[string]json.RawMessage, key string) string {
	var s string
	if raw, ok := obj[key]; ok {
		_ = json.Unmarshal(raw, &s) // not a string: no such field
	}
	return s
}
