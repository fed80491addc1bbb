package openstack

import (
	"context"
	"fmt"

	"github.com/gophercloud/gophercloud/v2/openstack/blockstorage/v3/volumes"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Contents is what a project still holds that is a department's data: servers, volumes
// and ports, each as "name (id)".
type Contents struct {
	Servers []string
	Volumes []string
	Ports   []string
}

// IsEmpty reports whether the project holds none of them.
func (c Contents) IsEmpty() bool {
	return len(c.Servers) == 0 && len(c.Volumes) == 0 && len(c.Ports) == 0
}

// ProjectContents reads what a project holds before it is deleted.
type ProjectContents interface {
	// ProjectContents lists the project's servers, volumes and ports, skipping ports of
	// the devices in ownDevices (the operator's own routers). One list call per service.
	ProjectContents(ctx context.Context, projectID string, ownDevices map[string]bool) (Contents, error)
	// DeleteSecurityGroups deletes the project's security groups, including the default
	// one Neutron makes by itself, which would otherwise outlive the project. Call it
	// only once the project holds no ports.
	DeleteSecurityGroups(ctx context.Context, projectID string) error
}

var _ ProjectContents = (*Cloud)(nil)

// ProjectContents implements ProjectContents.
func (c *Cloud) ProjectContents(ctx context.Context, projectID string, ownDevices map[string]bool) (Contents, error) {
	var out Contents
	compute, err := c.service("compute")
	if err != nil {
		return out, err
	}
	pages, err := servers.List(compute, servers.ListOpts{AllTenants: true, TenantID: projectID}).AllPages(ctx)
	if err != nil {
		return out, fmt.Errorf("listing servers: %w", err)
	}
	serverList, err := servers.ExtractServers(pages)
	if err != nil {
		return out, err
	}
	for _, s := range serverList {
		out.Servers = append(out.Servers, label(s.Name, s.ID))
	}

	volumeClient, err := c.service("block-storage")
	if err != nil {
		return out, err
	}
	pages, err = volumes.List(volumeClient, volumes.ListOpts{AllTenants: true, TenantID: projectID}).AllPages(ctx)
	if err != nil {
		return out, fmt.Errorf("listing volumes: %w", err)
	}
	volumeList, err := volumes.ExtractVolumes(pages)
	if err != nil {
		return out, err
	}
	for _, v := range volumeList {
		out.Volumes = append(out.Volumes, label(v.Name, v.ID))
	}

	network, err := c.service("network")
	if err != nil {
		return out, err
	}
	pages, err = ports.List(network, ports.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return out, fmt.Errorf("listing ports: %w", err)
	}
	portList, err := ports.ExtractPorts(pages)
	if err != nil {
		return out, err
	}
	for _, p := range portList {
		if !ownDevices[p.DeviceID] {
			out.Ports = append(out.Ports, label(p.Name, p.ID))
		}
	}
	return out, nil
}

// DeleteSecurityGroups implements ProjectContents.
func (c *Cloud) DeleteSecurityGroups(ctx context.Context, projectID string) error {
	network, err := c.service("network")
	if err != nil {
		return err
	}
	pages, err := groups.List(network, groups.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing security groups: %w", err)
	}
	list, err := groups.ExtractGroups(pages)
	if err != nil {
		return err
	}
	for _, g := range list {
		if err := groups.Delete(ctx, network, g.ID).ExtractErr(); err != nil && !IsNotFound(err) {
			return fmt.Errorf("deleting security group %s: %w", g.ID, err)
		}
	}
	return nil
}

func label(name, id string) string {
	if name == "" {
		return id
	}
	return fmt.Sprintf("%s (%s)", name, id)
}
