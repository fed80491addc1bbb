package usage

import (
	"cmp"
	"math/big"
	"slices"
	"time"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	showback "github.com/whitehall-cloud/whitehall-operator/internal/usage"
)

// volumeHoursPlaces is how many decimal places the running GiB-hours keep in status.
const volumeHoursPlaces = 6

// meter is the usage of one Cloud's month, worked out from one read of OpenStack.
type meter struct {
	month   showback.Month
	tariff  showback.Tariff
	compute map[string]openstack.ProjectUsage
	// volumes are the running GiB-hours per project; nil without a volume service.
	volumes map[string]*big.Rat
}

// quantities are a project's quantities in the month so far (or all of it).
func (m meter) quantities(projectID string) showback.Quantities {
	u := m.compute[projectID]
	q := showback.FromNova(u.VCPUHours, u.RAMMiBHours, u.LocalGiBHours)
	if m.volumes != nil {
		q.VolumeGiBMonths = showback.GiBMonths(m.volumes[projectID], m.month)
	}
	return q
}

// figures writes quantities, and their cost at the tariff, as the API's decimal strings.
func (m meter) figures(q showback.Quantities) whv1.UsageFigures {
	f := whv1.UsageFigures{
		VCPUHours:    showback.Format(q.VCPUHours, showback.QuantityPlaces),
		RAMGiBHours:  showback.Format(q.RAMGiBHours, showback.QuantityPlaces),
		DiskGiBHours: showback.Format(q.DiskGiBHours, showback.QuantityPlaces),
	}
	if q.VolumeGiBMonths != nil {
		f.VolumeGiBMonths = showback.Format(q.VolumeGiBMonths, showback.QuantityPlaces)
	}
	if cost, ok := m.tariff.Cost(q); ok {
		f.Cost, f.Currency = m.tariff.FormatCost(cost), m.tariff.Currency
	}
	return f
}

// tariffOf parses a Cloud's tariff; a Cloud without one prices nothing.
func tariffOf(cloud *whv1.Cloud) (showback.Tariff, error) {
	t := cloud.Spec.Tariff
	if t == nil {
		return showback.Tariff{}, nil
	}
	return showback.ParseTariff(t.Currency, t.VCPUHour, t.RAMGiBHour, t.VolumeGiBMonth)
}

// integrate adds the volumes' GiB-hours over [since, until) to the running sums.
func integrate(running map[string]*big.Rat, since, until time.Time, vols []openstack.VolumeSize) map[string]*big.Rat {
	in := make([]showback.Volume, 0, len(vols))
	for _, v := range vols {
		in = append(in, showback.Volume{ProjectID: v.ProjectID, SizeGiB: v.SizeGiB, Created: v.Created})
	}
	return showback.IntegrateVolumes(running, since, until, in)
}

// runningVolumes reads the GiB-hours the Cloud's status carries for the month.
func runningVolumes(deps []whv1.MeteredDepartment) map[string]*big.Rat {
	out := map[string]*big.Rat{}
	for _, d := range deps {
		if r, err := showback.ParseDecimal(d.VolumeGiBHours); err == nil {
			out[d.ProjectID] = r
		}
	}
	return out
}

// statement is the month's UsageReport: every department metered, its figures, the
// totals per cost code and the month's total.
func statement(name string, cloud *whv1.Cloud, m meter, deps []whv1.MeteredDepartment) *whv1.UsageReport {
	r := &whv1.UsageReport{}
	r.Name = name
	r.Spec = whv1.UsageReportSpec{
		Month: m.month.String(), Cloud: cloud.Name, TimeZone: m.month.Loc.String(),
		Tariff: cloud.Spec.Tariff.DeepCopy(), DepartmentCount: int32(len(deps)),
	}
	if m.tariff.Priced() {
		r.Spec.Currency = m.tariff.Currency
	}
	byCode := map[string]showback.Quantities{}
	counts := map[string]int32{}
	total := showback.Zero(m.volumes != nil)
	totalCost := new(big.Rat)
	for _, d := range deps {
		q := m.quantities(d.ProjectID)
		r.Spec.Departments = append(r.Spec.Departments, whv1.ReportDepartment{
			Namespace: d.Namespace, Tenant: d.Tenant, ProjectID: d.ProjectID, CostCode: d.CostCode, UsageFigures: m.figures(q),
		})
		byCode[d.CostCode] = q.Add(byCode[d.CostCode])
		counts[d.CostCode]++
		total = total.Add(q)
		if cost, ok := m.tariff.Cost(q); ok {
			totalCost.Add(totalCost, cost) // the sum of the lines as printed
		}
	}
	for code, q := range byCode {
		t := whv1.CostCodeTotal{CostCode: code, Departments: counts[code], UsageFigures: m.figures(q)}
		if m.tariff.Priced() {
			t.Cost = m.tariff.FormatCost(codeCost(m, deps, code))
		}
		r.Spec.Totals = append(r.Spec.Totals, t)
	}
	slices.SortFunc(r.Spec.Totals, func(a, b whv1.CostCodeTotal) int { return cmp.Compare(a.CostCode, b.CostCode) })
	if m.tariff.Priced() {
		r.Spec.Total = m.tariff.FormatCost(totalCost)
	}
	return r
}

// codeCost is the sum of the rounded costs of the departments charged to code, so a
// cost code's total is exactly the sum of its lines.
func codeCost(m meter, deps []whv1.MeteredDepartment, code string) *big.Rat {
	sum := new(big.Rat)
	for _, d := range deps {
		if d.CostCode == code {
			if cost, ok := m.tariff.Cost(m.quantities(d.ProjectID)); ok {
				sum.Add(sum, cost)
			}
		}
	}
	return sum
}

// sortDepartments orders departments by namespace, Tenant and project.
func sortDepartments(deps []whv1.MeteredDepartment) {
	slices.SortFunc(deps, func(a, b whv1.MeteredDepartment) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Tenant, b.Tenant), cmp.Compare(a.ProjectID, b.ProjectID))
	})
}
