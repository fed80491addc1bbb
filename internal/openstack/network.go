package openstack

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/routers"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// OwnerMarkPrefix starts the description the operator gives every network, subnet and
// router it creates: "whitehall.cloud/owner=<Tenant UID>". It tells the operator's own
// pieces from a department's, after a crash lost their IDs and when the Tenant goes.
const OwnerMarkPrefix = "whitehall.cloud/owner="

// OwnerMark is the description of a piece created for the Tenant with this UID.
func OwnerMark(uid string) string { return OwnerMarkPrefix + uid }

// NetworkBundleSpec is a project's ready network: a network, a subnet, and optionally a
// router with its gateway on an external network and an interface on the subnet. Every
// resource is named Name, which is unique in the project the operator owns.
type NetworkBundleSpec struct {
	ProjectID       string
	Name            string
	CIDR            string
	DNSNameservers  []string
	ExternalNetwork string // name or ID; empty: no gateway
	// Owner is the UID of the Tenant; what the bundle creates carries OwnerMark(Owner).
	Owner string
	// FormerOwner is the UID of the Tenant the project was taken back from (the same
	// Tenant in a cluster that is gone), or "": its pieces are the Tenant's, re-marked.
	FormerOwner string
}

// owners are the marks the bundle's own pieces may carry, its owner's first.
func (s NetworkBundleSpec) owners() []string { return []string{s.Owner, s.FormerOwner} }

// NetworkBundle holds the IDs of a bundle's resources.
type NetworkBundle struct {
	NetworkID, SubnetID, RouterID string
	// Adopted names the pieces ("network", "subnet", "router") that existed without the
	// operator's mark and were taken into use because they match the spec exactly: they
	// are a department's, never deleted by the operator.
	Adopted []string
}

// NetworkConflictError says a piece found by the bundle's name is neither the
// operator's nor what the spec asks for; nothing was changed.
type NetworkConflictError struct {
	Kind, ID string
	// Why says how it differs, as "its subnets are 10.9.0.0/24, not 10.20.0.0/24".
	Why string
}

func (e *NetworkConflictError) Error() string {
	return fmt.Sprintf("%s %s has the bundle's name but was not made by this Tenant and does not match the spec (%s); it is left alone",
		e.Kind, e.ID, e.Why)
}

// Networks manages network bundles. Ensure is idempotent: it reuses the resources whose
// IDs it is given once it has checked they are still in the project, or finds them by
// name in the project (after a crash lost the IDs), and creates only what is missing.
type Networks interface {
	// EnsureNetworkBundle returns the bundle's IDs and the kinds of resource it created.
	// A piece found by name that carries another owner's mark, or none and does not match
	// the spec, is a *NetworkConflictError and nothing is changed. With no external
	// network the router, if any, loses its gateway and is kept.
	EnsureNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (NetworkBundle, []string, error)
	// DeleteNetworkBundle removes the routers and networks of the project that the
	// operator made for owner (see Owns); resources already gone are not an error.
	DeleteNetworkBundle(ctx context.Context, projectID string, own Ownership) error
}

var _ Networks = (*Cloud)(nil)

// Ownership says which pieces of a project the operator made for one Tenant: those
// carrying its mark, and those recorded in its status (not adopted) that carry no mark,
// made before pieces were marked.
type Ownership struct {
	Owner string
	// Former is the owner the project was taken back from (see NetworkBundleSpec).
	Former string
	Known  NetworkBundle
}

// Owns reports whether the piece of this kind, ID and description is the operator's.
func (o Ownership) Owns(kind, id, description string) bool {
	if mark, ok := strings.CutPrefix(description, OwnerMarkPrefix); ok {
		return o.Owner != "" && (mark == o.Owner || (o.Former != "" && mark == o.Former))
	}
	if id == "" || slices.Contains(o.Known.Adopted, kind) {
		return false
	}
	switch kind {
	case "network":
		return id == o.Known.NetworkID
	case "subnet":
		return id == o.Known.SubnetID
	case "router":
		return id == o.Known.RouterID
	}
	return false
}

// verdict is what the bundle does with a piece it found.
type verdict int

const (
	useOwned   verdict = iota // marked as this Tenant's
	claimOwned                // recorded in status before pieces were marked: mark it
	useAdopted                // a department's exact match: use it, never delete it
)

// piece is a network, subnet or router the bundle found.
type piece struct {
	kind, id, description string
	// known: its ID came from status (and it is still in the project).
	known bool
	// adoptedBefore: status lists it as adopted.
	adoptedBefore bool
	// mismatch says how it differs from the spec; "" when it matches exactly. Called
	// only for pieces without the operator's mark.
	mismatch func() (string, error)
}

