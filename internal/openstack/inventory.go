package openstack

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/config/clouds"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/roles"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The inventory is what `kubectl whitehall adopt` reads of a cloud to write Tenants and
// ComputeQuotas for the projects already there: read-mostly, with the platform team's
// own clouds.yaml, never the operator's Secret. Its one write adds a handover tag.

// NamedAssignment is one direct role assignment on a project, by name: a role of a user
// or of a group, with the principal's domain name.
type NamedAssignment struct {
	Role string
	// User and UserDomain, or Group and GroupDomain, name the principal.
	User, UserDomain   string
	Group, GroupDomain string
}

// FoundBundle is a project's network shaped as a Tenant's bundle: a network and a subnet
// named like the project (or the network's only subnet), and optionally a router named
// so with its gateway on an external network and an interface on the subnet.
type FoundBundle struct {
	CIDR           string
	DNSNameservers []string
	// ExternalNetwork is the gateway's network: its name when the name finds it for the
	// project, else its ID; "" without a router.
	ExternalNetwork string
}

// Inventory reads a cloud's projects as they are, and hands them over.
type Inventory interface {
	DomainID(ctx context.Context, nameOrID string) (string, error)
	// AdminProjectID is the project the login is scoped to: the platform team's own.
	AdminProjectID(ctx context.Context) (string, error)
	// ListProjects lists the projects of a domain, with tags and owner records.
	ListProjects(ctx context.Context, domainID string) ([]Project, error)
	// ListNamedAssignments lists the direct role assignments on a project, by name.
	ListNamedAssignments(ctx context.Context, projectID string) ([]NamedAssignment, error)
	GetQuota(ctx context.Context, service quota.Service, projectID string) (QuotaReading, error)
	// FindNetworkBundle returns the project's bundle named name; nil, and why, when the
	// project has none or its network is not shaped as a Tenant's bundle.
	FindNetworkBundle(ctx context.Context, projectID, name string) (*FoundBundle, string, error)
	// AddProjectTag adds one tag to a project, leaving the others as they are.
	AddProjectTag(ctx context.Context, projectID, tag string) error
}

var _ Inventory = (*Cloud)(nil)

// OpenCloud logs in to a cloud of the user's clouds.yaml as openstackclient would: the
// file OS_CLIENT_CONFIG_FILE names, else ./clouds.yaml, ~/.config/openstack/clouds.yaml
// or /etc/openstack/clouds.yaml; the cloud named (empty: OS_CLOUD). Errors never quote
// the file.
func OpenCloud(ctx context.Context, cloudName string, timeout time.Duration) (*Cloud, error) {
	var opts []clouds.ParseOption
	if cloudName != "" {
		opts = append(opts, clouds.WithCloudName(cloudName))
	}
	authOpts, endpointOpts, tlsConfig, err := clouds.Parse(opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrCredentials, parseProblem(err))
	}
	authOpts.AllowReauth = authOpts.TokenID == ""
	transport := http.DefaultTransport
	if tlsConfig != nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.TLSClientConfig = tlsConfig
		transport = t
	}
	name := cloudName
	if name == "" {
		name = "(OS_CLOUD)"
	}
	l := &login{opts: authOpts, endpoints: endpointOpts, client: http.Client{Transport: transport, Timeout: timeout},
		cloudName: name, subject: fmt.Sprintf("cloud %q", name)}
	return l.cloud(ctx)
}

// AdminProjectID implements Inventory.
func (c *Cloud) AdminProjectID(context.Context) (string, error) { return c.projectID() }

// ListProjects implements Inventory.
func (c *Cloud) ListProjects(ctx context.Context, domainID string) (_ []Project, err error) {
	defer c.convert(&err)
	pages, err := projects.List(c.identity, projects.ListOpts{DomainID: domainID}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the projects of domain %s: %w", domainID, err)
	}
	list, err := projects.ExtractProjects(pages)
	if err != nil {
		return nil, err
	}
	out := make([]Project, 0, len(list))
	for i := range list {
		if list[i].DomainID == domainID && !list[i].IsDomain {
			out = append(out, *toProject(&list[i]))
		}
	}
	return out, nil
}

// ListNamedAssignments implements Inventory.
func (c *Cloud) ListNamedAssignments(ctx context.Context, projectID string) (_ []NamedAssignment, err error) {
	defer c.convert(&err)
	pages, err := roles.ListAssignments(c.identity, roles.ListAssignmentsOpts{
		ScopeProjectID: projectID, IncludeNames: gophercloud.Enabled,
	}).AllPages(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing the role assignments of project %s: %w", projectID, err)
	}
	list, err := roles.ExtractRoleAssignments(pages)
	if err != nil {
		return nil, err
	}
	out := make([]NamedAssignment, 0, len(list))
	for _, a := range list {
		if a.Scope.Project.ID != projectID {
			continue // held client-side too: only this project's own
		}
		out = append(out, NamedAssignment{Role: a.Role.Name,
			User: a.User.Name, UserDomain: a.User.Domain.Name, Group: a.Group.Name, GroupDomain: a.Group.Domain.Name})
	}
	return out, nil
}

// FindNetworkBundle implements Inventory: the network by the name, its subnet, and the
// router by the name, read as Observe reads a Tenant's bundle, with no spec to hold
// them to.
func (c *Cloud) FindNetworkBundle(ctx context.Context, projectID, name string) (_ *FoundBundle, why string, err error) {
	defer c.convert(&err)
	sc, err := c.service("network")
	if err != nil {
		return nil, "", err
	}
	seen, err := c.observe(ctx, &observation{ctx: ctx, sc: sc, spec: NetworkBundleSpec{ProjectID: projectID, Name: name}, shape: true})
	switch {
	case err != nil:
		return nil, "", err
	case seen.Conflict != nil:
		return nil, fmt.Sprintf("network %s: %s", name, seen.Conflict.Why), nil
	case seen.NetworkID == "":
		return nil, "", nil
	case seen.SubnetID == "":
		return nil, fmt.Sprintf("network %s has no subnet named %s and not exactly one subnet", name, name), nil
	case seen.RouterID == "" || seen.Gateway == "":
		return &FoundBundle{CIDR: seen.CIDR, DNSNameservers: seen.DNSNameservers}, "", nil
	case !seen.Attached:
		return nil, fmt.Sprintf("router %s has no interface on the subnet of network %s", name, name), nil
	}
	external := seen.Gateway
	if seen.GatewayName != "" {
		// The name, if it finds this network for the project; an ambiguous name would not.
		if id, err := c.externalNetworkID(ctx, sc, projectID, seen.GatewayName); err == nil && id == seen.Gateway {
			external = seen.GatewayName
		}
	}
	return &FoundBundle{CIDR: seen.CIDR, DNSNameservers: seen.DNSNameservers, ExternalNetwork: external}, "", nil
}

// AddProjectTag implements Inventory: one PUT of the tag, so no other tag is rewritten.
func (c *Cloud) AddProjectTag(ctx context.Context, projectID, tag string) (err error) {
	defer c.convert(&err)
	u := c.identity.ServiceURL("projects", url.PathEscape(projectID), "tags", url.PathEscape(tag))
	if _, err := c.identity.Put(ctx, u, nil, nil, &gophercloud.RequestOpts{OkCodes: []int{201, 204}}); err != nil {
		return fmt.Errorf("tagging project %s: %w", projectID, err)
	}
	return nil
}
