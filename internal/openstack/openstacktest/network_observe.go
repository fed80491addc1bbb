package openstacktest

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ openstack.NetworkObserver = (*Cloud)(nil)

// repairBundle brings an existing bundle's DNS servers and gateway to the spec, as the
// real EnsureNetworkBundle does, and logs each change. A router just made gets its
// gateway silently: CreateNetwork said so. Callers hold c.mu.
func (c *Cloud) repairBundle(b *fakeBundle, spec openstack.NetworkBundleSpec, gateway string) {
	if !sameDNS(b.dns, spec.DNSNameservers) {
		b.dns = slices.Clone(spec.DNSNameservers)
		c.logWrite(spec.ProjectID, "UpdateSubnet dnsNameservers=%s", strings.Join(spec.DNSNameservers, ","))
	}
	if b.gateway != "" && b.gateway != gateway {
		c.logWrite(spec.ProjectID, "UpdateRouter gateway=%s", cmp.Or(strings.TrimPrefix(gateway, "net-"), "none"))
	}
	b.gateway = gateway
	b.spec = spec
}

// ObserveNetworkBundle implements openstack.NetworkObserver: the bundle of the spec's
// name, judged as EnsureNetworkBundle would (another Tenant's, or one made by hand with
// another CIDR, is a conflict), without changing anything. External network names
// resolve to "net-<name>".
func (c *Cloud) ObserveNetworkBundle(_ context.Context, spec openstack.NetworkBundleSpec, _ openstack.NetworkBundle) (openstack.ObservedNetwork, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ObserveNetworkBundle", spec.ProjectID); err != nil {
		return openstack.ObservedNetwork{}, err
	}
	if why, ok := c.unusableExternal[spec.ExternalNetwork]; ok && spec.ExternalNetwork != "" {
		return openstack.ObservedNetwork{}, &openstack.NameError{Kind: "external network", Name: spec.ExternalNetwork, Why: why}
	}
	b := c.bundles[spec.ProjectID+"/"+spec.Name]
	if b == nil {
		return openstack.ObservedNetwork{}, nil
	}
	out := openstack.ObservedNetwork{NetworkID: b.NetworkID, SubnetID: b.SubnetID, RouterID: b.RouterID, CIDR: b.cidr,
		DNSNameservers: slices.Clone(b.dns), Gateway: b.gateway, GatewayName: strings.TrimPrefix(b.gateway, "net-"),
		Attached: b.RouterID != ""}
	if spec.ExternalNetwork != "" {
		out.External = "net-" + spec.ExternalNetwork
	}
	switch {
	case b.owner != "" && b.owner != spec.Owner && b.owner != spec.FormerOwner:
		out = openstack.ObservedNetwork{Conflict: &openstack.NetworkConflictError{Kind: "network", ID: b.NetworkID, Why: "it was made for another Tenant"}}
	case b.owner == "" && spec.CIDR != "" && b.cidr != spec.CIDR:
		out = openstack.ObservedNetwork{CIDR: b.cidr, Conflict: &openstack.NetworkConflictError{Kind: "network", ID: b.NetworkID,
			Why: fmt.Sprintf("its subnets are %s, not %s", b.cidr, spec.CIDR)}}
	case b.owner == "":
		out.Adopted = slices.Clone(b.Adopted)
	}
	return out, nil
}

// SetNetworkDirectly edits a bundle's subnet DNS servers and router gateway (an external
// network's name, "" for none) as a person would, without logging a write. A gateway
// on a bundle without a router gives it one, as a person adding a router would.
func (c *Cloud) SetNetworkDirectly(projectID, name string, dns []string, gateway string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.bundles[projectID+"/"+name]
	if b == nil {
		return
	}
	b.dns = slices.Clone(dns)
	b.gateway = ""
	if gateway != "" {
		b.gateway = "net-" + gateway
		if b.RouterID == "" {
			b.RouterID = c.newID("router")
			if b.owner == "" {
				b.Adopted = append(b.Adopted, "router")
			}
		}
	}
}

// sameDNS compares DNS server lists as Neutron's repair does: in order, none equal to empty.
func sameDNS(a, b []string) bool { return slices.Equal(a, b) || (len(a) == 0 && len(b) == 0) }
