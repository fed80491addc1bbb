package openstack

import (
	"context"
	"fmt"
	"regexp"
	"sort"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servergroups"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
)

// Server is a Nova server as the operator sees it.
type Server struct {
	ID        string
	Name      string
	Status    string // BUILD, ACTIVE, ERROR, …
	Addresses []string
	Metadata  map[string]string
	// Fault is Nova's fault message of a server in ERROR: GetServer reads it; a listing
	// may leave it out.
	Fault string
}

// ServerGroup is a Nova server group.
type ServerGroup struct {
	ID     string
	Name   string
	Policy string
}

// ServerCreate describes a server to boot.
type ServerCreate struct {
	Name             string
	FlavorID         string
	ImageID          string
	NetworkIDs       []string // none: no network
	SecurityGroups   []string
	KeyName          string
	UserData         []byte
	Metadata         map[string]string
	AvailabilityZone string
	ServerGroupID    string
}

// Servers manages the servers of one project. The cloud must be scoped to the project
// (see Factory.ProjectCloud): Nova creates servers in the token's project.
type Servers interface {
	// ListServers returns the project's servers whose name matches pattern (a regular
	// expression Nova applies on the server side), in one call. A server of another
	// project in Nova's answer is left out (and logged): what is listed may be deleted.
	ListServers(ctx context.Context, pattern string) ([]Server, error)
	// GetServer returns one server with its fault, or an error wrapping ErrNotFound.
	GetServer(ctx context.Context, id string) (*Server, error)
	CreateServer(ctx context.Context, opts ServerCreate) (*Server, error)
	// DeleteServer deletes a server; one already gone is not an error.
	DeleteServer(ctx context.Context, id string) error
	FlavorID(ctx context.Context, nameOrID string) (string, error)
	// ImageID resolves an image the project may boot from (see ImageScope); a name
	// several such images have, or an ID of one it may not use, is a *NameError.
	ImageID(ctx context.Context, nameOrID string, scope ImageScope) (string, error)
	// NetworkID resolves a network of the project's own or shared with it, by name or
	// ID; a name several have, or another project's network, is a *NameError.
	NetworkID(ctx context.Context, nameOrID string) (string, error)
	// EnsureServerGroup returns the project's server group: known if it still exists,
	// else the one named name, else a new one with policy. The caller checks the policy
	// of a group it did not just make.
	EnsureServerGroup(ctx context.Context, name, policy, known string) (ServerGroup, error)
	DeleteServerGroup(ctx context.Context, id string) error
}

var _ Servers = (*Cloud)(nil)

// ListServers implements Servers.
func (c *Cloud) ListServers(ctx context.Context, pattern string) (_ []Server, err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return nil, err
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	project, err := c.projectID()
	if err != nil {
		return nil, err
	}
	pages, err := servers.List(sc, servers.ListOpts{Name: pattern}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing servers: %w", err)
	}
	list, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	out := make([]Server, 0, len(list))
	for _, s := range list {
		// Nova matches the pattern anywhere in the name; hold it to the whole name.
		if re.MatchString(s.Name) && !foreign(ctx, "server", s.ID, s.TenantID, project) {
			out = append(out, toServer(&s))
		}
	}
	return out, nil
}

// GetServer implements Servers.
func (c *Cloud) GetServer(ctx context.Context, id string) (_ *Server, err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return nil, err
	}
	s, err := servers.Get(ctx, sc, id).Extract()
	if err != nil {
		return nil, fmt.Errorf("reading server %s: %w", id, err)
	}
	out := toServer(s)
	return &out, nil
}

func toServer(s *servers.Server) Server {
	out := Server{ID: s.ID, Name: s.Name, Status: s.Status, Metadata: s.Metadata, Fault: s.Fault.Message}
	for _, network := range s.Addresses {
		entries, _ := network.([]any)
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				if addr, ok := m["addr"].(string); ok {
					out.Addresses = append(out.Addresses, addr)
				}
			}
		}
	}
	sort.Strings(out.Addresses)
	return out
}

// CreateServer implements Servers.
func (c *Cloud) CreateServer(ctx context.Context, o ServerCreate) (_ *Server, err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return nil, err
	}
	var nets any = "none"
	if len(o.NetworkIDs) > 0 {
		list := make([]servers.Network, 0, len(o.NetworkIDs))
		for _, id := range o.NetworkIDs {
			list = append(list, servers.Network{UUID: id})
		}
		nets = list
	}
	opts := servers.CreateOpts{
		Name: o.Name, FlavorRef: o.FlavorID, ImageRef: o.ImageID, Networks: nets,
		SecurityGroups: o.SecurityGroups, UserData: o.UserData, Metadata: o.Metadata,
		AvailabilityZone: o.AvailabilityZone,
	}
	var hints servers.SchedulerHintOptsBuilder
	if o.ServerGroupID != "" {
		hints = servers.SchedulerHintOpts{Group: o.ServerGroupID}
	}
	s, err := servers.Create(ctx, sc, keyNameOpts{opts, o.KeyName}, hints).Extract()
	if err != nil {
		return nil, err
	}
	out := toServer(s)
	out.Name = o.Name
	if out.Status == "" {
		out.Status = "BUILD"
	}
	return &out, nil
}

