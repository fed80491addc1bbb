package policy

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// ErrPoolExhausted: the pool has no free block of the asked length.
var ErrPoolExhausted = errors.New("no free block left in the pool")

// Overlaps reports whether two ranges share an address. Ranges of different families, or
// invalid ones, never overlap; host bits are ignored.
func Overlaps(a, b netip.Prefix) bool {
	return a.IsValid() && b.IsValid() && a.Masked().Overlaps(b.Masked())
}

// Allocate returns the lowest block of length bits inside pool, aligned on its length,
// that overlaps none of used (which may be of any length, inside the pool or not). It
// fails when bits is shorter than the pool's or longer than the address, and with
// ErrPoolExhausted when every block is taken.
func Allocate(pool netip.Prefix, bits int, used []netip.Prefix) (netip.Prefix, error) {
	if !pool.IsValid() {
		return netip.Prefix{}, fmt.Errorf("pool %s is not a CIDR", pool)
	}
	pool = pool.Masked()
	if bits < pool.Bits() || bits > pool.Addr().BitLen() {
		return netip.Prefix{}, fmt.Errorf("a /%d block does not fit the pool %s", bits, pool)
	}
	addr := pool.Addr()
	for pool.Contains(addr) {
		block := netip.PrefixFrom(addr, bits)
		taken := false
		for _, u := range used {
			if !Overlaps(block, u) {
				continue
			}
			// Past the larger of the two: its end is aligned on both lengths.
			larger := block
			if u.Bits() < bits {
				larger = u.Masked()
			}
			next := lastAddr(larger).Next()
			if !next.IsValid() {
				return netip.Prefix{}, ErrPoolExhausted // the end of the address space
			}
			addr, taken = next, true
			break
		}
		if !taken {
			return block, nil
		}
	}
	return netip.Prefix{}, ErrPoolExhausted
}

// lastAddr is the highest address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Masked().Addr().As16()
	offset := 0
	if p.Addr().Is4() {
		offset = 96
	}
	for i := offset + p.Bits(); i < 128; i++ {
		b[i/8] |= 1 << (7 - i%8)
	}
	a := netip.AddrFrom16(b)
	if p.Addr().Is4() {
		return a.Unmap()
	}
	return a
}

// Claim is one Tenant's network range, as the overlap rule weighs it.
type Claim struct {
	Namespace, Name string
	Prefix          netip.Prefix
	Created         time.Time
	// Held: the range is the Tenant's already: its network exists, or the one writer
	// gave it (allocated from the pool, or found free and taken). A held range is never
	// taken away.
	Held bool
}

// before orders claims by age: creationTimestamp, then namespace/name.
func (c Claim) before(o Claim) bool {
	if !c.Created.Equal(o.Created) {
		return c.Created.Before(o.Created)
	}
	return c.Namespace+"/"+c.Name < o.Namespace+"/"+o.Name
}

func (c Claim) same(o Claim) bool { return c.Namespace == o.Namespace && c.Name == o.Name }

// Blocking returns the claims among others that keep c's range from it: an overlapping
// one that is held, or an older overlapping one that is not held and that no held claim
// blocks in turn (it may still get the range, so c waits). A held claim is never blocked.
func Blocking(c Claim, others []Claim) []Claim {
	if c.Held {
		return nil
	}
	var out []Claim
	for _, o := range others {
		if c.same(o) || !Overlaps(c.Prefix, o.Prefix) {
			continue
		}
		if o.Held || (o.before(c) && !heldAgainst(o, others)) {
			out = append(out, o)
		}
	}
	return out
}

// heldAgainst reports whether a held claim other than c overlaps c.
func heldAgainst(c Claim, others []Claim) bool {
	for _, o := range others {
		if o.Held && !c.same(o) && Overlaps(c.Prefix, o.Prefix) {
			return true
		}
	}
	return false
}

// Taken returns the ranges an allocation must avoid: those held, and those still asked
// for that no held range blocks. A range that a held one blocks is not taken: a Tenant
// asking for a whole pool that is already in use cannot exhaust it for everyone else.
func Taken(claims []Claim) []netip.Prefix {
	var out []netip.Prefix
	for _, c := range claims {
		if c.Held || !heldAgainst(c, claims) {
			out = append(out, c.Prefix)
		}
	}
	return out
}

// Overlapping returns the held claims among others that overlap c: for a held c, ranges
// that were both taken before a policy said they may not be (they keep running).
func Overlapping(c Claim, others []Claim) []Claim {
	var out []Claim
	for _, o := range others {
		if o.Held && !c.same(o) && Overlaps(c.Prefix, o.Prefix) {
			out = append(out, o)
		}
	}
	return out
}

// overlapOf says, for c's department, which range of o overlaps c's. It names o only
// when it is in c's namespace: one department never learns another's Tenants.
func overlapOf(c, o Claim) string {
	who := "a Tenant in another namespace"
	if o.Namespace == c.Namespace {
		who = fmt.Sprintf("Tenant %s", o.Name)
	}
	how := "which asked for it first"
	if o.Held {
		how = "which holds it"
	}
	return fmt.Sprintf("%s of %s, %s", o.Prefix, who, how)
}

// OverlapDetail says which ranges of others (up to limit of them, and how many more)
// overlap c's, naming only Tenants of c's namespace: "network 10.0.0.0/24 overlaps
// 10.0.0.0/16 of Tenant db, which holds it; 10.0.0.0/23 of a Tenant in another
// namespace, which asked for it first".
func OverlapDetail(c Claim, others []Claim, limit int) string {
	var parts []string
	for i, o := range others {
		if i == limit {
			parts = append(parts, fmt.Sprintf("and %d more", len(others)-limit))
			break
		}
		parts = append(parts, overlapOf(c, o))
	}
	return fmt.Sprintf("network %s overlaps %s", c.Prefix, strings.Join(parts, "; "))
}
