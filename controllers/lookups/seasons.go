package lookups

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// CompileSeason turns a PeakSeason's spec into a calendar.
func CompileSeason(ps *whv1.PeakSeason) (*season.Season, error) {
	spec := season.Spec{TimeZone: ps.Spec.TimeZone}
	if ps.Spec.RampUp != nil {
		spec.RampUp = ps.Spec.RampUp.Duration
	}
	if ps.Spec.RampDown != nil {
		spec.RampDown = ps.Spec.RampDown.Duration
	}
	if h := ps.Spec.Holidays; h != nil {
		spec.Holidays = &season.HolidaySpec{Calendar: season.Calendar(h.Calendar), Add: h.Add, Remove: h.Remove}
	}
	for _, w := range ps.Spec.Windows {
		ws := season.WindowSpec{From: ptr.Deref(w.From, ""), To: ptr.Deref(w.To, "")}
		if w.Yearly != nil {
			ws.Yearly = &season.Yearly{From: w.Yearly.From, To: w.Yearly.To}
		}
		if w.Monthly != nil {
			ws.Monthly = &season.Monthly{From: int(w.Monthly.From), To: int(w.Monthly.To)}
		}
		if wd := w.WorkingDays; wd != nil {
			ws.WorkingDays = &season.WorkingDaysWindow{Count: int(wd.Count), Before: ptr.Deref(wd.Before, ""), OfMonth: int(ptr.Deref(wd.OfMonth, 0))}
		}
		spec.Windows = append(spec.Windows, ws)
	}
	return season.Compile(spec)
}

// LoadSeasons reads and compiles the named PeakSeasons. A season that is missing or
// invalid loses only its own peak: it is left out of seasons and named in problem, a
// spec error with reason SeasonNotFound for the caller to report once it has applied
// everything else (the baseline, the other peaks). The PeakSeason watch brings the
// object back when the season appears or is fixed. An invalid season's own Ready
// condition says what is wrong with it; err is a failure to read.
func LoadSeasons(ctx context.Context, c client.Reader, names []string) (seasons map[string]*season.Season, problem, err error) {
	seasons = make(map[string]*season.Season, len(names))
	var missing []string
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		var ps whv1.PeakSeason
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &ps); err != nil {
			if apierrors.IsNotFound(err) {
				missing = append(missing, fmt.Sprintf("PeakSeason %q does not exist", name))
				continue
			}
			return nil, nil, err
		}
		s, err := CompileSeason(&ps)
		if err != nil {
			missing = append(missing, fmt.Sprintf("PeakSeason %q is invalid (its Ready condition says why)", name))
			continue
		}
		seasons[name] = s
	}
	if len(missing) > 0 {
		problem = frame.NewSpecError(whv1.ReasonSeasonNotFound, strings.Join(missing, "; ")+": its peak is not applied, the rest is")
	}
	return seasons, problem, nil
}

// UntilNext returns how long until the earliest next transition of seasons, and that
// instant; ok is false when none of them will ever change again.
func UntilNext(seasons map[string]*season.Season, now time.Time) (time.Duration, time.Time, bool) {
	next, ok := season.Next(seasons, now)
	if !ok {
		return 0, time.Time{}, false
	}
	return max(next.Sub(now), 0), next, true
}
