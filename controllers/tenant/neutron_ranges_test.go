package tenant

import (
	"net/netip"
	"testing"
)

func TestOwnBlock(t *testing.T) {
	pool := netip.MustParsePrefix("10.80.0.0/16")
	p := netip.MustParsePrefix
	cases := []struct {
		reason string
		own    netip.Prefix
		taken  []netip.Prefix
		want   netip.Prefix
	}{
		{"no network of its own", netip.Prefix{}, nil, netip.Prefix{}},
		{"its own range, free", p("10.80.3.0/24"), []netip.Prefix{p("10.80.0.0/24")}, p("10.80.3.0/24")},
		{"outside the pool", p("10.90.3.0/24"), nil, netip.Prefix{}},
		{"wider than the pool", p("10.0.0.0/8"), nil, netip.Prefix{}},
		{"held by another Tenant", p("10.80.3.0/24"), []netip.Prefix{p("10.80.3.128/25")}, netip.Prefix{}},
	}
	for _, tc := range cases {
		got, ok := neutronView{own: tc.own}.ownBlock(pool, tc.taken)
		if got != tc.want || ok != tc.want.IsValid() {
			t.Errorf("%s: ownBlock = %v, %v; want %v", tc.reason, got, ok, tc.want)
		}
	}
}
