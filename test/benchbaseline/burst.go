package benchbaseline

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	computequotas "github.com/gophercloud/gophercloud/v2/openstack/compute/v2/quotasets"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	networkquotas "github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/quotas"
	secgroups "github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/security/groups"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// BurstLimits are the quota a burst project gets before it boots.
type BurstLimits struct {
	Instances, Cores, RAMMiB, Ports int
}

// Burst is a project ready to boot servers into: a network with a subnet, quota raised,
// and a session scoped to it (Nova creates servers in the token's project).
type Burst struct {
	ProjectID string
	NetworkID string
	scoped    *Client
}

// PrepareBurst makes the project a plain program would boot into: the project (tagged),
// the member role for the session's own user on it, a network and subnet with cidr,
// raised quota, and a session scoped to the project. None of it is part of the timed
// boot.
func (c *Client) PrepareBurst(ctx context.Context, name, cidr string, limits BurstLimits) (*Burst, error) {
	p, err := projects.Create(ctx, c.identity, projects.CreateOpts{Name: name, DomainID: "default", Tags: []string{Tag}}).Extract()
	if err != nil {
		return nil, fmt.Errorf("creating project %s: %w", name, err)
	}
	b := &Burst{ProjectID: p.ID}
	userID, err := c.UserID(ctx)
	if err != nil {
		return b, err
	}
	memberID, err := c.RoleID(ctx, "member")
	if err != nil {
		return b, err
	}
	if err := roles.Assign(ctx, c.identity, memberID, roles.AssignOpts{UserID: userID, ProjectID: p.ID}).ExtractErr(); err != nil {
		return b, fmt.Errorf("giving the user a role on %s: %w", name, err)
	}
	if err := computequotas.Update(ctx, c.compute, p.ID, computequotas.UpdateOpts{
		Instances: &limits.Instances, Cores: &limits.Cores, RAM: &limits.RAMMiB,
	}).Err; err != nil {
		return b, fmt.Errorf("compute quota: %w", err)
	}
	if err := networkquotas.Update(ctx, c.network, p.ID, networkquotas.UpdateOpts{Port: &limits.Ports}).Err; err != nil {
		return b, fmt.Errorf("network quota: %w", err)
	}
	n, err := networks.Create(ctx, c.network, networks.CreateOpts{Name: name, ProjectID: p.ID}).Extract()
	if err != nil {
		return b, fmt.Errorf("creating network: %w", err)
	}
	b.NetworkID = n.ID
	if _, err := subnets.Create(ctx, c.network, subnets.CreateOpts{
		NetworkID: n.ID, CIDR: cidr, IPVersion: gophercloud.IPv4, Name: name, ProjectID: p.ID,
	}).Extract(); err != nil {
		return b, fmt.Errorf("creating subnet: %w", err)
	}
	scoped := &Client{Stats: c.Stats, opts: c.opts, endpoints: c.endpoints, transport: c.transport, agent: c.agent}
	if err := scoped.login(ctx, &gophercloud.AuthScope{ProjectID: p.ID}); err != nil {
		return b, err
	}
	b.scoped = scoped
	return b, nil
}

// Boot creates n servers named <prefix>-<i> on the burst network, workers creates at a
// time, as the operator does (it resolves the flavor and image by name first). It
// returns once every create has been accepted; servers go ACTIVE afterwards.
func (b *Burst) Boot(ctx context.Context, n, workers int, prefix, flavor, image string) error {
	c := b.scoped
	flavorID, err := c.flavorID(ctx, flavor)
	if err != nil {
		return err
	}
	imageID, err := c.imageID(ctx, image)
	if err != nil {
		return err
	}
	return forEach(ctx, n, workers, func(ctx context.Context, i int) error {
		_, err := servers.Create(ctx, c.compute, servers.CreateOpts{
			Name: fmt.Sprintf("%s-%d", prefix, i), FlavorRef: flavorID, ImageRef: imageID,
			Networks: []servers.Network{{UUID: b.NetworkID}},
		}, nil).Extract()
		return err
	})
}

