package cloudtest

import (
	"context"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
)

// CreateFlavor makes a public flavor (or returns the one with that name) and returns its
// ID. A root disk larger than any host makes a flavor no host can take, whatever the
// project's quota (Nova has no disk quota).
func (a *Admin) CreateFlavor(ctx context.Context, name string, vcpus, ramMiB, diskGB int) (string, error) {
	pages, err := flavors.ListDetail(a.Compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return "", err
	}
	for _, f := range list {
		if f.Name == name {
			return f.ID, nil
		}
	}
	public := true
	f, err := flavors.Create(ctx, a.Compute, flavors.CreateOpts{Name: name, VCPUs: vcpus, RAM: ramMiB, Disk: gophercloud.IntToPointer(diskGB), IsPublic: &public}).Extract()
	if err != nil {
		return "", err
	}
	return f.ID, nil
}

// DeleteFlavor deletes a flavor; one already gone is not an error.
func (a *Admin) DeleteFlavor(ctx context.Context, id string) error {
	err := flavors.Delete(ctx, a.Compute, id).ExtractErr()
	if gophercloud.ResponseCodeIs(err, 404) {
		return nil
	}
	return err
}