// keyNameOpts adds a key pair to the create request.
type keyNameOpts struct {
	servers.CreateOpts
	keyName string
}

func (o keyNameOpts) ToServerCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToServerCreateMap()
	if err != nil || o.keyName == "" {
		return b, err
	}
	b["server"].(map[string]any)["key_name"] = o.keyName
	return b, nil
}

// DeleteServer implements Servers.
func (c *Cloud) DeleteServer(ctx context.Context, id string) (err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return err
	}
	if err := servers.Delete(ctx, sc, id).ExtractErr(); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting server %s: %w", id, err)
	}
	return nil
}

// FlavorID implements Servers.
func (c *Cloud) FlavorID(ctx context.Context, nameOrID string) (_ string, err error) {
	defer c.convert(&err)
	return c.names.resolve("flavor/"+nameOrID, func() (string, error) {
		sc, err := c.service("compute")
		if err != nil {
			return "", err
		}
		pages, err := flavors.ListDetail(sc, flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
		if err != nil {
			return "", err
		}
		list, err := flavors.ExtractFlavors(pages)
		if err != nil {
			return "", err
		}
		for _, f := range list {
			if f.ID == nameOrID || f.Name == nameOrID {
				return f.ID, nil
			}
		}
		return "", fmt.Errorf("%w: flavor %q", ErrNotFound, nameOrID)
	})
}

// ImageID implements Servers. The answer is cached per scope, in this project's cloud.
func (c *Cloud) ImageID(ctx context.Context, nameOrID string, scope ImageScope) (_ string, err error) {
	defer c.convert(&err)
	return c.names.resolve(fmt.Sprintf("image/%d/%s", scope, nameOrID), func() (string, error) {
		return c.resolveImage(ctx, nameOrID, scope)
	})
}

// NetworkID implements Servers. The answer is cached in this project's cloud.
func (c *Cloud) NetworkID(ctx context.Context, nameOrID string) (_ string, err error) {
	defer c.convert(&err)
	return c.names.resolve("network/"+nameOrID, func() (string, error) {
		return c.resolveNetwork(ctx, nameOrID)
	})
}

// EnsureServerGroup implements Servers.
func (c *Cloud) EnsureServerGroup(ctx context.Context, name, policy, known string) (_ ServerGroup, err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return ServerGroup{}, err
	}
	if known != "" {
		g, err := servergroups.Get(ctx, sc, known).Extract()
		if err == nil {
			return toServerGroup(g), nil
		}
		if !IsNotFound(err) {
			return ServerGroup{}, err
		}
	}
	project, err := c.projectID()
	if err != nil {
		return ServerGroup{}, err
	}
	pages, err := servergroups.List(sc, servergroups.ListOpts{}).AllPages(ctx)
	if err != nil {
		return ServerGroup{}, err
	}
	list, err := servergroups.ExtractServerGroups(pages)
	if err != nil {
		return ServerGroup{}, err
	}
	for i := range list {
		// Its ID is recorded, and deleted with the environment: only the project's own.
		if list[i].Name == name && !foreign(ctx, "server group", list[i].ID, list[i].ProjectID, project) {
			return toServerGroup(&list[i]), nil
		}
	}
	g, err := servergroups.Create(ctx, sc, servergroups.CreateOpts{Name: name, Policies: []string{policy}}).Extract()
	if err != nil {
		return ServerGroup{}, fmt.Errorf("creating server group: %w", err)
	}
	return toServerGroup(g), nil
}

// toServerGroup reads the policy as any microversion reports it.
func toServerGroup(g *servergroups.ServerGroup) ServerGroup {
	out := ServerGroup{ID: g.ID, Name: g.Name}
	switch {
	case g.Policy != nil:
		out.Policy = *g.Policy
	case len(g.Policies) > 0:
		out.Policy = g.Policies[0]
	}
	return out
}

// DeleteServerGroup implements Servers.
func (c *Cloud) DeleteServerGroup(ctx context.Context, id string) (err error) {
	defer c.convert(&err)
	sc, err := c.service("compute")
	if err != nil {
		return err
	}
	if err := servergroups.Delete(ctx, sc, id).ExtractErr(); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting server group %s: %w", id, err)
	}
	return nil
}
