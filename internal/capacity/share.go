// Package capacity decides what each department's peak gets when the cloud cannot hold
// every peak committed to a season: by priority, equal priorities in proportion, and
// never less than what a department already runs. It is pure: no cluster, no cloud, no
// clock, so the PeakSeason's status, the ComputeQuotas that follow it and the tests get
// one answer.
package capacity

import (
	"cmp"
	"fmt"
	"math/big"
	"slices"
)

// Claim is one department's peak on one resource (cores, say).
type Claim struct {
	// Key names the department's ComputeQuota (namespace/name); ties are broken by it.
	Key string
	// Priority orders departments: a higher one gets its whole peak before a lower one
	// gets any of its own.
	Priority int32
	// Floor is what the department keeps whatever happens: its baseline, or what it
	// already uses if that is more. Nothing already running is taken away.
	Floor int64
	// Want is the peak's value; -1 (unlimited) wants whatever is available.
	Want int64
}

// Grant is what a claim gets, and why.
type Grant struct {
	Value  int64
	Reason string
	// Kind says which of the three it is: Whole (the whole peak), Shared (part of it,
	// shared with the others of its priority) or Floor (none of it).
	Kind Kind
	// Group is how many claims of its priority (wanting more than their floor) shared
	// what was left (Shared only).
	Group int
}

// Kind is why a Grant is what it is.
type Kind int

// The kinds of grant.
const (
	Whole Kind = iota
	Shared
	Floor
)

// Share divides available among claims. Priorities are served from the highest: while
// a whole group's wants fit in what is left (after every lower claim's floor), each
// gets its want; the first group that does not fit shares what is left above its
// floors in proportion to what each wants above its floor (whole units; a remainder
// unit goes to the keys first in order); every claim below it keeps its floor. Floors
// are kept even when they alone exceed available.
func Share(available int64, claims []Claim) map[string]Grant {
	out := make(map[string]Grant, len(claims))
	sorted := slices.Clone(claims)
	slices.SortFunc(sorted, func(a, b Claim) int { return cmp.Or(cmp.Compare(b.Priority, a.Priority), cmp.Compare(a.Key, b.Key)) })
	var floors int64
	for i := range sorted {
		c := &sorted[i]
		if c.Want == -1 || c.Want > available {
			c.Want = max(available, c.Floor) // unlimited, or more than the cloud: all of it
		}
		c.Want = max(c.Want, c.Floor)
		floors += c.Floor
	}
	left := available - floors // what there is above every floor
	for start := 0; start < len(sorted); {
		end := start
		for end < len(sorted) && sorted[end].Priority == sorted[start].Priority {
			end++
		}
		group := sorted[start:end]
		var extra int64
		for _, c := range group {
			extra += c.Want - c.Floor
		}
		switch {
		case extra <= left:
			for _, c := range group {
				out[c.Key] = Grant{Value: c.Want, Reason: "the whole peak", Kind: Whole}
			}
			left -= extra
		case left <= 0:
			for _, c := range group {
				out[c.Key] = Grant{Value: c.Floor, Kind: Floor,
					Reason: fmt.Sprintf("none of the peak: higher priorities took the capacity (priority %d)", c.Priority)}
			}
		default:
			shareGroup(out, group, left, extra)
			left = 0
		}
		start = end
	}
	return out
}

// shareGroup gives each claim of one priority its floor plus its part of left, in
// proportion to what it wants above its floor (extra in all).
func shareGroup(out map[string]Grant, group []Claim, left, extra int64) {
	given := int64(0)
	parts := make([]int64, len(group))
	for i, c := range group {
		// (want − floor) × left ÷ extra, exactly: no float, no overflow.
		p := new(big.Int).Mul(big.NewInt(c.Want-c.Floor), big.NewInt(left))
		parts[i] = p.Quo(p, big.NewInt(extra)).Int64()
		given += parts[i]
	}
	for i := 0; given < left && i < len(group); i++ { // the units division left over, in key order
		if group[i].Floor+parts[i] < group[i].Want {
			parts[i]++
			given++
		}
	}
	sharing := 0 // the claims that want more than their floor
	for _, c := range group {
		if c.Want > c.Floor {
			sharing++
		}
	}
	for i, c := range group {
		out[c.Key] = Grant{Value: c.Floor + parts[i], Kind: Shared, Group: sharing, Reason: fmt.Sprintf(
			"part of the peak: priority %d shares what was left (%d) in proportion to what each wants above its floor", c.Priority, left)}
	}
}
