package policy

import (
	"errors"
	"net/netip"
	"testing"
	"time"
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(s))
	for _, p := range s {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

func TestOverlaps(t *testing.T) {
	cases := []struct {
		a, b string
		want bool
	}{
		{"10.0.0.0/24", "10.0.0.0/24", true},
		{"10.0.0.0/16", "10.0.3.0/24", true},
		{"10.0.3.0/24", "10.0.0.0/16", true},
		{"10.0.0.0/24", "10.0.1.0/24", false},
		{"10.0.0.7/24", "10.0.0.128/25", true}, // host bits ignored
		{"10.0.0.0/8", "fd00::/8", false},      // families never overlap
		{"fd00:0:0:1::/64", "fd00::/48", true},
		{"fd00:1::/64", "fd00:2::/64", false},
	}
	for _, tc := range cases {
		if got := Overlaps(netip.MustParsePrefix(tc.a), netip.MustParsePrefix(tc.b)); got != tc.want {
			t.Errorf("Overlaps(%s, %s) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if Overlaps(netip.Prefix{}, netip.MustParsePrefix("0.0.0.0/0")) {
		t.Error("an invalid prefix overlaps nothing")
	}
}

func TestAllocate(t *testing.T) {
	cases := []struct {
		name string
		pool string
		bits int
		used []netip.Prefix
		want string
	}{
		{"first block of an empty pool", "10.128.0.0/12", 24, nil, "10.128.0.0/24"},
		{"the next block after those taken", "10.128.0.0/12", 24, prefixes("10.128.0.0/24", "10.128.1.0/24"), "10.128.2.0/24"},
		{"a hole is filled first", "10.128.0.0/12", 24, prefixes("10.128.0.0/24", "10.128.2.0/24"), "10.128.1.0/24"},
		{"a larger used block is skipped whole", "10.128.0.0/12", 24, prefixes("10.128.0.0/22"), "10.128.4.0/24"},
		{"a smaller used block takes its whole aligned block", "10.128.0.0/12", 24, prefixes("10.128.0.128/25"), "10.128.1.0/24"},
		{"used blocks outside the pool do not matter", "10.128.0.0/12", 24, prefixes("10.0.0.0/24", "fd00::/64"), "10.128.0.0/24"},
		{"a used block overlapping the pool's start", "10.128.0.0/12", 24, prefixes("10.120.0.0/13", "10.128.0.0/23"), "10.128.2.0/24"},
		{"used order does not matter", "10.128.0.0/12", 24, prefixes("10.128.1.0/24", "10.128.0.0/24"), "10.128.2.0/24"},
		{"bits equal to the pool's: the pool itself", "10.128.0.0/24", 24, nil, "10.128.0.0/24"},
		{"a pool with host bits is masked", "10.128.0.9/24", 26, prefixes("10.128.0.0/26"), "10.128.0.64/26"},
		{"IPv6", "fd00:1234::/48", 64, prefixes("fd00:1234::/64", "fd00:1234:0:1::/64", "fd00:1234:0:4::/62"), "fd00:1234:0:2::/64"},
		{"IPv6 larger used block", "fd00:1234::/48", 64, prefixes("fd00:1234::/56"), "fd00:1234:0:100::/64"},
		{"the top of the IPv4 space", "255.255.255.0/24", 25, prefixes("255.255.255.0/25"), "255.255.255.128/25"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Allocate(netip.MustParsePrefix(tc.pool), tc.bits, tc.used)
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			for _, u := range tc.used {
				if Overlaps(got, u) {
					t.Errorf("%s overlaps used %s", got, u)
				}
			}
		})
	}
}

func TestAllocateFails(t *testing.T) {
	cases := []struct {
		name      string
		pool      string
		bits      int
		used      []netip.Prefix
		exhausted bool
	}{
		{"every block taken", "10.128.0.0/23", 24, prefixes("10.128.0.0/24", "10.128.1.0/24"), true},
		{"taken by one larger block", "10.128.0.0/23", 24, prefixes("10.0.0.0/8"), true},
		{"bits equal to the pool's, taken", "10.128.0.0/24", 24, prefixes("10.128.0.200/32"), true},
		{"the top of the address space, taken", "255.255.255.0/24", 24, prefixes("255.255.255.255/32"), true},
		{"IPv6 taken", "fd00::/63", 64, prefixes("fd00::/64", "fd00:0:0:1::/64"), true},
		{"bits shorter than the pool's", "10.128.0.0/16", 12, nil, false},
		{"bits longer than the address", "10.128.0.0/16", 33, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Allocate(netip.MustParsePrefix(tc.pool), tc.bits, tc.used)
			if err == nil {
				t.Fatalf("got %s, want an error", got)
			}
			if errors.Is(err, ErrPoolExhausted) != tc.exhausted {
				t.Errorf("error %v: exhausted %v, want %v", err, !tc.exhausted, tc.exhausted)
			}
		})
	}
	if _, err := Allocate(netip.Prefix{}, 24, nil); err == nil {
		t.Error("an invalid pool allocates nothing")
	}
}

// TestAllocateFillsPool hands out every block of a pool, one at a time, as the
// controller would, and finds each distinct.
func TestAllocateFillsPool(t *testing.T) {
	pool := netip.MustParsePrefix("10.128.0.0/20")
	var used []netip.Prefix
	for range 16 {
		p, err := Allocate(pool, 24, used)
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, p)
	}
	if _, err := Allocate(pool, 24, used); !errors.Is(err, ErrPoolExhausted) {
		t.Errorf("a full pool: %v", err)
	}
}

