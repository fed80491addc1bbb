package policy

import (
	"fmt"
	"math/big"
	"strconv"
	"strings"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Peaks approved before they land: a DepartmentPolicy's peaks.autoApproveUpTo and
// autoApproveFactor say how large a peak is approved by itself; a larger one applies only
// while the ComputeQuota records an approval of exactly its values (spec.approvals,
// written by someone the API server let approve: config/admission/peak-approvals.yaml).

// PeakJudgement is what the governing policies and the approvals say of one peak.
type PeakJudgement struct {
	Season string
	// Values are the peak's capacity fields as it asks them.
	Values whv1.PeakCapacity
	// Over says which policy asks for an approval and why ("cores 256 is above
	// DepartmentPolicy central's autoApproveUpTo 128 and 2× the baseline 64"); empty
	// when the peak is approved by itself.
	Over []string
	// Approval is the approval of exactly Values; nil when none is recorded.
	Approval *whv1.PeakApproval
	// Stale is an approval recorded for other values, which does not count.
	Stale *whv1.PeakApproval
}

// Applies reports whether the peak may be applied: approved by itself or by someone.
func (j PeakJudgement) Applies() bool { return len(j.Over) == 0 || j.Approval != nil }

// capacityFields are the peak fields that take the cloud's capacity, judged in this order.
var capacityFields = []struct {
	name string
	get  func(*whv1.PeakCapacity) *int64
}{
	{"cores", func(c *whv1.PeakCapacity) *int64 { return c.Cores }},
	{"ramMiB", func(c *whv1.PeakCapacity) *int64 { return c.RAMMiB }},
	{"instances", func(c *whv1.PeakCapacity) *int64 { return c.Instances }},
}

// PeakValues are the capacity fields a peak sets (cores, ramMiB, instances).
func PeakValues(q whv1.QuotaSet) whv1.PeakCapacity {
	if q.Compute == nil {
		return whv1.PeakCapacity{}
	}
	return whv1.PeakCapacity{Cores: q.Compute.Cores, RAMMiB: q.Compute.RAMMiB, Instances: q.Compute.Instances}
}

// JudgePeaks judges every peak of cq against the policies that govern its namespace.
// Without a policy that sets peaks, every peak applies.
func JudgePeaks(policies []whv1.DepartmentPolicy, cq *whv1.ComputeQuota) []PeakJudgement {
	baseline := PeakValues(cq.Spec.Baseline)
	out := make([]PeakJudgement, 0, len(cq.Spec.Peaks))
	for _, peak := range cq.Spec.Peaks {
		j := PeakJudgement{Season: peak.Season, Values: PeakValues(peak.QuotaSet)}
		for i := range policies {
			// A policy that only ranks peaks (priority) approves nothing and asks nothing.
			if rules := policies[i].Spec.Peaks; rules != nil && (rules.AutoApproveUpTo != nil || rules.AutoApproveFactor != nil) {
				j.Over = append(j.Over, overRules(policies[i].Name, rules, j.Values, baseline)...)
			}
		}
		for i := range cq.Spec.Approvals {
			a := &cq.Spec.Approvals[i]
			switch {
			case a.Season != peak.Season:
			case SameCapacity(a.Compute, j.Values):
				j.Approval = a
			default:
				j.Stale = a
			}
		}
		out = append(out, j)
	}
	return out
}

// overRules says, per field of values above what rules approve by themselves, why.
func overRules(policy string, rules *whv1.PeakRules, values, baseline whv1.PeakCapacity) []string {
	var out []string
	factor, hasFactor := hundredths(rules.AutoApproveFactor)
	for _, f := range capacityFields {
		v := f.get(&values)
		if v == nil {
			continue // not raised by the peak
		}
		var upTo *int64
		if rules.AutoApproveUpTo != nil {
			upTo = f.get(rules.AutoApproveUpTo)
		}
		base := f.get(&baseline)
		withinUpTo := upTo != nil && (*upTo == -1 || (*v != -1 && *v <= *upTo))
		withinFactor := hasFactor && base != nil && (*base == -1 || (*v != -1 && *base >= 0 && atMostTimes(*v, factor, *base)))
		if withinUpTo || withinFactor {
			continue
		}
		var why []string
		if upTo != nil {
			why = append(why, fmt.Sprintf("autoApproveUpTo %s", limitText(*upTo)))
		}
		if hasFactor && base != nil {
			why = append(why, fmt.Sprintf("%s× the baseline %s", *rules.AutoApproveFactor, limitText(*base)))
		}
		if len(why) == 0 {
			why = append(why, "any limit it approves by itself (it sets none for this field)")
		}
		out = append(out, fmt.Sprintf("%s %s is above DepartmentPolicy %s's %s", f.name, limitText(*v), policy, strings.Join(why, " and ")))
	}
	return out
}

// atMostTimes reports whether v ≤ hundredths/100 × base, exactly: in integers (no float
// rounds the limit), and big ones (no admitted value overflows).
func atMostTimes(v, hundredths, base int64) bool {
	left := new(big.Int).Mul(big.NewInt(v), big.NewInt(100))
	right := new(big.Int).Mul(big.NewInt(hundredths), big.NewInt(base))
	return left.Cmp(right) <= 0
}

// hundredths reads a factor in hundredths; false when there is none or it does not
// parse (refused at admission; an object from before is judged without it).
func hundredths(factor *string) (int64, bool) {
	if factor == nil {
		return 0, false
	}
	h, err := ParseFactor(*factor)
	return h, err == nil
}

// ParseFactor reads an autoApproveFactor as admission admits it ("1", "1.5", "2.25",
// "100": 1 to 100, at most two decimals) in hundredths: 100, 150, 225, 10000.
func ParseFactor(factor string) (int64, error) {
	whole, frac, dotted := strings.Cut(factor, ".")
	if dotted && (len(frac) == 0 || len(frac) > 2) {
		return 0, fmt.Errorf("factor %q: at most two decimals", factor)
	}
	w, err1 := strconv.ParseUint(whole, 10, 7)
	f, err2 := strconv.ParseUint((frac + "00")[:2], 10, 7)
	h := int64(w)*100 + int64(f)
	if err1 != nil || err2 != nil || h < 100 || h > 10000 {
		return 0, fmt.Errorf("factor %q is not a decimal from 1 to 100", factor)
	}
	return h, nil
}

// SameCapacity reports whether two sets of capacity values are the same, field by field.
func SameCapacity(a, b whv1.PeakCapacity) bool {
	for _, f := range capacityFields {
		if x, y := f.get(&a), f.get(&b); (x == nil) != (y == nil) || (x != nil && *x != *y) {
			return false
		}
	}
	return true
}

// CapacityText writes capacity values as "cores=256 ramMiB=524288".
func CapacityText(c whv1.PeakCapacity) string {
	var parts []string
	for _, f := range capacityFields {
		if v := f.get(&c); v != nil {
			parts = append(parts, fmt.Sprintf("%s=%s", f.name, limitText(*v)))
		}
	}
	if len(parts) == 0 {
		return "no compute values"
	}
	return strings.Join(parts, " ")
}
