package frame

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestResultRequeueIsBounded(t *testing.T) {
	boom := errors.New("boom")
	cases := []struct {
		reason  string
		o       outcome
		err     error
		want    time.Duration
		backoff bool
	}{
		{"a wait of days is cut to a day", outcome{requeueAfter: 90 * 24 * time.Hour}, nil, maxRequeue, false},
		{"the largest duration is cut to a day", outcome{requeueAfter: math.MaxInt64}, nil, maxRequeue, false},
		{"a wait that came out negative is not 'never'", outcome{requeueAfter: -time.Hour}, nil, minRequeue, false},
		{"the smallest duration is not 'never'", outcome{requeueAfter: math.MinInt64}, nil, minRequeue, false},
		{"a zero wait is not 'never'", outcome{requeueAfter: 0}, nil, minRequeue, false},
		{"a boundary 300 ms away is kept exact", outcome{requeueAfter: 300 * time.Millisecond}, nil, 300 * time.Millisecond, false},
		{"a retry without a known wait backs off", outcome{retry: true}, boom, 0, true},
		{"a retry with a negative wait backs off", outcome{retry: true, requeueAfter: -time.Second}, boom, 0, true},
		{"a retry with a known wait waits that long", outcome{retry: true, requeueAfter: 7 * time.Second}, boom, 7 * time.Second, false},
		{"a retry asked for hours is cut to a day", outcome{retry: true, requeueAfter: math.MaxInt64}, boom, maxRequeue, false},
	}
	for _, tc := range cases {
		t.Run(tc.reason, func(t *testing.T) {
			res, err := tc.o.result(tc.err)
			if tc.backoff != (err != nil) {
				t.Fatalf("result() error = %v; want back-off %v", err, tc.backoff)
			}
			if res.RequeueAfter != tc.want {
				t.Errorf("RequeueAfter = %v, want %v", res.RequeueAfter, tc.want)
			}
		})
	}
}

func TestJitterStaysPositiveAndBounded(t *testing.T) {
	for _, d := range []time.Duration{math.MinInt64, -time.Second, 0, time.Nanosecond, time.Minute, maxRequeue, math.MaxInt64} {
		for range 100 {
			got := jitter(d)
			lo, hi := d, d+d/10
			if d <= 0 || d > maxRequeue {
				lo, hi = maxRequeue, maxRequeue+maxRequeue/10
			}
			if got < lo || got > hi {
				t.Fatalf("jitter(%v) = %v, want within [%v, %v]", d, got, lo, hi)
			}
		}
	}
}

func TestClassifyCapsRetryAfterAndResync(t *testing.T) {
	o := classify(nil, "ok", Intervals{Resync: math.MaxInt64})
	if res, _ := o.result(nil); res.RequeueAfter != maxRequeue {
		t.Errorf("a resync period of centuries requeues after %v, want %v", res.RequeueAfter, maxRequeue)
	}
}
