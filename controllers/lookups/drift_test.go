package lookups

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

func TestBoundDrift(t *testing.T) {
	entries := func(n int) []whv1.DriftEntry {
		out := make([]whv1.DriftEntry, n)
		for i := range out {
			out[i] = Drift(fmt.Sprintf("f%d", i), "1", "2")
		}
		return out
	}
	cases := []struct {
		reason   string
		n        int
		wantLen  int
		wantLast string
	}{
		{reason: "none", n: 0, wantLen: 0},
		{reason: "at the bound: all kept", n: whv1.MaxDrift, wantLen: whv1.MaxDrift, wantLast: fmt.Sprintf("f%d", whv1.MaxDrift-1)},
		{reason: "one over: the last entry counts the rest", n: whv1.MaxDrift + 1, wantLen: whv1.MaxDrift, wantLast: "… and 2 more"},
		{reason: "far over", n: 1000, wantLen: whv1.MaxDrift, wantLast: fmt.Sprintf("… and %d more", 1000-whv1.MaxDrift+1)},
	}
	for _, tc := range cases {
		got := BoundDrift(entries(tc.n))
		last := ""
		if len(got) > 0 {
			last = got[len(got)-1].Field
		}
		if diff := cmp.Diff([]any{tc.wantLen, tc.wantLast}, []any{len(got), last}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.reason, diff)
		}
	}
}

func TestDriftCutsLongValues(t *testing.T) {
	long := strings.Repeat("é", whv1.MaxDriftValue)
	e := Drift(long, long, long)
	for _, s := range []string{e.Field, e.Desired, e.Actual} {
		if len(s) > whv1.MaxDriftValue {
			t.Errorf("len %d > %d", len(s), whv1.MaxDriftValue)
		}
	}
}
