package quota

import (
	"slices"

	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// FromAPI returns the fields an API QuotaSet sets.
func FromAPI(q whv1.QuotaSet) Limits {
	out := Limits{}
	for f := range numFields {
		if v := *fields[f].slot(&q, false); v != nil {
			out[f] = *v
		}
	}
	return out
}

// ToAPI is the inverse of FromAPI: a QuotaSet with the services' parts it needs only.
func ToAPI(l Limits) whv1.QuotaSet {
	var out whv1.QuotaSet
	for f, v := range l {
		*fields[f].slot(&out, true) = ptr.To(v)
	}
	return out
}

// slot finds a field's place in a QuotaSet. With create set it makes the service's part
// when missing; without, a missing part reads as a field not set.
type slot func(q *whv1.QuotaSet, create bool) **int64

func compute(field func(*whv1.ComputeLimits) **int64) slot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.Compute, create)) }
}

func network(field func(*whv1.NetworkLimits) **int64) slot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.Network, create)) }
}

func blockStorage(field func(*whv1.BlockStorageLimits) **int64) slot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.BlockStorage, create)) }
}

// part returns a service's part of a QuotaSet: made when missing with create set, else
// an empty one that is not kept.
func part[T any](p **T, create bool) *T {
	switch {
	case *p != nil:
		return *p
	case create:
		*p = new(T)
		return *p
	default:
		return new(T)
	}
}

// Effective is the quota a ComputeQuota asks for while the seasons named in active are
// on: its baseline overlaid with those seasons' peaks.
func Effective(cq *whv1.ComputeQuota, active []string) Limits {
	var peaks []Limits
	for _, p := range cq.Spec.Peaks {
		if slices.Contains(active, p.Season) {
			peaks = append(peaks, FromAPI(p.QuotaSet))
		}
	}
	return Overlay(FromAPI(cq.Spec.Baseline), peaks...)
}
