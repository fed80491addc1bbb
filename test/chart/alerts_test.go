package chart

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// TestPrometheusRules renders the peak alerts and checks that each names only metrics
// the operator publishes (as its metrics.go files declare them), with the thresholds
// the values give.
func TestPrometheusRules(t *testing.T) {
	t.Parallel()
	if render(t).find("PrometheusRule", fullname) != nil {
		t.Fatal("a PrometheusRule without prometheusRules.enabled")
	}
	objs := render(t, "prometheusRules.enabled=true", "prometheusRules.labels.release=prometheus", "prometheusRules.capacityWarningDays=21")
	rule := objs.find("PrometheusRule", fullname)
	if rule == nil {
		t.Fatalf("no PrometheusRule: %v", objs.keys())
	}
	if rule.GetAPIVersion() != "monitoring.coreos.com/v1" || rule.GetLabels()["release"] != "prometheus" {
		t.Errorf("PrometheusRule %s labels %v", rule.GetAPIVersion(), rule.GetLabels())
	}
	groups, _, err := unstructured.NestedSlice(rule.Object, "spec", "groups")
	if err != nil {
		t.Fatal(err)
	}
	var alerts []string
	published := publishedMetrics(t)
	for _, g := range groups {
		rules, _, err := unstructured.NestedSlice(g.(map[string]any), "rules")
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			r := r.(map[string]any)
			alerts = append(alerts, r["alert"].(string))
			expr := r["expr"].(string)
			for _, name := range regexp.MustCompile(`whitehall_[a-z_]+`).FindAllString(expr, -1) {
				if !slices.Contains(published, name) {
					t.Errorf("alert %s names %s, which the operator does not publish", r["alert"], name)
				}
			}
			if r["alert"] == "WhitehallSeasonCapacityAtRisk" && !strings.Contains(expr, "< 1814400") {
				t.Errorf("capacityWarningDays=21 is not 1814400 s in %q", expr)
			}
		}
	}
	want := []string{"WhitehallSeasonCapacityAtRisk", "WhitehallPeakPendingApproval", "WhitehallPeakNotLowered"}
	if diff := cmp.Diff(want, alerts); diff != "" {
		t.Errorf("alerts (-want +got):\n%s", diff)
	}
}

// publishedMetrics are the metric names the controllers declare (Name: "whitehall_…").
func publishedMetrics(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "controllers", "*", "metrics.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no metrics.go under controllers: %v", err)
	}
	var out []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`Name:\s*"(whitehall_[a-z_]+)"`).FindAllStringSubmatch(string(data), -1) {
			out = append(out, m[1])
		}
	}
	return out
}
