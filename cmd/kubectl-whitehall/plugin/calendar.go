package plugin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// DefaultCalendarDays is how far calendar looks ahead unless told.
const DefaultCalendarDays = 90

// maxCalendarDays bounds --days: a yearly season turns twice a year, so ten years stay short.
const maxCalendarDays = 3660

// Calendar is what calendar reports: each season now, and every transition of the period.
type Calendar struct {
	From        time.Time       `json:"from"`
	To          time.Time       `json:"to"`
	Seasons     []SeasonSummary `json:"seasons"`
	Transitions []Transition    `json:"transitions"`
}

// SeasonSummary is one PeakSeason: its state now and whether its committed peaks fit.
type SeasonSummary struct {
	Name     string `json:"name"`
	TimeZone string `json:"timeZone"`
	Active   bool   `json:"active"`
	// Error says why the season does not compile; it then has no transitions.
	Error     string                `json:"error,omitempty"`
	Committed *whv1.CapacityAmounts `json:"committed,omitempty"`
	Capacity  *whv1.CapacityAmounts `json:"capacity,omitempty"`
	// Fits is whether every committed amount is within capacity; absent when either is unknown.
	Fits *bool `json:"fits,omitempty"`
	// CapacityAtRisk is the season's condition as the operator last set it.
	CapacityAtRisk *metav1.Condition `json:"capacityAtRisk,omitempty"`
}

// Transition is one season turning on or off, and the quotas that change with it.
type Transition struct {
	// At is the instant, in the season's time zone.
	At     time.Time `json:"at"`
	Season string    `json:"season"`
	Active bool      `json:"active"`
	// Rules are the windows of the season that start (or end) at At, as
	// "windows[1]: the last 5 working days before 01-31 (England and Wales)".
	Rules []string `json:"rules,omitempty"`
	// ActiveSeasons are every season active from At on.
	ActiveSeasons []string `json:"activeSeasons"`
	// Quotas are the ComputeQuotas with a peak for Season, with the quota they get at At.
	Quotas []QuotaAt `json:"quotas,omitempty"`
}

// QuotaAt is the quota one ComputeQuota asks for from a transition on.
type QuotaAt struct {
	Namespace string        `json:"namespace"`
	Name      string        `json:"name"`
	Effective whv1.QuotaSet `json:"effective"`
}

// CalendarOptions say which quotas calendar shows, how far ahead, and how.
type CalendarOptions struct {
	// Namespace of the ComputeQuotas shown; "" for every namespace.
	Namespace string
	Days      int
	Output    string
	Now       time.Time
}

func runCalendar(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("calendar [--days N] [-n NAMESPACE | -A] [-o json]", env)
	flags := bindRead(fs)
	days := fs.Int("days", DefaultCalendarDays, "How many days ahead to look.")
	positional, err := flags.parse(fs, args)
	if err != nil {
		return err
	}
	kube, output := flags.kube, flags.output
	if len(positional) > 0 {
		return errors.New("calendar takes no arguments")
	}
	if err := checkDays(*days); err != nil {
		return err
	}
	if !kube.AllNamespaces && kube.Namespace == "" {
		// Seasons are shared by every department: by default show every namespace's quotas.
		kube.AllNamespaces = true
	}
	cluster, err := env.Connect(kube)
	if err != nil {
		return err
	}
	return ShowCalendar(ctx, cluster.Client, CalendarOptions{Namespace: cluster.Namespace, Days: *days, Output: *output, Now: env.Now()}, env.Out)
}

// ShowCalendar reads the PeakSeasons and the ComputeQuotas in scope and writes the
// calendar of the next opts.Days days.
func ShowCalendar(ctx context.Context, c client.Reader, opts CalendarOptions, out io.Writer) error {
	if err := checkDays(opts.Days); err != nil {
		return err
	}
	var seasons whv1.PeakSeasonList
	if err := c.List(ctx, &seasons); err != nil {
		return fmt.Errorf("listing PeakSeasons: %w", err)
	}
	var quotas whv1.ComputeQuotaList
	if err := c.List(ctx, &quotas, inScope(opts.Namespace)...); err != nil {
		return fmt.Errorf("listing ComputeQuotas: %w", err)
	}
	cal := ComputeCalendar(seasons.Items, quotas.Items, opts.Now, opts.Now.AddDate(0, 0, opts.Days))
	if opts.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(cal)
	}
	return RenderCalendar(out, cal)
}

