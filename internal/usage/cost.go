package usage

import (
	"fmt"
	"math"
	"math/big"
	"regexp"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// QuantityPlaces is how many decimal places usage quantities keep.
const QuantityPlaces = 3

// minorUnits are the ISO 4217 currencies whose minor unit is not 2 decimal places.
var minorUnits = map[string]int{
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0,
	"PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	"CLF": 4, "UYW": 4,
}

// MinorUnit is the number of decimal places of a currency: 2 unless the table says
// otherwise.
func MinorUnit(currency string) int {
	if n, ok := minorUnits[currency]; ok {
		return n
	}
	return 2
}

var decimalPattern = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// ParseDecimal reads a non-negative decimal string ("0.021") exactly.
func ParseDecimal(s string) (*big.Rat, error) {
	if !decimalPattern.MatchString(s) {
		return nil, fmt.Errorf("%q is not a non-negative decimal", s)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("%q is not a non-negative decimal", s)
	}
	return r, nil
}

// Round rounds a non-negative r to places decimal places, half up.
func Round(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	n := new(big.Int).Mul(r.Num(), scale)
	n.Mul(n, big.NewInt(2))
	n.Add(n, r.Denom())
	d := new(big.Int).Mul(r.Denom(), big.NewInt(2))
	n.Quo(n, d) // floor((2·r·10^p + 1) / 2) = round half up, for r ≥ 0
	return new(big.Rat).SetFrac(n, scale)
}

// Format writes r with exactly places decimal places (rounded half up).
func Format(r *big.Rat, places int) string { return Round(r, places).FloatString(places) }

// FromFloat is a floating-point quantity from OpenStack as an exact decimal with
// QuantityPlaces places. NaN, infinities and negatives are zero.
func FromFloat(f float64) *big.Rat {
	if math.IsNaN(f) || math.IsInf(f, 0) || f <= 0 {
		return new(big.Rat)
	}
	return Round(new(big.Rat).SetFloat64(f), QuantityPlaces)
}

// Tariff is a Cloud's prices, parsed. A nil price is not charged.
type Tariff struct {
	Currency       string
	VCPUHour       *big.Rat
	RAMGiBHour     *big.Rat
	VolumeGiBMonth *big.Rat
}

// ParseTariff reads a Cloud's tariff; nil prices stay nil.
func ParseTariff(currency string, vcpuHour, ramGiBHour, volumeGiBMonth *string) (Tariff, error) {
	t := Tariff{Currency: currency}
	for _, p := range []struct {
		name string
		in   *string
		out  **big.Rat
	}{{"vcpuHour", vcpuHour, &t.VCPUHour}, {"ramGiBHour", ramGiBHour, &t.RAMGiBHour}, {"volumeGiBMonth", volumeGiBMonth, &t.VolumeGiBMonth}} {
		if p.in == nil {
			continue
		}
		r, err := ParseDecimal(*p.in)
		if err != nil {
			return Tariff{}, fmt.Errorf("tariff.%s: %w", p.name, err)
		}
		*p.out = r
	}
	return t, nil
}

// Priced is true when the tariff charges anything, so a cost is reported.
func (t Tariff) Priced() bool {
	return t.Currency != "" && (t.VCPUHour != nil || t.RAMGiBHour != nil || t.VolumeGiBMonth != nil)
}

// Quantities are what a project used over a period. VolumeGiBMonths is nil when the
// cloud has no volume service.
type Quantities struct {
	VCPUHours       *big.Rat
	RAMGiBHours     *big.Rat
	DiskGiBHours    *big.Rat
	VolumeGiBMonths *big.Rat
}

// Zero is no usage (a period with no servers), volumes included when withVolumes.
func Zero(withVolumes bool) Quantities {
	q := Quantities{VCPUHours: new(big.Rat), RAMGiBHours: new(big.Rat), DiskGiBHours: new(big.Rat)}
	if withVolumes {
		q.VolumeGiBMonths = new(big.Rat)
	}
	return q
}

// FromNova turns Nova's figures for a period (vCPU-hours, RAM MiB-hours, disk GiB-hours)
// into quantities rounded to QuantityPlaces.
func FromNova(vcpuHours, ramMiBHours, diskGiBHours float64) Quantities {
	return Quantities{
		VCPUHours:    FromFloat(vcpuHours),
		RAMGiBHours:  FromFloat(ramMiBHours / 1024),
		DiskGiBHours: FromFloat(diskGiBHours),
	}
}

// Add sums two quantities; a nil VolumeGiBMonths on both sides stays nil.
func (q Quantities) Add(o Quantities) Quantities {
	add := func(a, b *big.Rat) *big.Rat {
		switch {
		case a == nil && b == nil:
			return nil
		case a == nil:
			return new(big.Rat).Set(b)
		case b == nil:
			return new(big.Rat).Set(a)
		}
		return new(big.Rat).Add(a, b)
	}
	return Quantities{add(q.VCPUHours, o.VCPUHours), add(q.RAMGiBHours, o.RAMGiBHours), add(q.DiskGiBHours, o.DiskGiBHours), add(q.VolumeGiBMonths, o.VolumeGiBMonths)}
}

// Cost is q at tariff t, rounded to the currency's minor unit: Σ quantity × price over
// the priced resources. ok is false when the tariff charges nothing.
func (t Tariff) Cost(q Quantities) (cost *big.Rat, ok bool) {
	if !t.Priced() {
		return nil, false
	}
	sum := new(big.Rat)
	for _, term := range [][2]*big.Rat{{q.VCPUHours, t.VCPUHour}, {q.RAMGiBHours, t.RAMGiBHour}, {q.VolumeGiBMonths, t.VolumeGiBMonth}} {
		if term[0] != nil && term[1] != nil {
			sum.Add(sum, new(big.Rat).Mul(term[0], term[1]))
		}
	}
	return Round(sum, MinorUnit(t.Currency)), true
}

// FormatCost writes a cost with the currency's minor unit.
func (t Tariff) FormatCost(cost *big.Rat) string { return Format(cost, MinorUnit(t.Currency)) }

// Volume is a block-storage volume as Cinder lists it.
type Volume struct {
	ProjectID string
	SizeGiB   int
	Created   time.Time
}

// IntegrateVolumes adds to gibHours, per project, each volume's GiB × the hours it
// existed in [since, now): from the later of since and its creation. It returns a new
// map; gibHours is not changed.
func IntegrateVolumes(gibHours map[string]*big.Rat, since, now time.Time, volumes []Volume) map[string]*big.Rat {
	out := make(map[string]*big.Rat, len(gibHours))
	for p, v := range gibHours {
		out[p] = new(big.Rat).Set(v)
	}
	for _, v := range volumes {
		from := since
		if v.Created.After(from) {
			from = v.Created
		}
		h := hours(from, now)
		if h.Sign() == 0 || v.SizeGiB <= 0 {
			continue
		}
		if out[v.ProjectID] == nil {
			out[v.ProjectID] = new(big.Rat)
		}
		out[v.ProjectID].Add(out[v.ProjectID], h.Mul(h, big.NewRat(int64(v.SizeGiB), 1)))
	}
	return out
}

// GiBMonths are GiB-hours over the month's full length, rounded to QuantityPlaces: a
// GiB kept all month is one GiB-month.
func GiBMonths(gibHours *big.Rat, m Month) *big.Rat {
	if gibHours == nil {
		return new(big.Rat)
	}
	return Round(new(big.Rat).Quo(gibHours, m.Hours()), QuantityPlaces)
}

// ExtraAbove is used − share where positive, else zero: the vCPU-hours a department ran
// above its baseline share during a peak window. A nil share (an unlimited baseline)
// leaves nothing above it.
func ExtraAbove(used, share *big.Rat) *big.Rat {
	if share == nil {
		return new(big.Rat)
	}
	d := new(big.Rat).Sub(used, share)
	if d.Sign() < 0 {
		return new(big.Rat)
	}
	return d
}

// BaselineShare is baseline cores × the hours of [from, to); nil for an unlimited
// baseline.
func BaselineShare(cores int64, from, to time.Time) *big.Rat {
	if cores == quota.Unlimited {
		return nil
	}
	h := hours(from, to)
	return h.Mul(h, big.NewRat(cores, 1))
}
