package season

import "maps"

// Unlimited is the quota value that means no limit; it beats any number.
const Unlimited int64 = -1

// Max returns the larger limit, where Unlimited is larger than any number.
func Max(a, b int64) int64 {
	if a == Unlimited || b == Unlimited {
		return Unlimited
	}
	return max(a, b)
}

// Overlay returns the effective quota: baseline, with every field that an
// active peak sets replaced by the largest value the peaks give it (Max). A
// peak replaces the baseline even where it is lower; a field absent from the
// baseline and from every peak stays absent, and is not managed. The result is
// never nil and shares nothing with the inputs.
//
// A quota maps a field to its limit; the caller's field type (the quota
// services' fields) is the key, so this package knows no field names.
func Overlay[Q ~map[F]int64, F comparable](baseline Q, peaks ...Q) Q {
	out := make(Q, len(baseline))
	maps.Copy(out, baseline)
	fromPeaks := Q{}
	for _, peak := range peaks {
		for k, v := range peak {
			if prev, ok := fromPeaks[k]; ok {
				v = Max(prev, v)
			}
			fromPeaks[k] = v
		}
	}
	maps.Copy(out, fromPeaks)
	return out
}