// ComputeCalendar lists the transitions in [from, to) of every season that compiles,
// compiled as the operator compiles them, with each ComputeQuota's effective quota at
// each transition of a season it has a peak for.
func ComputeCalendar(peakSeasons []whv1.PeakSeason, quotas []whv1.ComputeQuota, from, to time.Time) Calendar {
	cal := Calendar{From: from, To: to, Seasons: []SeasonSummary{}, Transitions: []Transition{}}
	compiled := map[string]*season.Season{}
	for i := range peakSeasons {
		ps := &peakSeasons[i]
		summary := summarize(ps)
		s, err := lookups.CompileSeason(ps)
		if err != nil {
			summary.Error = err.Error()
		} else {
			compiled[ps.Name] = s
			summary.Active, _ = s.ActiveAt(from)
			cal.Transitions = append(cal.Transitions, transitionsOf(ps.Name, s, from, to)...)
		}
		cal.Seasons = append(cal.Seasons, summary)
	}
	slices.SortFunc(cal.Seasons, func(a, b SeasonSummary) int { return cmp.Compare(a.Name, b.Name) })
	slices.SortFunc(cal.Transitions, func(a, b Transition) int {
		return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Season, b.Season))
	})
	for i := range cal.Transitions {
		t := &cal.Transitions[i]
		t.ActiveSeasons = season.Active(compiled, t.At)
		if t.ActiveSeasons == nil {
			t.ActiveSeasons = []string{}
		}
		t.Quotas = quotasAt(quotas, t.Season, t.ActiveSeasons)
	}
	return cal
}

func checkDays(days int) error {
	if days < 1 || days > maxCalendarDays {
		return fmt.Errorf("--days must be between 1 and %d", maxCalendarDays)
	}
	return nil
}

// transitionsOf is a season's transitions from from until to, in its own zone, each
// with the windows that make it.
func transitionsOf(name string, s *season.Season, from, to time.Time) []Transition {
	var out []Transition
	for _, tr := range s.Between(from, to) {
		out = append(out, Transition{At: tr.At.In(s.Location()), Season: name, Active: tr.Active, Rules: tr.Rules})
	}
	return out
}

// quotasAt is the effective quota, with active seasons on, of each ComputeQuota that has
// a peak for the season that turned.
func quotasAt(quotas []whv1.ComputeQuota, turned string, active []string) []QuotaAt {
	var out []QuotaAt
	for i := range quotas {
		cq := &quotas[i]
		if !slices.ContainsFunc(cq.Spec.Peaks, func(p whv1.QuotaPeak) bool { return p.Season == turned }) {
			continue
		}
		out = append(out, QuotaAt{Namespace: cq.Namespace, Name: cq.Name, Effective: quota.ToAPI(quota.Effective(cq, active))})
	}
	slices.SortFunc(out, func(a, b QuotaAt) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// summarize reads what the operator reported of a season's capacity.
func summarize(ps *whv1.PeakSeason) SeasonSummary {
	s := SeasonSummary{
		Name: ps.Name, TimeZone: ps.Spec.TimeZone,
		Committed: ps.Status.Committed, Capacity: ps.Status.Capacity,
		CapacityAtRisk: meta.FindStatusCondition(ps.Status.Conditions, whv1.ConditionCapacityAtRisk),
	}
	if over, known := overCapacity(ps.Status.Committed, ps.Status.Capacity); known {
		fits := len(over) == 0
		s.Fits = &fits
	}
	return s
}

// capacityFields are the amounts a season commits, in the order shown.
var capacityFields = []struct {
	name string
	get  func(*whv1.CapacityAmounts) *int64
}{
	{"cores", func(a *whv1.CapacityAmounts) *int64 { return a.Cores }},
	{"ramMiB", func(a *whv1.CapacityAmounts) *int64 { return a.RAMMiB }},
	{"instances", func(a *whv1.CapacityAmounts) *int64 { return a.Instances }},
}

// overCapacity names the amounts committed above capacity; known is false when no
// amount is known on both sides.
func overCapacity(committed, capacity *whv1.CapacityAmounts) (over []string, known bool) {
	if committed == nil || capacity == nil {
		return nil, false
	}
	for _, f := range capacityFields {
		c, limit := f.get(committed), f.get(capacity)
		if c == nil || limit == nil {
			continue
		}
		known = true
		if quota.Above(*c, *limit) {
			over = append(over, f.name)
		}
	}
	return over, known
}