// judge decides whether a piece found in the project may be used, and how. A piece
// marked for the former owner (the same Tenant before its cluster was lost) is claimed.
func judge(p piece, owner, former string) (verdict, error) {
	if mark, ok := strings.CutPrefix(p.description, OwnerMarkPrefix); ok {
		switch mark {
		case owner:
			return useOwned, nil
		case former:
			if former != "" {
				return claimOwned, nil
			}
		}
		// Whose is not said: that would tell one department about another.
		return 0, &NetworkConflictError{Kind: p.kind, ID: p.id, Why: "it was made for another Tenant"}
	}
	if p.known && p.adoptedBefore {
		return useAdopted, nil
	}
	why, err := p.mismatch()
	if err != nil {
		return 0, err
	}
	if why != "" {
		return 0, &NetworkConflictError{Kind: p.kind, ID: p.id, Why: why}
	}
	if p.known {
		return claimOwned, nil
	}
	return useAdopted, nil
}

// bundleRun is one EnsureNetworkBundle: what it found, made and adopted.
type bundleRun struct {
	ctx     context.Context
	sc      *gophercloud.ServiceClient
	spec    NetworkBundleSpec
	known   NetworkBundle
	out     NetworkBundle
	created []string
}

// use applies a verdict and records the piece: a claimed piece gets the mark, an
// adopted one is listed; one in conflict is not recorded.
func (b *bundleRun) use(p piece, update func(mark string) error) error {
	v, err := judge(p, b.spec.Owner, b.spec.FormerOwner)
	var conflict *NetworkConflictError
	if errors.As(err, &conflict) {
		b.record(p.kind, "", false)
	}
	if err != nil {
		return err
	}
	if v == claimOwned {
		if err := update(OwnerMark(b.spec.Owner)); err != nil {
			return fmt.Errorf("marking %s %s as the operator's: %w", p.kind, p.id, err)
		}
	}
	b.record(p.kind, p.id, v == useAdopted)
	return nil
}

// record sets the ID of a piece of the bundle, and whether it is adopted.
func (b *bundleRun) record(kind, id string, adopted bool) {
	switch kind {
	case "network":
		b.out.NetworkID = id
	case "subnet":
		b.out.SubnetID = id
	case "router":
		b.out.RouterID = id
	}
	b.out.Adopted = slices.DeleteFunc(b.out.Adopted, func(k string) bool { return k == kind })
	if adopted {
		b.out.Adopted = append(b.out.Adopted, kind)
	}
}

// EnsureNetworkBundle implements Networks.
func (c *Cloud) EnsureNetworkBundle(ctx context.Context, spec NetworkBundleSpec, known NetworkBundle) (_ NetworkBundle, _ []string, err error) {
	defer c.convert(&err)
	sc, err := c.service("network")
	if err != nil {
		return known, nil, err
	}
	// Until a step confirms or replaces a piece, what status knew stands: a failed call
	// forgets nothing.
	out := known
	out.Adopted = slices.Clone(known.Adopted)
	b := &bundleRun{ctx: ctx, sc: sc, spec: spec, known: known, out: out}
	if err := b.network(); err != nil {
		return b.out, b.created, err
	}
	if err := b.subnet(); err != nil {
		return b.out, b.created, err
	}
	if spec.ExternalNetwork == "" {
		return b.out, b.created, b.dropGateway()
	}
	external, err := c.externalNetworkID(ctx, sc, spec.ProjectID, spec.ExternalNetwork)
	if err != nil {
		return b.out, b.created, err
	}
	if err := b.router(external); err != nil {
		return b.out, b.created, err
	}
	attached, err := routerAttached(ctx, sc, b.out.RouterID, b.out.SubnetID)
	if err != nil || attached {
		return b.out, b.created, err
	}
	if _, err := routers.AddInterface(ctx, sc, b.out.RouterID, routers.AddInterfaceOpts{SubnetID: b.out.SubnetID}).Extract(); err != nil {
		return b.out, b.created, fmt.Errorf("attaching router %s to subnet %s: %w", b.out.RouterID, b.out.SubnetID, err)
	}
	b.created = append(b.created, "router interface")
	return b.out, b.created, nil
}

