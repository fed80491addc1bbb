package openstack

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/usage"
	"github.com/gophercloud/gophercloud/v2/pagination"
)

// usagePageSize is how many servers one page of os-simple-tenant-usage covers: Nova's
// default maximum, so a cloud with fewer servers answers in one page.
const usagePageSize = 1000

// ProjectUsage is what one project's servers used over a period, as Nova's
// os-simple-tenant-usage reports it (servers deleted during the period included).
type ProjectUsage struct {
	ProjectID     string
	VCPUHours     float64
	RAMMiBHours   float64
	LocalGiBHours float64
}

// VolumeSize is one block-storage volume: whose, how large, since when.
type VolumeSize struct {
	ProjectID string
	SizeGiB   int
	Created   time.Time
}

// Usage reads what every project used, for showback. Both calls read all projects at
// once: the cost of a read does not grow with the number of departments, only with the
// pages the cloud splits its answer into.
type Usage interface {
	// ComputeUsage is every project's usage over [start, end), by project ID: one
	// os-simple-tenant-usage call for all projects, following its pages.
	ComputeUsage(ctx context.Context, start, end time.Time) (map[string]ProjectUsage, error)
	// Volumes lists every project's volumes; ok is false when the catalog has no
	// volume service.
	Volumes(ctx context.Context) (_ []VolumeSize, ok bool, _ error)
}

var _ Usage = (*Cloud)(nil)

// ComputeUsage implements Usage. With paging (microversion 2.40 and later) Nova splits
// the servers, not the projects, over pages: a project may appear on several, each with
// the totals of its servers on that page, so they are summed.
func (c *Cloud) ComputeUsage(ctx context.Context, start, end time.Time) (_ map[string]ProjectUsage, err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return nil, err
	}
	start, end = start.UTC(), end.UTC()
	out := map[string]ProjectUsage{}
	pager := usage.AllTenants(sc, usage.AllTenantsOpts{Detailed: true, Start: &start, End: &end, Limit: usagePageSize})
	err = pager.EachPage(ctx, func(_ context.Context, page pagination.Page) (bool, error) {
		list, err := usage.ExtractAllTenants(page)
		if err != nil {
			return false, err
		}
		for _, u := range list {
			p := out[u.TenantID]
			p.ProjectID = u.TenantID
			p.VCPUHours += u.TotalVCPUsUsage
			p.RAMMiBHours += u.TotalMemoryMBUsage
			p.LocalGiBHours += u.TotalLocalGBUsage
			out[u.TenantID] = p
		}
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading usage of all projects: %w", err)
	}
	return out, nil
}

// Volumes implements Usage: one listing of every project's volumes, following pages.
func (c *Cloud) Volumes(ctx context.Context) (_ []VolumeSize, ok bool, err error) {
	defer c.convert(&err)
	sc, ok, err := c.catalogService("block-storage")
	if err != nil || !ok {
		return nil, false, err
	}
	pages, err := volumes.List(sc, volumes.ListOpts{AllTenants: true}).AllPages(ctx)
	if err != nil {
		return nil, true, fmt.Errorf("listing the volumes of all projects: %w", err)
	}
	list, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return nil, true, err
	}
	out := make([]VolumeSize, 0, len(list))
	for _, v := range list {
		out = append(out, VolumeSize{ProjectID: v.TenantID, SizeGiB: v.Size, Created: v.CreatedAt})
	}
	return out, true, nil
}
