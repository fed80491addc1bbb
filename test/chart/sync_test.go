package chart

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

const staleHint = "the chart is stale: run hack/chart-sync.sh (make chart-sync) and commit"

// TestChartSyncFresh regenerates the chart's copies of the CRDs and the ClusterRole
// into a temporary directory and compares them, byte for byte, with the committed ones.
func TestChartSyncFresh(t *testing.T) {
	t.Parallel()
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(repoRoot, "hack", "chart-sync.sh"), "--out", out)
	if combined, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("hack/chart-sync.sh: %v\n%s", err, combined)
	}
	committed := filepath.Join(chartDir, "templates", "crds")
	fresh := filepath.Join(out, "templates", "crds")
	if diff := cmp.Diff(listDir(t, fresh), listDir(t, committed)); diff != "" {
		t.Errorf("templates/crds files (-generated +committed):\n%s\n%s", diff, staleHint)
	}
	for _, name := range listDir(t, fresh) {
		compareFile(t, filepath.Join(fresh, name), filepath.Join(committed, name))
	}
	compareFile(t, filepath.Join(out, "templates", "clusterrole.yaml"), filepath.Join(chartDir, "templates", "clusterrole.yaml"))
}

// TestRenderedCRDsAreGenerated checks the CRDs as helm renders them: the generated
// objects, plus only the keep annotation.
func TestRenderedCRDsAreGenerated(t *testing.T) {
	t.Parallel()
	rendered := render(t).ofKind("CustomResourceDefinition")
	generated := generatedCRDs(t)
	if len(rendered) != len(generated) {
		t.Errorf("%d CRDs rendered, %d generated; %s", len(rendered), len(generated), staleHint)
	}
	for _, want := range generated {
		got := rendered.find("CustomResourceDefinition", want.GetName())
		if got == nil {
			t.Errorf("CRD %s is not in the chart; %s", want.GetName(), staleHint)
			continue
		}
		got = got.DeepCopy()
		annotations := got.GetAnnotations()
		if annotations["helm.sh/resource-policy"] != "keep" {
			t.Errorf("CRD %s lacks helm.sh/resource-policy: keep", got.GetName())
		}
		delete(annotations, "helm.sh/resource-policy")
		got.SetAnnotations(annotations)
		if diff := cmp.Diff(want.Object, got.Object); diff != "" {
			t.Errorf("CRD %s (-generated +chart):\n%s\n%s", want.GetName(), diff, staleHint)
		}
	}
}

// TestClusterRoleRulesAreGenerated checks that the ClusterRole helm renders grants
// exactly the rules controller-gen generated from the RBAC markers.
func TestClusterRoleRulesAreGenerated(t *testing.T) {
	t.Parallel()
	var generated rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(readFile(t, filepath.Join(repoRoot, "config", "rbac", "role.yaml")), &generated); err != nil {
		t.Fatalf("config/rbac/role.yaml: %v", err)
	}
	if len(generated.Rules) == 0 {
		t.Fatal("config/rbac/role.yaml has no rules")
	}
	chart := get[rbacv1.ClusterRole](t, render(t), "ClusterRole", fullname)
	if diff := cmp.Diff(generated.Rules, chart.Rules); diff != "" {
		t.Errorf("ClusterRole rules (-config/rbac/role.yaml +chart):\n%s\n%s", diff, staleHint)
	}
}

// generatedCRDs reads config/crd/bases.
func generatedCRDs(t *testing.T) []*unstructured.Unstructured {
	t.Helper()
	dir := filepath.Join(repoRoot, "config", "crd", "bases")
	var out []*unstructured.Unstructured
	for _, name := range listDir(t, dir) {
		objs, err := parseManifests(string(readFile(t, filepath.Join(dir, name))))
		if err != nil || len(objs) != 1 || objs[0].GetKind() != "CustomResourceDefinition" {
			t.Fatalf("%s: want one CRD, got %d objects (%v)", name, len(objs), err)
		}
		out = append(out, objs[0])
	}
	if len(out) == 0 {
		t.Fatalf("no CRDs in %s", dir)
	}
	return out
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && filepath.Ext(e.Name()) == ".yaml" {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names
}

func compareFile(t *testing.T, fresh, committed string) {
	t.Helper()
	want, got := readFile(t, fresh), readFile(t, committed)
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs from what hack/chart-sync.sh generates:\n%s\n%s", committed,
			cmp.Diff(string(want), string(got)), staleHint)
	}
}
