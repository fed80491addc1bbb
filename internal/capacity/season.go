package capacity

// What a season's departments share, and what each department's peak gets.
//
// The capacity a season's departments share is the cloud's capacity less what is in use
// outside them:
//
//	available = capacity − outside
//	capacity  = Σ over resource providers (total − reserved) × allocation ratio   (Placement inventories)
//	outside   = max(0, allocated − inside)
//	allocated = Σ over resource providers of what allocations use                 (Placement usages)
//	inside    = Σ over the season's departments of what their projects use         (Nova's quota detail)
//
// per resource (VCPU as cores, MEMORY_MB as ramMiB). The season's own departments are
// then claims on available: each keeps its floor (its baseline, or what it uses if
// more) and wants its peak (Share).

// Resource is one resource of the cloud's capacity that a season shares.
type Resource int

// The resources a season shares: Placement's VCPU and MEMORY_MB.
const (
	Cores Resource = iota
	RAMMiB
)

// Resources are every Resource, in order.
var Resources = []Resource{Cores, RAMMiB}

// Amounts are amounts of resources; a resource absent is not set, or not known.
type Amounts map[Resource]int64

// Available is what a season's departments may share of one resource, and what is in
// use outside them (the formula above). inside read after Placement's allocations may
// exceed them for a moment: outside is then none, not negative.
func Available(capacity, allocated, inside int64) (available, outside int64) {
	outside = max(allocated-inside, 0)
	return max(capacity-outside, 0), outside
}

// Department is one ComputeQuota of a season, as the season judges it.
type Department struct {
	// Key names it (namespace/name).
	Key      string
	Priority int32
	// Baseline is its baseline, InUse what its project uses, Peak what its peak asks
	// for this season. A resource absent from Baseline is not managed, from InUse not
	// known (none), from Peak not raised by the peak (a peak pending approval raises
	// nothing). -1 is unlimited.
	Baseline, InUse, Peak Amounts
}

// Verdict is what one department's peak gets.
type Verdict struct {
	// Granted are the values granted, for the resources its peak sets.
	Granted Amounts
	// Confirmed is true when the whole peak is granted.
	Confirmed bool
	// Kind is the worst of its resources' grants (Floor, then Shared, then Whole), and
	// Group how many of its priority shared the resource that was shared.
	Kind  Kind
	Group int
}

// Judge shares available among departments, each resource on its own (Share): every
// department is a claim, so that what its project holds is counted whether or not its
// peak raises the resource. A department whose baseline is unlimited keeps what it uses.
func Judge(available Amounts, departments []Department) map[string]Verdict {
	out := make(map[string]Verdict, len(departments))
	for _, d := range departments {
		out[d.Key] = Verdict{Granted: Amounts{}, Confirmed: true, Kind: Whole}
	}
	for _, r := range Resources {
		avail, ok := available[r]
		if !ok {
			continue
		}
		claims := make([]Claim, 0, len(departments))
		for _, d := range departments {
			claims = append(claims, claimOf(d, r))
		}
		grants := Share(avail, claims)
		for i, d := range departments {
			if _, raised := d.Peak[r]; !raised {
				continue
			}
			g, v, want := grants[d.Key], out[d.Key], claims[i].Want
			v.Granted[r] = g.Value
			// Short of its peak: Share gives a want above all there is all there is, as
			// "whole"; here that is the part of the peak that was left.
			if short := g.Value < want || (want == -1 && g.Kind != Whole); short {
				v.Confirmed = false
				if g.Kind == Whole {
					g.Kind, g.Group = Shared, 1
				}
				if g.Kind > v.Kind || (g.Kind == v.Kind && g.Group > v.Group) {
					v.Kind, v.Group = g.Kind, g.Group
				}
			}
			out[d.Key] = v
		}
	}
	return out
}

// claimOf is d's claim on r: its floor is its baseline, or what it uses if more; it
// wants its peak, or its floor when its peak does not raise r.
func claimOf(d Department, r Resource) Claim {
	used := max(d.InUse[r], 0)
	c := Claim{Key: d.Key, Priority: d.Priority, Floor: used, Want: used}
	base, managed := d.Baseline[r]
	if managed && base == -1 {
		return c // unlimited already: no grant changes it; it takes what it uses
	}
	if managed {
		c.Floor = max(base, used)
	}
	c.Want = c.Floor
	if peak, raised := d.Peak[r]; raised && (peak == -1 || peak > c.Floor) {
		c.Want = peak
	}
	return c
}
