package season

import (
	"testing"
	"time"
)

func mustCompile(t testing.TB, s Spec) *Season {
	t.Helper()
	season, err := Compile(s)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return season
}

// at parses an RFC 3339 instant, so that cases state exact UTC instants.
func at(t testing.TB, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("bad instant %q: %v", s, err)
	}
	return ts
}

// answer is what a season says about one instant, as UTC text for readable diffs.
type answer struct {
	Active     bool
	Start, End string
	Next       string
}

func ask(s *Season, t time.Time) answer {
	active, cur := s.ActiveAt(t)
	a := answer{Active: active, Start: text(cur.Start), End: text(cur.End)}
	if next, ok := s.NextTransition(t); ok {
		a.Next = text(next)
	}
	return a
}

func text(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func yearly(from, to string) WindowSpec { return WindowSpec{Yearly: &Yearly{From: from, To: to}} }

func oneOff(from, to string) WindowSpec { return WindowSpec{From: from, To: to} }