func TestBlocking(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	claim := func(ns, name, cidr string, age int, held bool) Claim {
		return Claim{Namespace: ns, Name: name, Prefix: netip.MustParsePrefix(cidr), Created: t0.Add(time.Duration(age) * time.Minute), Held: held}
	}
	names := func(cs []Claim) []string {
		var out []string
		for _, c := range cs {
			out = append(out, c.Namespace+"/"+c.Name)
		}
		return out
	}
	cases := []struct {
		name   string
		c      Claim
		others []Claim
		want   []string
	}{
		{"no overlap", claim("a", "x", "10.0.1.0/24", 5, false),
			[]Claim{claim("a", "y", "10.0.0.0/24", 0, true)}, nil},
		{"a held range blocks, however young", claim("a", "x", "10.0.0.0/24", 0, false),
			[]Claim{claim("b", "y", "10.0.0.0/16", 9, true)}, []string{"b/y"}},
		{"an older range not held blocks", claim("a", "x", "10.0.0.0/24", 5, false),
			[]Claim{claim("b", "y", "10.0.0.0/24", 0, false)}, []string{"b/y"}},
		{"a younger range not held does not", claim("a", "x", "10.0.0.0/24", 0, false),
			[]Claim{claim("b", "y", "10.0.0.0/24", 5, false)}, nil},
		{"same age: namespace/name decides", claim("b", "x", "10.0.0.0/24", 0, false),
			[]Claim{claim("a", "y", "10.0.0.0/24", 0, false)}, []string{"a/y"}},
		{"an older range that is itself blocked by a held one does not block", claim("a", "x", "10.0.1.0/24", 5, false),
			[]Claim{claim("a", "big", "10.0.0.0/16", 0, false), claim("b", "held", "10.0.2.0/24", 9, true)}, nil},
		{"a held claim is never blocked", claim("a", "x", "10.0.0.0/24", 9, true),
			[]Claim{claim("b", "y", "10.0.0.0/24", 0, true)}, nil},
		{"itself is ignored", claim("a", "x", "10.0.0.0/24", 0, false),
			[]Claim{claim("a", "x", "10.0.0.0/24", 0, true)}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := names(Blocking(tc.c, tc.others))
			if len(got) != len(tc.want) || (len(got) > 0 && got[0] != tc.want[0]) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	held := claim("a", "x", "10.0.0.0/24", 9, true)
	if got := names(Overlapping(held, []Claim{claim("b", "y", "10.0.0.0/23", 0, true), claim("a", "z", "10.0.0.0/24", 0, false)})); len(got) != 1 || got[0] != "b/y" {
		t.Errorf("Overlapping: got %v, want the held b/y only", got)
	}
}

func TestTaken(t *testing.T) {
	held := Claim{Namespace: "a", Name: "held", Prefix: netip.MustParsePrefix("10.0.0.0/24"), Held: true}
	greedy := Claim{Namespace: "b", Name: "greedy", Prefix: netip.MustParsePrefix("10.0.0.0/16")}
	pending := Claim{Namespace: "b", Name: "pending", Prefix: netip.MustParsePrefix("10.1.0.0/24")}
	got := Taken([]Claim{held, greedy, pending})
	if len(got) != 2 || got[0] != held.Prefix || got[1] != pending.Prefix {
		t.Errorf("got %v, want the held range and the pending one, not the blocked greedy one", got)
	}
	p, err := Allocate(netip.MustParsePrefix("10.0.0.0/16"), 24, got)
	if err != nil || p.String() != "10.0.1.0/24" {
		t.Errorf("a blocked claim on the whole pool exhausts it: %v %v", p, err)
	}
}

func TestOverlapDetailIsolation(t *testing.T) {
	c := Claim{Namespace: "hmrc", Name: "web", Prefix: netip.MustParsePrefix("10.0.0.0/24")}
	same := Claim{Namespace: "hmrc", Name: "db", Prefix: netip.MustParsePrefix("10.0.0.0/16"), Held: true}
	other := Claim{Namespace: "dwp", Name: "secret-project", Prefix: netip.MustParsePrefix("10.0.0.0/23")}
	if got, want := OverlapDetail(c, []Claim{same}, 5), "network 10.0.0.0/24 overlaps 10.0.0.0/16 of Tenant db, which holds it"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := OverlapDetail(c, []Claim{other}, 5), "network 10.0.0.0/24 overlaps 10.0.0.0/23 of a Tenant in another namespace, which asked for it first"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got, want := OverlapDetail(c, []Claim{same, other, other}, 2), "network 10.0.0.0/24 overlaps 10.0.0.0/16 of Tenant db, which holds it; "+
		"10.0.0.0/23 of a Tenant in another namespace, which asked for it first; and 1 more"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
