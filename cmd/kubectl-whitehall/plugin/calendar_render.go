package plugin

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// calendarTime is how calendar writes an instant: wall clock and zone abbreviation of
// the season's zone (GMT or BST for Europe/London).
const calendarTime = "2006-01-02 15:04 MST"

// RenderCalendar writes the calendar for a person: the seasons as a table, then each
// transition with the quotas it changes.
func RenderCalendar(out io.Writer, cal Calendar) error {
	if len(cal.Seasons) == 0 {
		_, err := fmt.Fprintln(out, "No PeakSeasons found.")
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	table := &printer{w: tw}
	table.printf("SEASON\tZONE\tNOW\tCOMMITTED\tCAPACITY\tFITS\tCAPACITY AT RISK\n")
	for _, s := range cal.Seasons {
		table.printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Name, s.TimeZone, seasonState(s),
			amountsText(s.Committed), amountsText(s.Capacity), fitsText(s.Fits), riskText(s))
	}
	if table.err != nil {
		return table.err
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	p := &printer{w: out}
	p.printf("\nTransitions from %s to %s, each in its season's zone:\n", cal.From.UTC().Format(calendarTime), cal.To.UTC().Format(calendarTime))
	if len(cal.Transitions) == 0 {
		p.printf("  none\n")
	}
	seasons := map[string]SeasonSummary{}
	for _, s := range cal.Seasons {
		seasons[s.Name] = s
	}
	for _, t := range cal.Transitions {
		writeTransition(p, t, seasons[t.Season])
	}
	return p.err
}

func writeTransition(p *printer, t Transition, s SeasonSummary) {
	turn, active := "off", "none"
	if t.Active {
		turn = "on"
	}
	if len(t.ActiveSeasons) > 0 {
		active = strings.Join(t.ActiveSeasons, ", ")
	}
	line := fmt.Sprintf("%s  %s turns %s (active: %s)", t.At.Format(calendarTime), t.Season, turn, active)
	if t.Active {
		line += "; committed peaks " + capacityVerdict(s)
	}
	p.printf("%s\n", line)
	for _, rule := range t.Rules {
		p.printf("  by %s\n", rule)
	}
	for _, q := range t.Quotas {
		p.printf("  %s/%s: %s\n", q.Namespace, q.Name, limitsText(q.Effective))
	}
}

func seasonState(s SeasonSummary) string {
	switch {
	case s.Error != "":
		return "invalid: " + s.Error
	case s.Active:
		return "active"
	}
	return "inactive"
}

func capacityVerdict(s SeasonSummary) string {
	switch {
	case s.Fits == nil:
		return "against a capacity not known"
	case *s.Fits:
		return "fit the capacity"
	}
	over, _ := overCapacity(s.Committed, s.Capacity)
	return "EXCEED the capacity (" + strings.Join(over, ", ") + ")"
}

func fitsText(fits *bool) string {
	switch {
	case fits == nil:
		return "unknown"
	case *fits:
		return "yes"
	}
	return "NO"
}

func riskText(s SeasonSummary) string {
	if s.CapacityAtRisk == nil {
		return "-"
	}
	return string(s.CapacityAtRisk.Status) + " " + s.CapacityAtRisk.Reason
}

// amountsText writes capacity amounts as "cores=120 ramMiB=245760 instances=40".
func amountsText(a *whv1.CapacityAmounts) string {
	if a == nil {
		return "-"
	}
	var parts []string
	for _, f := range capacityFields {
		if v := f.get(a); v != nil {
			parts = append(parts, f.name+"="+quota.Format(*v))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}

// limitsText writes a quota as "compute.cores=40 compute.ramMiB=81920", in table order.
func limitsText(q whv1.QuotaSet) string {
	limits := quota.FromAPI(q)
	var parts []string
	for _, f := range fieldsIn(limits) {
		parts = append(parts, f.String()+"="+quota.Format(limits[f]))
	}
	if len(parts) == 0 {
		return "no managed field"
	}
	return strings.Join(parts, " ")
}