func (b *bundleRun) network() error {
	var found *networks.Network
	if id := b.known.NetworkID; id != "" {
		n, err := networks.Get(b.ctx, b.sc, id).Extract()
		switch {
		case err == nil && n.ProjectID == b.spec.ProjectID:
			found = n
		case err != nil && !IsNotFound(err):
			return err
		}
		// Gone, or in another project (this one was recreated by hand): stale.
	}
	known := found != nil
	if found == nil {
		pages, err := networks.List(b.sc, networks.ListOpts{ProjectID: b.spec.ProjectID, Name: b.spec.Name}).AllPages(b.ctx)
		if err != nil {
			return err
		}
		list, err := networks.ExtractNetworks(pages)
		if err != nil {
			return err
		}
		found = preferMarked(list, b.spec.owners(), func(n networks.Network) string { return n.Description })
	}
	if found == nil {
		n, err := networks.Create(b.ctx, b.sc, networks.CreateOpts{
			Name: b.spec.Name, ProjectID: b.spec.ProjectID, Description: OwnerMark(b.spec.Owner),
		}).Extract()
		if err != nil {
			return fmt.Errorf("creating network: %w", err)
		}
		b.record("network", n.ID, false)
		b.created = append(b.created, "network")
		return nil
	}
	err := b.use(piece{
		kind: "network", id: found.ID, description: found.Description, known: known,
		adoptedBefore: slices.Contains(b.known.Adopted, "network"),
		mismatch: func() (string, error) {
			// A department's network is the bundle's only if it already holds the subnet.
			list, err := networkSubnets(b.ctx, b.sc, found.ID)
			if err != nil {
				return "", err
			}
			return subnetsMismatch(list, b.spec.CIDR), nil
		},
	}, func(mark string) error {
		return networks.Update(b.ctx, b.sc, found.ID, networks.UpdateOpts{Description: &mark}).Err
	})
	return err
}

func (b *bundleRun) subnet() error {
	var found *subnets.Subnet
	if id := b.known.SubnetID; id != "" {
		s, err := subnets.Get(b.ctx, b.sc, id).Extract()
		switch {
		case err == nil && s.NetworkID == b.out.NetworkID && s.ProjectID == b.spec.ProjectID:
			found = s
		case err != nil && !IsNotFound(err):
			return err
		}
	}
	known := found != nil
	if found == nil {
		list, err := networkSubnets(b.ctx, b.sc, b.out.NetworkID)
		if err != nil {
			return err
		}
		found = bundleSubnet(list, b.spec)
	}
	if found == nil {
		version := gophercloud.IPv4
		if ip, _, _ := net.ParseCIDR(b.spec.CIDR); ip != nil && ip.To4() == nil {
			version = gophercloud.IPv6
		}
		s, err := subnets.Create(b.ctx, b.sc, subnets.CreateOpts{
			NetworkID: b.out.NetworkID, Name: b.spec.Name, ProjectID: b.spec.ProjectID, CIDR: b.spec.CIDR,
			IPVersion: version, DNSNameservers: b.spec.DNSNameservers, Description: OwnerMark(b.spec.Owner),
		}).Extract()
		if err != nil {
			return fmt.Errorf("creating subnet: %w", err)
		}
		b.record("subnet", s.ID, false)
		b.created = append(b.created, "subnet")
		return nil
	}
	err := b.use(piece{
		kind: "subnet", id: found.ID, description: found.Description, known: known,
		adoptedBefore: slices.Contains(b.known.Adopted, "subnet"),
		mismatch:      func() (string, error) { return subnetMismatch(found, b.spec.CIDR), nil },
	}, func(mark string) error {
		return subnets.Update(b.ctx, b.sc, found.ID, subnets.UpdateOpts{Description: &mark}).Err
	})
	if err != nil {
		return err
	}
	return repairDNS(b.ctx, b.sc, found, b.spec.DNSNameservers)
}

// knownRouter returns the router status records if it is still in the project.
func (b *bundleRun) knownRouter() (*routers.Router, error) {
	if b.known.RouterID == "" {
		return nil, nil
	}
	r, err := routers.Get(b.ctx, b.sc, b.known.RouterID).Extract()
	switch {
	case err == nil && r.ProjectID == b.spec.ProjectID:
		return r, nil
	case err != nil && !IsNotFound(err):
		return nil, err
	}
	return nil, nil
}

// dropGateway keeps the router when the spec no longer names an external network, and
// takes its gateway away: whatever else was attached to it keeps working.
func (b *bundleRun) dropGateway() error {
	r, err := b.knownRouter()
	if err != nil {
		return err
	}
	if r == nil {
		b.record("router", "", false) // none, or stale
		return nil
	}
	if r.GatewayInfo.NetworkID == "" {
		return nil
	}
	if err := routers.Update(b.ctx, b.sc, r.ID, routers.UpdateOpts{GatewayInfo: &routers.GatewayInfo{}}).Err; err != nil {
		return fmt.Errorf("clearing the gateway of router %s: %w", r.ID, err)
	}
	return nil
}

