package openstacktest

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The fake's bulk reads and its bulk view: the same openstack.BulkView the real admin
// login has, over the fake's listings, off until ObserveInBulk. The view serves the
// admin's reads marked openstack.AtRest; the *Directly helpers change the cloud behind
// its back, as a person would, and only its next refresh sees them.

var _ openstack.BulkSource = (*Cloud)(nil)

// ObserveInBulk gives the admin's login a bulk view refreshed at most once per period
// (zero or less: none, every read live), passing what changed to Views.
func (c *Cloud) ObserveInBulk(period time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.view = nil
	if period > 0 {
		c.view = openstack.NewBulkView(c, period, c.endpoint.AuthURL, c.feed)
	}
}

// Views passes on the projects the bulk view's refreshes found changed.
func (c *Cloud) Views() *openstack.ViewFeed { return c.feed }

// bulkView is the view serving this login's reads: the admin's, nil for a service user.
func (c *Cloud) bulkView() *openstack.BulkView {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.user != "" || c.project != "" {
		return nil
	}
	return c.view
}

// ListAllProjects implements openstack.BulkSource.
func (c *Cloud) ListAllProjects(_ context.Context) ([]openstack.Project, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListAllProjects"); err != nil {
		return nil, err
	}
	out := make([]openstack.Project, 0, len(c.projects))
	for _, id := range slices.Sorted(maps.Keys(c.projects)) {
		out = append(out, *clone(c.projects[id]))
	}
	return out, nil
}

// ListAllAssignments implements openstack.BulkSource.
func (c *Cloud) ListAllAssignments(_ context.Context) (map[string][]openstack.Assignment, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListAllAssignments"); err != nil {
		return nil, err
	}
	out := map[string][]openstack.Assignment{}
	for project, set := range c.assigned {
		if len(set) > 0 {
			out[project] = slices.Collect(maps.Keys(set))
		}
	}
	return out, nil
}

// ListNetworkQuotas implements openstack.BulkSource: the projects whose Neutron quota
// the fake holds (one read or written), as Neutron lists those with a quota of their own.
func (c *Cloud) ListNetworkQuotas(_ context.Context) (map[string]quota.Limits, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ListNetworkQuotas"); err != nil {
		return nil, err
	}
	out := map[string]quota.Limits{}
	for project, services := range c.quotas {
		if q := services[quota.NetworkService]; q != nil {
			out[project] = maps.Clone(q.Limits)
		}
	}
	return out, nil
}

// RemoveNetworkQuotaDirectly drops a project's own Neutron quota behind the operator's
// back (openstack quota delete): it has the defaults again, and the listing leaves it out.
func (c *Cloud) RemoveNetworkQuotaDirectly(projectID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.quotas[projectID], quota.NetworkService)
}
