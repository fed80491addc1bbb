package controllers

import (
	"os"
	"path/filepath"
	"testing"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// TestDefaultsAgree pins each default the API server applies (a CRD marker) to the Go
// value used when a field is absent, so the two can never say different things.
func TestDefaultsAgree(t *testing.T) {
	cases := []struct {
		crd  string
		path []string
		want string // the Go side's default, as JSON
	}{
		{"peakseasons", []string{"spec", "timeZone"}, `"` + season.DefaultTimeZone + `"`},
		{"tenants", []string{"spec", "project", "enabled"}, boolJSON(whv1.ProjectSpec{}.IsEnabled())},
	}
	for _, c := range cases {
		raw, err := os.ReadFile(filepath.Join("..", "config", "crd", "bases", "whitehall.cloud_"+c.crd+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var crd apiextensionsv1.CustomResourceDefinition
		if err := yaml.Unmarshal(raw, &crd); err != nil {
			t.Fatal(err)
		}
		schema := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, p := range c.path {
			next, ok := schema.Properties[p]
			if !ok {
				t.Fatalf("%s: no field %s in %v", c.crd, p, c.path)
			}
			schema = &next
		}
		if schema.Default == nil || string(schema.Default.Raw) != c.want {
			t.Errorf("%s %v: the CRD defaults to %v, Go to %s", c.crd, c.path, schema.Default, c.want)
		}
	}
}

func boolJSON(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
