package cloudtest

import (
	"context"
	"math"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"
)

// openPlacement adds the Placement client.
func openPlacement(a *Admin, provider *gophercloud.ProviderClient, eo gophercloud.EndpointOpts) error {
	var err error
	a.Placement, err = openstack.NewPlacementV1(provider, eo)
	return err
}

// PlacementCores reads, over every resource provider, the VCPUs the cloud holds
// ((total − reserved) × allocation ratio) and the VCPUs allocations use.
func (a *Admin) PlacementCores(ctx context.Context) (capacity, allocated int64, err error) {
	pages, err := resourceproviders.List(a.Placement, nil).AllPages(ctx)
	if err != nil {
		return 0, 0, err
	}
	providers, err := resourceproviders.ExtractResourceProviders(pages)
	if err != nil {
		return 0, 0, err
	}
	for _, rp := range providers {
		inv, err := resourceproviders.GetInventories(ctx, a.Placement, rp.UUID).Extract()
		if err != nil {
			return 0, 0, err
		}
		if v, ok := inv.Inventories["VCPU"]; ok {
			capacity += int64(math.Floor(float64(v.Total-v.Reserved) * float64(v.AllocationRatio)))
		}
		used, err := resourceproviders.GetUsages(ctx, a.Placement, rp.UUID).Extract()
		if err != nil {
			return 0, 0, err
		}
		allocated += int64(used.Usages["VCPU"])
	}
	return capacity, allocated, nil
}
