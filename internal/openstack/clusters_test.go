package openstack

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseClusterRecord(t *testing.T) {
	at := time.Date(2027, 1, 31, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		reason, raw string
		want        ClusterRecord
		found       bool
	}{
		{"no record", "", ClusterRecord{}, false},
		{"left the cloud", "left", ClusterRecord{Left: true}, true},
		{"renewed", at.Format(time.RFC3339), ClusterRecord{RenewedAt: at}, true},
	}
	for _, tc := range cases {
		got, found, err := parseClusterRecord(tc.raw)
		if err != nil || found != tc.found {
			t.Errorf("%s: found %v, err %v", tc.reason, found, err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: (-want +got)\n%s", tc.reason, diff)
		}
	}
	// A value we did not write is never read as expired: nothing is taken on it.
	got, found, _ := parseClusterRecord("yesterday")
	if !found || time.Since(got.RenewedAt) > time.Minute {
		t.Errorf("an unreadable record = %+v, %v; want one renewed now", got, found)
	}
}

func TestCheckClusterID(t *testing.T) {
	for id, ok := range map[string]bool{
		"0d7c5a8e-3f1b-4c2d-9e8f-1a2b3c4d5e6f": true, "central-2": true, "a": true,
		"": false, "Central": false, "-a": false, "a-": false, "a_b": false, "a/b": false,
		"x123456789012345678901234567890123456789012345678901234567890123": false,
	} {
		if err := CheckClusterID(id); (err == nil) != ok {
			t.Errorf("CheckClusterID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