func (b *bundleRun) router(external string) error {
	found, err := b.knownRouter()
	if err != nil {
		return err
	}
	known := found != nil
	if found == nil {
		pages, err := routers.List(b.sc, routers.ListOpts{ProjectID: b.spec.ProjectID, Name: b.spec.Name}).AllPages(b.ctx)
		if err != nil {
			return err
		}
		list, err := routers.ExtractRouters(pages)
		if err != nil {
			return err
		}
		found = preferMarked(list, b.spec.owners(), func(r routers.Router) string { return r.Description })
	}
	if found == nil {
		r, err := routers.Create(b.ctx, b.sc, routers.CreateOpts{
			Name: b.spec.Name, ProjectID: b.spec.ProjectID, Description: OwnerMark(b.spec.Owner),
			GatewayInfo: &routers.GatewayInfo{NetworkID: external},
		}).Extract()
		if err != nil {
			return fmt.Errorf("creating router: %w", err)
		}
		b.record("router", r.ID, false)
		b.created = append(b.created, "router")
		return nil
	}
	err = b.use(piece{
		kind: "router", id: found.ID, description: found.Description, known: known,
		adoptedBefore: slices.Contains(b.known.Adopted, "router"),
		mismatch:      func() (string, error) { return gatewayMismatch(found, external), nil },
	}, func(mark string) error {
		return routers.Update(b.ctx, b.sc, found.ID, routers.UpdateOpts{Description: &mark}).Err
	})
	if err != nil {
		return err
	}
	if found.GatewayInfo.NetworkID == external {
		return nil
	}
	return routers.Update(b.ctx, b.sc, found.ID, routers.UpdateOpts{GatewayInfo: &routers.GatewayInfo{NetworkID: external}}).Err
}

// subnetsMismatch says why a department's network is not the bundle's: it holds no
// subnet of the range; "" when it does.
func subnetsMismatch(list []subnets.Subnet, cidr string) string {
	var cidrs []string
	for _, s := range list {
		if sameCIDR(s.CIDR, cidr) {
			return ""
		}
		cidrs = append(cidrs, s.CIDR)
	}
	if len(cidrs) == 0 {
		return fmt.Sprintf("it has no subnet %s", cidr)
	}
	return fmt.Sprintf("its subnets are %s, not %s", strings.Join(cidrs, ", "), cidr)
}

// bundleSubnet is the bundle's subnet among a network's: by name first; else the one
// with the spec's CIDR (a department's network adopted with its subnet named otherwise):
// Neutron would refuse a second one.
func bundleSubnet(list []subnets.Subnet, spec NetworkBundleSpec) *subnets.Subnet {
	for i := range list {
		if list[i].Name == spec.Name {
			return &list[i]
		}
	}
	for i := range list {
		if spec.CIDR != "" && sameCIDR(list[i].CIDR, spec.CIDR) {
			return &list[i]
		}
	}
	return nil
}

// subnetMismatch says how a subnet differs from the spec's range; "" when it does not.
func subnetMismatch(s *subnets.Subnet, cidr string) string {
	if cidr == "" || sameCIDR(s.CIDR, cidr) {
		return ""
	}
	return fmt.Sprintf("its CIDR is %s, not %s", s.CIDR, cidr)
}

// gatewayMismatch says how a router's gateway differs from the external network's ID;
// "" when it does not.
func gatewayMismatch(r *routers.Router, external string) string {
	if gw := r.GatewayInfo.NetworkID; gw != external {
		if gw == "" {
			gw = "none"
		}
		return fmt.Sprintf("its gateway is on %s, not on %s", gw, external)
	}
	return ""
}

// preferMarked returns the item marked as one of owners', else the first, else nil.
func preferMarked[T any](list []T, owners []string, description func(T) string) *T {
	for _, owner := range owners {
		for i := range list {
			if owner != "" && description(list[i]) == OwnerMark(owner) {
				return &list[i]
			}
		}
	}
	if len(list) == 0 {
		return nil
	}
	return &list[0]
}