func (c *Client) flavorID(ctx context.Context, name string) (string, error) {
	pages, err := flavors.ListDetail(c.compute, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := flavors.ExtractFlavors(pages)
	if err != nil {
		return "", err
	}
	for _, f := range list {
		if f.Name == name || f.ID == name {
			return f.ID, nil
		}
	}
	return "", fmt.Errorf("flavor %q not found", name)
}

func (c *Client) imageID(ctx context.Context, name string) (string, error) {
	pages, err := images.List(c.image, images.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return "", err
	}
	list, err := images.ExtractImages(pages)
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", fmt.Errorf("image %q not found", name)
	}
	return list[0].ID, nil
}

// ServerStatuses returns name → status of a project's servers whose names start with
// prefix, as an admin sees them: one call.
func (c *Client) ServerStatuses(ctx context.Context, projectID, prefix string) (map[string]string, error) {
	pages, err := servers.List(c.compute, servers.ListOpts{AllTenants: true, TenantID: projectID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range list {
		if strings.HasPrefix(s.Name, prefix) {
			out[s.Name] = s.Status
		}
	}
	return out, nil
}

// PurgeProject deletes a project and what a benchmark may have left in it.
func (c *Client) PurgeProject(ctx context.Context, projectID string) error {
	if err := c.PurgeContents(ctx, projectID); err != nil {
		return err
	}
	return c.DeleteProject(ctx, projectID)
}

// PurgeContents deletes what a benchmark may have left in a project: servers (waiting
// until Nova has let them go), ports, subnets, networks and security groups.
func (c *Client) PurgeContents(ctx context.Context, projectID string) error {
	if err := c.deleteServers(ctx, projectID); err != nil {
		return err
	}
	return c.deleteNetworking(ctx, projectID)
}

func (c *Client) deleteServers(ctx context.Context, projectID string) error {
	deadline := time.Now().Add(5 * time.Minute)
	asked := map[string]bool{}
	for {
		pages, err := servers.List(c.compute, servers.ListOpts{AllTenants: true, TenantID: projectID}).AllPages(ctx)
		if err != nil {
			return err
		}
		list, err := servers.ExtractServers(pages)
		if err != nil {
			return err
		}
		if len(list) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d servers of project %s still there after 5 minutes", len(list), projectID)
		}
		err = forEach(ctx, len(list), 10, func(ctx context.Context, i int) error {
			s := list[i]
			if asked[s.ID] && s.Status != "ERROR" {
				return nil
			}
			err := servers.Delete(ctx, c.compute, s.ID).ExtractErr()
			if gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
				return nil
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, s := range list {
			asked[s.ID] = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

func (c *Client) deleteNetworking(ctx context.Context, projectID string) error {
	var errs []error
	ignore404 := func(err error) {
		if err != nil && !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
			errs = append(errs, err)
		}
	}
	if pages, err := ports.List(c.network, ports.ListOpts{ProjectID: projectID}).AllPages(ctx); err == nil {
		list, _ := ports.ExtractPorts(pages)
		for _, p := range list {
			if strings.HasPrefix(p.DeviceOwner, "network:router") {
				continue // goes with its router
			}
			ignore404(ports.Delete(ctx, c.network, p.ID).ExtractErr())
		}
	} else {
		errs = append(errs, err)
	}
	if pages, err := subnets.List(c.network, subnets.ListOpts{ProjectID: projectID}).AllPages(ctx); err == nil {
		list, _ := subnets.ExtractSubnets(pages)
		for _, s := range list {
			ignore404(subnets.Delete(ctx, c.network, s.ID).ExtractErr())
		}
	} else {
		errs = append(errs, err)
	}
	if pages, err := networks.List(c.network, networks.ListOpts{ProjectID: projectID}).AllPages(ctx); err == nil {
		list, _ := networks.ExtractNetworks(pages)
		for _, n := range list {
			ignore404(networks.Delete(ctx, c.network, n.ID).ExtractErr())
		}
	} else {
		errs = append(errs, err)
	}
	if pages, err := secgroups.List(c.network, secgroups.ListOpts{ProjectID: projectID}).AllPages(ctx); err == nil {
		list, _ := secgroups.ExtractGroups(pages)
		for _, g := range list {
			ignore404(secgroups.Delete(ctx, c.network, g.ID).ExtractErr())
		}
	} else {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
