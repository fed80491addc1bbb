package quota

import (
	"fmt"
	"maps"
)

// Unlimited is the limit that means no limit; it is above any number.
const Unlimited int64 = -1

// Limits maps quota fields to limits (Unlimited allowed); a field absent is not managed:
// never written nor reset. Usage by field has the same shape.
type Limits map[Field]int64

// Of returns the limits of one service.
func (l Limits) Of(service Service) Limits {
	out := Limits{}
	for f, v := range l {
		if f.Service() == service {
			out[f] = v
		}
	}
	return out
}

// Within returns the limits of l for the fields that fields sets (whatever their
// values): what a reading says of the fields a quota manages.
func (l Limits) Within(fields Limits) Limits {
	out := Limits{}
	for f := range fields {
		if v, ok := l[f]; ok {
			out[f] = v
		}
	}
	return out
}

// Max returns the larger limit, where Unlimited is larger than any number.
func Max(a, b int64) int64 {
	if a == Unlimited || b == Unlimited {
		return Unlimited
	}
	return max(a, b)
}

// Above reports whether limit a is above limit b, Unlimited being above any number.
func Above(a, b int64) bool { return Max(a, b) != b }

// Add returns a + b, where a sum with Unlimited in it is Unlimited.
func Add(a, b int64) int64 {
	if a == Unlimited || b == Unlimited {
		return Unlimited
	}
	return a + b
}

// Largest returns, per field, the largest limit (Max) any of qs sets; a field none sets
// is absent. The result is never nil and shares nothing with the inputs.
func Largest(qs ...Limits) Limits {
	out := Limits{}
	for _, q := range qs {
		for f, v := range q {
			if prev, ok := out[f]; ok {
				v = Max(prev, v)
			}
			out[f] = v
		}
	}
	return out
}

// Overlay returns the effective quota: baseline, with every field that an active peak
// sets replaced by the largest value the peaks give it (Largest). A peak replaces the
// baseline even where it is lower; a field absent from the baseline and from every peak
// stays absent, and is not managed. The result is never nil and shares nothing with the
// inputs.
func Overlay(baseline Limits, peaks ...Limits) Limits {
	out := make(Limits, len(baseline))
	maps.Copy(out, baseline)
	maps.Copy(out, Largest(peaks...))
	return out
}

// Format writes a limit as messages show it: a number, or "unlimited".
func Format(v int64) string {
	if v == Unlimited {
		return "unlimited"
	}
	return fmt.Sprint(v)
}
