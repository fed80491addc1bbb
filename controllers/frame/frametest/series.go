// Package frametest helps tests read the metrics the frame's hooks publish.
package frametest

import (
	"sort"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/prometheus/client_golang/prometheus"
)

// SeriesOf lists the series of vec whose namespace label is namespace, as
// "label=value,…" strings, sorted.
func SeriesOf(t *testing.T, vec prometheus.Collector, namespace string) []string {
	t.Helper()
	ch := make(chan prometheus.Metric, 1024)
	go func() { vec.Collect(ch); close(ch) }()
	var out []string
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		s, ns := "", ""
		for _, l := range pb.GetLabel() {
			if l.GetName() == "namespace" {
				ns = l.GetValue()
				continue
			}
			s += l.GetName() + "=" + l.GetValue() + ","
		}
		if ns == namespace {
			out = append(out, s)
		}
	}
	sort.Strings(out)
	return out
}
