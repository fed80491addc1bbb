package controllers

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// compileSeason turns a PeakSeason's spec into a calendar.
func compileSeason(ps *whv1.PeakSeason) (*season.Season, error) {
	spec := season.Spec{TimeZone: ps.Spec.TimeZone}
	if ps.Spec.RampUp != nil {
		spec.RampUp = ps.Spec.RampUp.Duration
	}
	if ps.Spec.RampDown != nil {
		spec.RampDown = ps.Spec.RampDown.Duration
	}
	for _, w := range ps.Spec.Windows {
		ws := season.WindowSpec{From: ptr.Deref(w.From, ""), To: ptr.Deref(w.To, "")}
		if w.Yearly != nil {
			ws.Yearly = &season.Yearly{From: w.Yearly.From, To: w.Yearly.To}
		}
		spec.Windows = append(spec.Windows, ws)
	}
	return season.Compile(spec)
}

// loadSeasons reads and compiles the named PeakSeasons. A season that is missing or
// invalid is a spec problem with reason SeasonNotFound: the PeakSeason watch brings the
// object back when it appears or is fixed.
func loadSeasons(ctx context.Context, c client.Reader, names []string) (map[string]*season.Season, error) {
	out := make(map[string]*season.Season, len(names))
	for _, name := range names {
		var ps whv1.PeakSeason
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &ps); err != nil {
			if apierrors.IsNotFound(err) {
				return nil, newSpecError(whv1.ReasonSeasonNotFound, fmt.Sprintf("PeakSeason %q does not exist", name))
			}
			return nil, err
		}
		s, err := compileSeason(&ps)
		if err != nil {
			return nil, newSpecError(whv1.ReasonSeasonNotFound, fmt.Sprintf("PeakSeason %q is invalid: %v", name, err))
		}
		out[name] = s
	}
	return out, nil
}

// untilNext returns how long until the earliest next transition of seasons, and that
// instant; ok is false when none of them will ever change again.
func untilNext(seasons map[string]*season.Season, now time.Time) (time.Duration, time.Time, bool) {
	next, ok := season.Next(seasons, now)
	if !ok {
		return 0, time.Time{}, false
	}
	return max(next.Sub(now), 0), next, true
}
