package openstack

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// handMadeBundle puts a department's bundle into miniNeutron: a network named name, its
// one subnet (named subnetName), and a router named name with its gateway on the
// external network and, with attached, an interface on the subnet. Their IDs are the
// name with -net, -sub and -router.
func handMadeBundle(n *miniNeutron, name, subnetName, cidr string, attached bool) {
	net := n.add("networks", map[string]any{"id": name + "-net", "name": name, "project_id": "p1"})
	sub := n.add("subnets", map[string]any{"id": name + "-sub", "name": subnetName, "project_id": "p1", "network_id": net, "cidr": cidr,
		"dns_nameservers": []any{"192.0.2.53"}})
	router := n.add("routers", map[string]any{"id": name + "-router", "name": name, "project_id": "p1", "external_gateway_info": map[string]any{"network_id": "ext-id"}})
	if attached {
		n.add("ports", map[string]any{"device_id": router, "device_owner": "network:router_interface", "project_id": "p1",
			"fixed_ips": []any{map[string]any{"subnet_id": sub}}})
	}
}

func TestObserveNetworkBundle(t *testing.T) {
	ctx := context.Background()
	spec := NetworkBundleSpec{ProjectID: "p1", Name: "hmrc-sa", CIDR: "10.20.0.0/24", DNSNameservers: []string{"192.0.2.53"},
		ExternalNetwork: "public", Owner: "uid-1"}

	t.Run("the bundle Ensure made reads back whole, and reading writes nothing", func(t *testing.T) {
		n, c := newMiniNeutron(t)
		b, _, err := c.EnsureNetworkBundle(ctx, spec, NetworkBundle{})
		if err != nil {
			t.Fatal(err)
		}
		n.writes = nil
		for _, known := range []NetworkBundle{{}, b} {
			got, err := c.ObserveNetworkBundle(ctx, spec, known)
			if err != nil {
				t.Fatal(err)
			}
			want := ObservedNetwork{NetworkID: b.NetworkID, SubnetID: b.SubnetID, RouterID: b.RouterID, CIDR: "10.20.0.0/24",
				DNSNameservers: []string{"192.0.2.53"}, Gateway: "ext-id", GatewayName: "public", External: "ext-id", Attached: true}
			if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("known %+v (-want +got):\n%s", known, diff)
			}
		}
		if len(n.writes) > 0 {
			t.Errorf("observing wrote %v", n.writes)
		}
	})

	cases := []struct {
		reason string
		setup  func(n *miniNeutron)
		want   ObservedNetwork
	}{
		{reason: "nothing by the name: nothing found", setup: func(*miniNeutron) {}},
		{reason: "a department's network of another range: the conflict Ensure would raise, with the range",
			setup: func(n *miniNeutron) {
				net := n.add("networks", map[string]any{"id": "n9", "name": "hmrc-sa", "project_id": "p1"})
				n.add("subnets", map[string]any{"name": "x", "project_id": "p1", "network_id": net, "cidr": "10.9.0.0/24"})
			},
			want: ObservedNetwork{CIDR: "10.9.0.0/24", Conflict: &NetworkConflictError{Kind: "network", ID: "n9", Why: "its subnets are 10.9.0.0/24, not 10.20.0.0/24"}}},
		{reason: "another Tenant's network: whose is not said",
			setup: func(n *miniNeutron) {
				n.add("networks", map[string]any{"id": "n8", "name": "hmrc-sa", "project_id": "p1", "description": OwnerMark("uid-2")})
			},
			want: ObservedNetwork{Conflict: &NetworkConflictError{Kind: "network", ID: "n8", Why: "it was made for another Tenant"}}},
		{reason: "a department's exact match, router not attached: adopted pieces, the interface missing",
			setup: func(n *miniNeutron) { handMadeBundle(n, "hmrc-sa", "theirs", "10.20.0.0/24", false) },
			want: ObservedNetwork{NetworkID: "hmrc-sa-net", SubnetID: "hmrc-sa-sub", RouterID: "hmrc-sa-router", CIDR: "10.20.0.0/24",
				DNSNameservers: []string{"192.0.2.53"}, Gateway: "ext-id", GatewayName: "public", External: "ext-id",
				Adopted: []string{"network", "subnet", "router"}}},
	}
	for _, tc := range cases {
		n, c := newMiniNeutron(t)
		tc.setup(n)
		got, err := c.ObserveNetworkBundle(ctx, spec, NetworkBundle{})
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
		if len(n.writes) > 0 {
			t.Errorf("%s: observing wrote %v", tc.reason, n.writes)
		}
	}
}

func TestFindNetworkBundle(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		reason  string
		setup   func(n *miniNeutron)
		want    *FoundBundle
		wantWhy string
	}{
		{reason: "no network by the project's name", setup: func(*miniNeutron) {}},
		{reason: "a Tenant-shaped bundle made by hand, its one subnet named otherwise",
			setup: func(n *miniNeutron) { handMadeBundle(n, "vat", "vat-subnet", "10.40.0.0/24", true) },
			want:  &FoundBundle{CIDR: "10.40.0.0/24", DNSNameservers: []string{"192.0.2.53"}, ExternalNetwork: "public"}},
		{reason: "a router with no interface on the subnet is not a Tenant's bundle",
			setup:   func(n *miniNeutron) { handMadeBundle(n, "vat", "vat", "10.40.0.0/24", false) },
			wantWhy: "router vat has no interface on the subnet of network vat"},
		{reason: "a network and subnet without a router: a bundle without externalNetwork",
			setup: func(n *miniNeutron) {
				net := n.add("networks", map[string]any{"name": "vat", "project_id": "p1"})
				n.add("subnets", map[string]any{"name": "vat", "project_id": "p1", "network_id": net, "cidr": "10.41.0.0/24"})
			},
			want: &FoundBundle{CIDR: "10.41.0.0/24"}},
		{reason: "two subnets, neither named like the network: which one is not guessed",
			setup: func(n *miniNeutron) {
				net := n.add("networks", map[string]any{"name": "vat", "project_id": "p1"})
				n.add("subnets", map[string]any{"name": "a", "project_id": "p1", "network_id": net, "cidr": "10.42.0.0/24"})
				n.add("subnets", map[string]any{"name": "b", "project_id": "p1", "network_id": net, "cidr": "10.43.0.0/24"})
			},
			wantWhy: "network vat has no subnet named vat and not exactly one subnet"},
	}
	for _, tc := range cases {
		n, c := newMiniNeutron(t)
		tc.setup(n)
		got, why, err := c.FindNetworkBundle(ctx, "p1", "vat")
		if err != nil {
			t.Fatalf("%s: %v", tc.reason, err)
		}
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
		if diff := cmp.Diff(tc.wantWhy, why); diff != "" {
			t.Errorf("%s: why (-want +got):\n%s", tc.reason, diff)
		}
		if len(n.writes) > 0 {
			t.Errorf("%s: reading wrote %v", tc.reason, n.writes)
		}
	}
}
