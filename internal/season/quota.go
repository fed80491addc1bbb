package season

import "maps"

// Unlimited is the quota value that means no limit; it beats any number.
const Unlimited int64 = -1

// Quota maps a resource name (cores, ramMiB, …) to its limit. An absent key is
// not managed and is never written.
type Quota map[string]int64

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
// baseline and from every peak stays absent. The result is never nil and
// shares nothing with the inputs.
func Overlay(baseline Quota, peaks ...Quota) Quota {
	out := make(Quota, len(baseline))
	maps.Copy(out, baseline)
	fromPeaks := Quota{}
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
