package roundrobin

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestQueuesServeKeysInTurn(t *testing.T) {
	type push struct{ key, item string }
	for _, tc := range []struct {
		reason string
		pushes []push
		remove []push // removed before popping
		want   []string
	}{
		{reason: "one key keeps its order", pushes: []push{{"a", "a1"}, {"a", "a2"}}, want: []string{"a1", "a2"}},
		{
			reason: "a key's backlog is interleaved with the others",
			pushes: []push{{"a", "a1"}, {"a", "a2"}, {"a", "a3"}, {"b", "b1"}, {"c", "c1"}},
			want:   []string{"a1", "b1", "c1", "a2", "a3"},
		},
		{
			reason: "a removed item is never handed out, and its key leaves the ring when empty",
			pushes: []push{{"a", "a1"}, {"b", "b1"}, {"a", "a2"}, {"c", "c1"}},
			remove: []push{{"b", "b1"}, {"a", "a1"}},
			want:   []string{"a2", "c1"},
		},
	} {
		var q Queues[string, string]
		for _, p := range tc.pushes {
			q.Push(p.key, p.item)
		}
		for _, r := range tc.remove {
			if !q.Remove(r.key, func(s string) bool { return s == r.item }) {
				t.Errorf("%s: Remove(%s) found nothing", tc.reason, r.item)
			}
		}
		var got []string
		for q.Len() > 0 {
			item, _ := q.Pop()
			got = append(got, item)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: order (-want +got):\n%s", tc.reason, diff)
		}
		if _, ok := q.Pop(); ok || len(q.Keys()) != 0 {
			t.Errorf("%s: the emptied queues still hand out items or keep keys %v", tc.reason, q.Keys())
		}
	}
}

func TestQueuesLateKeyWaitsOneRound(t *testing.T) {
	var q Queues[string, string]
	for _, k := range []string{"a", "a", "a", "b", "b", "b"} {
		q.Push(k, k)
	}
	q.Pop() // a
	q.Push("c", "c")
	// b's and a's next items at most, then c.
	for turn := 1; ; turn++ {
		if item, _ := q.Pop(); item == "c" {
			if turn > 3 {
				t.Errorf("c came with pop %d after it arrived; want at most 3", turn)
			}
			return
		}
	}
}
