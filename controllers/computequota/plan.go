package computequota

import (
	"maps"
	"slices"
	"strings"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// quotaChange is one limit written to OpenStack.
type quotaChange struct {
	field       quota.Field
	from, to    int64
	fromUnknown bool // written without knowing the previous limit
}

// quotaPlan is one service's write: the limits to send, the changes they make, and the
// limits kept at usage.
type quotaPlan struct {
	diff        quota.Limits
	changes     []quotaChange
	keptAtUsage quota.Limits
}

// planWrite compares desired with reading. With keepAtUsage set (the service refuses a
// limit below usage, and reading's usage is fresh), a limit is never planned below usage.
func planWrite(desired quota.Limits, reading openstack.QuotaReading, keepAtUsage bool) quotaPlan {
	p := quotaPlan{diff: quota.Limits{}, keptAtUsage: quota.Limits{}}
	for _, field := range slices.Sorted(maps.Keys(desired)) {
		want := desired[field]
		if used, ok := reading.InUse[field]; keepAtUsage && ok && quota.Above(used, want) {
			want = used
			p.keptAtUsage[field] = used
		}
		if have, ok := reading.Limits[field]; !ok || have != want {
			p.diff[field] = want
			p.changes = append(p.changes, quotaChange{field: field, from: have, to: want, fromUnknown: !ok})
		}
	}
	return p
}

// planLower plans, from a fresh reading, the writes that bring the limits of target
// down, and nothing else: a raise target would make is withheld, keeping what OpenStack
// has, and returned in raises (by the value wanted). wanted is each field's limit after
// the plan, before usage: with keepAtUsage set (the service refuses a limit below usage)
// a limit comes down only as far as usage, and is listed in the plan's keptAtUsage.
func planLower(target quota.Limits, reading openstack.QuotaReading, keepAtUsage bool) (p quotaPlan, wanted, raises quota.Limits) {
	p = quotaPlan{diff: quota.Limits{}, keptAtUsage: quota.Limits{}}
	wanted, raises = quota.Limits{}, quota.Limits{}
	for _, field := range slices.SortedFunc(maps.Keys(target), byName) {
		want := target[field]
		have, ok := reading.Limits[field]
		switch {
		case !ok:
			continue // a limit the service does not report is not touched
		case !quota.Above(have, want):
			wanted[field] = have
			if want != have {
				raises[field] = want
			}
			continue
		}
		wanted[field] = want
		if used, ok := reading.InUse[field]; keepAtUsage && ok && used > want {
			p.keptAtUsage[field] = used
			if want = used; !quota.Above(have, want) {
				continue
			}
		}
		p.diff[field] = want
		p.changes = append(p.changes, quotaChange{field: field, from: have, to: want})
	}
	return p, wanted, raises
}

// lowers reports whether desired lowers any limit o knows to be higher: such a write
// is paired with a read, for usage.
func (o observation) lowers(desired quota.Limits) bool {
	for field, want := range desired {
		if have, ok := o.Limits[field]; ok && quota.Above(have, want) {
			return true
		}
	}
	return false
}

// matches reports whether o knows every desired field at the value wanted: the wanted
// limits did not move since o, so only drift can differ.
func (o observation) matches(desired quota.Limits) bool {
	for field, want := range desired {
		if have, ok := o.Limits[field]; !ok || have != want {
			return false
		}
	}
	return true
}

// byName orders quota fields as their names sort, "<service>.<field>", the order
// messages and events list them in.
func byName(a, b quota.Field) int { return strings.Compare(a.String(), b.String()) }
