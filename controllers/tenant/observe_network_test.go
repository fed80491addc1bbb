package tenant

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func TestNetworkObserved(t *testing.T) {
	tenant := &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: "hmrc", Name: "vat"}}
	tenant.Spec.Project.Name = ptr.To("vat")
	tenant.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24", ExternalNetwork: ptr.To("public"), DNSNameservers: []string{"192.0.2.53"}}
	whole := openstack.ObservedNetwork{NetworkID: "n", SubnetID: "s", RouterID: "r", CIDR: "10.20.0.0/24",
		DNSNameservers: []string{"192.0.2.53"}, Gateway: "ext", GatewayName: "public", External: "ext", Attached: true}
	edit := func(f func(*openstack.ObservedNetwork)) openstack.ObservedNetwork {
		o := whole
		f(&o)
		return o
	}
	cases := []struct {
		reason string
		seen   openstack.ObservedNetwork
		want   []whv1.DriftEntry
	}{
		{reason: "the bundle as the spec asks: no drift", seen: whole},
		{reason: "no network by the bundle's name: Manage makes the whole bundle", seen: openstack.ObservedNetwork{},
			want: []whv1.DriftEntry{{Field: "network", Desired: "network and subnet vat, router to public", Actual: "absent"}}},
		{reason: "the subnet missing", seen: edit(func(o *openstack.ObservedNetwork) { o.SubnetID, o.CIDR, o.DNSNameservers = "", "", nil }),
			want: []whv1.DriftEntry{{Field: "network.cidr", Desired: "subnet 10.20.0.0/24", Actual: "absent"}}},
		{reason: "other DNS servers", seen: edit(func(o *openstack.ObservedNetwork) { o.DNSNameservers = nil }),
			want: []whv1.DriftEntry{{Field: "network.dnsNameservers", Desired: "192.0.2.53", Actual: "none"}}},
		{reason: "no router", seen: edit(func(o *openstack.ObservedNetwork) {
			o.RouterID, o.Gateway, o.GatewayName, o.Attached = "", "", "", false
		}),
			want: []whv1.DriftEntry{{Field: "network.externalNetwork", Desired: "router to public", Actual: "absent"}}},
		{reason: "the gateway elsewhere", seen: edit(func(o *openstack.ObservedNetwork) { o.Gateway, o.GatewayName = "other", "corp" }),
			want: []whv1.DriftEntry{{Field: "network.externalNetwork", Desired: "public", Actual: "corp"}}},
		{reason: "the router not on the subnet", seen: edit(func(o *openstack.ObservedNetwork) { o.Attached = false }),
			want: []whv1.DriftEntry{{Field: "network.externalNetwork", Desired: "router interface on the subnet", Actual: "absent"}}},
		{reason: "a department's network of another range: Manage refuses it",
			seen: openstack.ObservedNetwork{CIDR: "10.9.0.0/24", Conflict: &openstack.NetworkConflictError{Kind: "network", ID: "n", Why: "its subnets are 10.9.0.0/24, not 10.20.0.0/24"}},
			want: []whv1.DriftEntry{{Field: "network.cidr", Desired: "10.20.0.0/24",
				Actual: "10.9.0.0/24: its subnets are 10.9.0.0/24, not 10.20.0.0/24; Manage refuses it (NetworkConflict)"}}},
		{reason: "another Tenant's bundle: whose is not said",
			seen: openstack.ObservedNetwork{Conflict: &openstack.NetworkConflictError{Kind: "network", ID: "n", Why: "it was made for another Tenant"}},
			want: []whv1.DriftEntry{{Field: "network", Desired: "network and subnet vat, router to public",
				Actual: "it was made for another Tenant; Manage refuses it (NetworkConflict)"}}},
		{reason: "a piece status records without the mark: Manage marks it", seen: edit(func(o *openstack.ObservedNetwork) { o.Unmarked = []string{"subnet"} }),
			want: []whv1.DriftEntry{{Field: "network", Desired: "subnet marked as this Tenant's", Actual: "subnet without the owner's mark"}}},
	}
	for _, tc := range cases {
		got := networkObserved(tenant, "10.20.0.0/24", tc.seen)
		if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestGatewayDropped(t *testing.T) {
	n := &whv1.TenantNetwork{CIDR: "10.20.0.0/24"}
	got := gatewayDifferences(n, openstack.ObservedNetwork{NetworkID: "n", SubnetID: "s", RouterID: "r", Gateway: "ext"})
	want := []whv1.DriftEntry{{Field: "network.externalNetwork", Desired: "none (the router is kept)", Actual: "ext"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("no external network in the spec: Manage takes the gateway away (-want +got):\n%s", diff)
	}
}
