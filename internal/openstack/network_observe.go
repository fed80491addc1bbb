package openstack

import (
	"context"
	"errors"
	"slices"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// ObservedNetwork is a project's network bundle as Neutron holds it, found the way
// EnsureNetworkBundle finds it (the IDs status knows, else by the bundle's name in the
// project, the owner's mark first) and judged by the same rules, without writing.
type ObservedNetwork struct {
	// NetworkID, SubnetID and RouterID of the pieces found; "" for a piece missing.
	NetworkID, SubnetID, RouterID string
	// CIDR and DNSNameservers of the subnet found.
	CIDR           string
	DNSNameservers []string
	// Gateway is the ID of the network the router's gateway is on ("" for none), and
	// GatewayName its name when it could be read.
	Gateway, GatewayName string
	// External is the ID the spec's external network resolves to ("" without one).
	External string
	// Attached: the router has an interface on the subnet.
	Attached bool
	// Unmarked names the pieces status records that carry no owner mark: Manage marks
	// them (made before pieces were marked).
	Unmarked []string
	// Adopted names the pieces that are a department's exact match: Manage uses them as
	// they are and never deletes them.
	Adopted []string
	// Conflict is why Manage would refuse a piece (NetworkConflict); nil when it would not.
	Conflict *NetworkConflictError
}

// NetworkObserver reads a network bundle without changing anything: Observe's view of
// what EnsureNetworkBundle would do.
type NetworkObserver interface {
	// ObserveNetworkBundle finds the bundle spec describes. A spec without CIDR (a block
	// of a pool not yet allocated) checks no subnet's range. It writes nothing.
	ObserveNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (ObservedNetwork, error)
}

var _ NetworkObserver = (*Cloud)(nil)

// ObserveNetworkBundle implements NetworkObserver.
func (c *Cloud) ObserveNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (_ ObservedNetwork, err error) {
	defer c.convert(&err)
	sc, err := c.service("network")
	if err != nil {
		return ObservedNetwork{}, err
	}
	return c.observe(ctx, &observation{ctx: ctx, sc: sc, spec: spec, known: known})
}

// observe reads the bundle's pieces in EnsureNetworkBundle's order.
func (c *Cloud) observe(ctx context.Context, o *observation) (_ ObservedNetwork, err error) {
	spec := o.spec
	if err := o.network(); err != nil || o.out.NetworkID == "" || o.out.Conflict != nil {
		return o.out, err
	}
	if err := o.subnet(); err != nil || o.out.Conflict != nil {
		return o.out, err
	}
	if spec.ExternalNetwork != "" {
		if o.out.External, err = c.externalNetworkID(ctx, o.sc, spec.ProjectID, spec.ExternalNetwork); err != nil {
			return o.out, err
		}
	}
	if err := o.router(); err != nil {
		return o.out, err
	}
	return o.out, nil
}

// observation is one ObserveNetworkBundle.
type observation struct {
	ctx   context.Context
	sc    *gophercloud.ServiceClient
	spec  NetworkBundleSpec
	known NetworkBundle
	out   ObservedNetwork
	// shape: no spec to hold the bundle to (adopt reads what a project has): the router
	// is looked for by name even without an external network, and a network's only
	// subnet is the bundle's whatever its name.
	shape bool
}

// judged records a piece found as judge decides Manage would take it.
func (o *observation) judged(p piece) (bool, error) {
	v, err := judge(p, o.spec.Owner, o.spec.FormerOwner)
	var conflict *NetworkConflictError
	if errors.As(err, &conflict) {
		o.out.Conflict = conflict
		return false, nil
	}
	switch {
	case err != nil:
		return false, err
	case v == claimOwned:
		o.out.Unmarked = append(o.out.Unmarked, p.kind)
	case v == useAdopted:
		o.out.Adopted = append(o.out.Adopted, p.kind)
	}
	return true, nil
}

// findPiece is the piece status knows, if it is still in the project, else the one the
// list by name holds (the owner's first): how EnsureNetworkBundle finds each piece.
func findPiece[T any](o *observation, knownID string, get func(string) (*T, error), project func(*T) string,
	list func() ([]T, error), description func(T) string) (found *T, known bool, err error) {
	if knownID != "" {
		item, err := get(knownID)
		switch {
		case err == nil && project(item) == o.spec.ProjectID:
			return item, true, nil
		case err != nil && !IsNotFound(err):
			return nil, false, err
		}
	}
	if list == nil {
		return nil, false, nil
	}
	items, err := list()
	if err != nil {
		return nil, false, err
	}
	return preferMarked(items, o.spec.owners(), description), false, nil
}

func (o *observation) network() error {
	found, known, err := findPiece(o, o.known.NetworkID,
		func(id string) (*networks.Network, error) { return networks.Get(o.ctx, o.sc, id).Extract() },
		func(n *networks.Network) string { return n.ProjectID },
		func() ([]networks.Network, error) {
			pages, err := networks.List(o.sc, networks.ListOpts{ProjectID: o.spec.ProjectID, Name: o.spec.Name}).AllPages(o.ctx)
			if err != nil {
				return nil, err
			}
			return networks.ExtractNetworks(pages)
		},
		func(n networks.Network) string { return n.Description })
	if err != nil || found == nil {
		return err
	}
	ok, err := o.judged(piece{kind: "network", id: found.ID, description: found.Description, known: known,
		adoptedBefore: slices.Contains(o.known.Adopted, "network"),
		mismatch:      func() (string, error) { return o.subnetMismatch(found.ID) },
	})
	if ok {
		o.out.NetworkID = found.ID
	}
	return err
}

// subnetMismatch is the network's check: a department's network is the bundle's only if
// it holds a subnet of the spec's range. Without a range there is nothing to check.
func (o *observation) subnetMismatch(networkID string) (string, error) {
	list, err := networkSubnets(o.ctx, o.sc, networkID)
	if err != nil || o.spec.CIDR == "" {
		return "", err
	}
	for _, s := range list {
		if sameCIDR(s.CIDR, o.spec.CIDR) {
			return "", nil
		}
	}
	// The range the network holds, for the drift's actual value.
	if len(list) > 0 {
		o.out.CIDR = list[0].CIDR
	}
	return subnetsMismatch(list, o.spec.CIDR), nil
}

func (o *observation) subnet() error {
	var found *subnets.Subnet
	var known bool
	if id := o.known.SubnetID; id != "" {
		s, err := subnets.Get(o.ctx, o.sc, id).Extract()
		switch {
		case err == nil && s.NetworkID == o.out.NetworkID && s.ProjectID == o.spec.ProjectID:
			found, known = s, true
		case err != nil && !IsNotFound(err):
			return err
		}
	}
	if found == nil {
		list, err := networkSubnets(o.ctx, o.sc, o.out.NetworkID)
		if err != nil {
			return err
		}
		found = bundleSubnet(list, o.spec)
		if found == nil && o.shape && len(list) == 1 {
			found = &list[0]
		}
	}
	if found == nil {
		return nil
	}
	o.out.CIDR = found.CIDR
	ok, err := o.judged(piece{kind: "subnet", id: found.ID, description: found.Description, known: known,
		adoptedBefore: slices.Contains(o.known.Adopted, "subnet"),
		mismatch:      func() (string, error) { return subnetMismatch(found, o.spec.CIDR), nil },
	})
	if ok {
		o.out.SubnetID, o.out.DNSNameservers = found.ID, found.DNSNameservers
	}
	return err
}

// router reads the router: by name when the spec names an external network, else only
// the one status knows (Manage then takes its gateway away, and keeps it).
func (o *observation) router() error {
	var list func() ([]routers.Router, error)
	if o.spec.ExternalNetwork != "" || o.shape {
		list = func() ([]routers.Router, error) {
			pages, err := routers.List(o.sc, routers.ListOpts{ProjectID: o.spec.ProjectID, Name: o.spec.Name}).AllPages(o.ctx)
			if err != nil {
				return nil, err
			}
			return routers.ExtractRouters(pages)
		}
	}
	found, known, err := findPiece(o, o.known.RouterID,
		func(id string) (*routers.Router, error) { return routers.Get(o.ctx, o.sc, id).Extract() },
		func(r *routers.Router) string { return r.ProjectID }, list,
		func(r routers.Router) string { return r.Description })
	if err != nil || found == nil {
		return err
	}
	if o.spec.ExternalNetwork != "" {
		ok, err := o.judged(piece{kind: "router", id: found.ID, description: found.Description, known: known,
			adoptedBefore: slices.Contains(o.known.Adopted, "router"),
			mismatch:      func() (string, error) { return gatewayMismatch(found, o.out.External), nil },
		})
		if err != nil || !ok {
			return err
		}
	}
	o.out.RouterID, o.out.Gateway = found.ID, found.GatewayInfo.NetworkID
	if o.out.Gateway != "" {
		if n, err := networks.Get(o.ctx, o.sc, o.out.Gateway).Extract(); err == nil {
			o.out.GatewayName = n.Name
		}
	}
	if o.out.SubnetID != "" {
		o.out.Attached, err = routerAttached(o.ctx, o.sc, found.ID, o.out.SubnetID)
	}
	return err
}
