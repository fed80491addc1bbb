package capacity

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShareExamples(t *testing.T) {
	cases := []struct {
		reason    string
		available int64
		claims    []Claim
		want      map[string]int64
	}{
		{"everything fits", 1000, []Claim{{"hmrc", 10, 100, 400}, {"test", 1, 50, 200}}, map[string]int64{"hmrc": 400, "test": 200}},
		{"the higher priority first, the lower keeps its baseline", 500, []Claim{{"hmrc", 10, 100, 400}, {"test", 1, 50, 200}},
			map[string]int64{"hmrc": 400, "test": 100}},
		{"the higher one takes all but the lower's floor", 450, []Claim{{"hmrc", 10, 100, 400}, {"test", 1, 50, 200}},
			map[string]int64{"hmrc": 400, "test": 50}},
		{"equal priorities in proportion to what they want above their floors", 600, []Claim{{"a", 5, 100, 400}, {"b", 5, 100, 200}},
			map[string]int64{"a": 400, "b": 200}},
		{"equal priorities short: 300 above floors shared 3:1", 500, []Claim{{"a", 5, 100, 400}, {"b", 5, 100, 200}},
			map[string]int64{"a": 325, "b": 175}},
		{"floors alone exceed the cloud: nothing running is taken away", 100, []Claim{{"a", 5, 80, 400}, {"b", 1, 70, 200}},
			map[string]int64{"a": 80, "b": 70}},
		{"unlimited wants what there is", 300, []Claim{{"a", 5, 10, -1}, {"b", 1, 20, 50}}, map[string]int64{"a": 280, "b": 20}},
		{"remainder units go in key order", 10, []Claim{{"a", 1, 0, 10}, {"b", 1, 0, 10}, {"c", 1, 0, 10}},
			map[string]int64{"a": 4, "b": 3, "c": 3}},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			got := map[string]int64{}
			for k, g := range Share(tc.available, tc.claims) {
				got[k] = g.Value
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Share (-want +got):\n%s", diff)
			}
		})
	}
}

// TestShareProperties checks, over random seasons (fixed seeds), what Share promises:
// floors kept, no grant above its want, the capacity used up before anyone is cut, a
// lower priority above its floor only when every higher one has its whole peak, equal
// priorities within one unit of their proportional part, and the same answer in any
// order.
func TestShareProperties(t *testing.T) {
	for seed := uint64(1); seed <= 500; seed++ {
		r := rand.New(rand.NewPCG(seed, 7))
		n := 1 + r.IntN(12)
		available := r.Int64N(5000)
		var claims []Claim
		for i := range n {
			floor := r.Int64N(300)
			want := floor + r.Int64N(1000)
			if r.IntN(10) == 0 {
				want = -1
			}
			claims = append(claims, Claim{Key: fmt.Sprintf("d%02d", i), Priority: int32(r.IntN(3)), Floor: floor, Want: want})
		}
		grants := Share(available, claims)
		shuffled := append([]Claim(nil), claims...)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if diff := cmp.Diff(grants, Share(available, shuffled)); diff != "" {
			t.Fatalf("seed %d: order changes the answer:\n%s", seed, diff)
		}
		var sum, floors, wants int64
		for _, c := range claims {
			w := c.Want
			if w == -1 || w > available {
				w = max(available, c.Floor)
			}
			w = max(w, c.Floor)
			g := grants[c.Key].Value
			if g < c.Floor || g > w {
				t.Fatalf("seed %d: %s got %d, outside [floor %d, want %d]", seed, c.Key, g, c.Floor, w)
			}
			sum, floors, wants = sum+g, floors+c.Floor, wants+w
		}
		if want := max(floors, min(available, wants)); sum != want {
			t.Fatalf("seed %d: %d granted in all, want %d (available %d, floors %d, wants %d)", seed, sum, want, available, floors, wants)
		}
		for _, hi := range claims {
			for _, lo := range claims {
				w := hi.Want
				if w == -1 || w > available {
					w = max(available, hi.Floor)
				}
				if lo.Priority < hi.Priority && grants[hi.Key].Value < max(w, hi.Floor) && grants[lo.Key].Value > lo.Floor {
					t.Fatalf("seed %d: %s (priority %d) is cut while %s (priority %d) has more than its floor", seed, hi.Key, hi.Priority, lo.Key, lo.Priority)
				}
			}
		}
	}
}