func networkSubnets(ctx context.Context, sc *gophercloud.ServiceClient, networkID string) ([]subnets.Subnet, error) {
	pages, err := subnets.List(sc, subnets.ListOpts{NetworkID: networkID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	return subnets.ExtractSubnets(pages)
}

// sameCIDR compares two CIDRs as networks, so 10.20.0.0/24 equals 10.20.0.00/24 and
// IPv6 spellings agree.
func sameCIDR(a, b string) bool {
	_, na, errA := net.ParseCIDR(a)
	_, nb, errB := net.ParseCIDR(b)
	if errA != nil || errB != nil {
		return a == b
	}
	return na.String() == nb.String()
}

// repairDNS restores the subnet's DNS servers.
func repairDNS(ctx context.Context, sc *gophercloud.ServiceClient, s *subnets.Subnet, dns []string) error {
	if slices.Equal(s.DNSNameservers, dns) || (len(s.DNSNameservers) == 0 && len(dns) == 0) {
		return nil
	}
	want := slices.Clone(dns)
	if want == nil {
		want = []string{}
	}
	return subnets.Update(ctx, sc, s.ID, subnets.UpdateOpts{DNSNameservers: &want}).Err
}

func routerAttached(ctx context.Context, sc *gophercloud.ServiceClient, routerID, subnetID string) (bool, error) {
	list, err := routerInterfaces(ctx, sc, routerID)
	if err != nil {
		return false, err
	}
	for _, p := range list {
		for _, ip := range p.FixedIPs {
			if ip.SubnetID == subnetID {
				return true, nil
			}
		}
	}
	return false, nil
}

// routerInterfaces lists the router's interface ports, whatever the router's kind
// (legacy, distributed, HA).
func routerInterfaces(ctx context.Context, sc *gophercloud.ServiceClient, routerID string) ([]ports.Port, error) {
	pages, err := ports.List(sc, ports.ListOpts{DeviceID: routerID}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(list, func(p ports.Port) bool { return !routerInterfaceOwners[p.DeviceOwner] }), nil
}

var routerInterfaceOwners = map[string]bool{
	"network:router_interface":               true,
	"network:router_interface_distributed":   true,
	"network:ha_router_replicated_interface": true,
}

// DeleteNetworkBundle implements Networks.
func (c *Cloud) DeleteNetworkBundle(ctx context.Context, projectID string, own Ownership) (err error) {
	defer c.convert(&err)
	sc, err := c.service("network")
	if err != nil {
		return err
	}
	pages, err := routers.List(sc, routers.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing routers: %w", err)
	}
	routerList, err := routers.ExtractRouters(pages)
	if err != nil {
		return err
	}
	for _, r := range routerList {
		if own.Owns("router", r.ID, r.Description) && !foreign(ctx, "router", r.ID, cmp.Or(r.ProjectID, r.TenantID), projectID) {
			if err := deleteRouter(ctx, sc, projectID, r.ID); err != nil {
				return err
			}
		}
	}
	pages, err = networks.List(sc, networks.ListOpts{ProjectID: projectID}).AllPages(ctx)
	if err != nil {
		return fmt.Errorf("listing networks: %w", err)
	}
	networkList, err := networks.ExtractNetworks(pages)
	if err != nil {
		return err
	}
	for _, n := range networkList {
		if !own.Owns("network", n.ID, n.Description) || foreign(ctx, "network", n.ID, cmp.Or(n.ProjectID, n.TenantID), projectID) {
			continue
		}
		// Deleting the network deletes its subnets and DHCP ports.
		if err := networks.Delete(ctx, sc, n.ID).ExtractErr(); err != nil && !IsNotFound(err) {
			return fmt.Errorf("deleting network %s: %w", n.ID, err)
		}
	}
	return nil
}

// deleteRouter detaches every interface of the project's router and deletes it (its
// gateway goes with it). An interface port of another project is left: the router's
// deletion then fails and says so.
func deleteRouter(ctx context.Context, sc *gophercloud.ServiceClient, projectID, routerID string) error {
	list, err := routerInterfaces(ctx, sc, routerID)
	if err != nil {
		return err
	}
	for _, p := range list {
		if foreign(ctx, "port", p.ID, cmp.Or(p.ProjectID, p.TenantID), projectID) {
			continue
		}
		_, err := routers.RemoveInterface(ctx, sc, routerID, routers.RemoveInterfaceOpts{PortID: p.ID}).Extract()
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("detaching router %s: %w", routerID, err)
		}
	}
	if err := routers.Delete(ctx, sc, routerID).ExtractErr(); err != nil && !IsNotFound(err) {
		return fmt.Errorf("deleting router %s: %w", routerID, err)
	}
	return nil
}
