// Package chart tests the Helm chart in charts/whitehall-operator: helm lint, what it
// renders with default and non-default values, that its CRDs and ClusterRole rules are
// the generated ones, and install, upgrade and uninstall on a real kube-apiserver
// (envtest). It needs HELM (the helm binary) and KUBEBUILDER_ASSETS (kube-apiserver and
// etcd); hack/chart-test.sh sets both.
package chart

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

const (
	release   = "whitehall-operator"
	namespace = "whitehall-system"
)

var (
	repoRoot = filepath.Join("..", "..")
	chartDir = filepath.Join(repoRoot, "charts", "whitehall-operator")
	helmBin  string
)

// TestMain refuses to run without its tools: a chart test that skips is a chart that
// ships untested.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	var problems []string
	helmBin = os.Getenv("HELM")
	if helmBin == "" {
		problems = append(problems, "HELM is not set: the path of a helm v3 binary")
	} else if out, err := exec.Command(helmBin, "version", "--short").CombinedOutput(); err != nil {
		problems = append(problems, fmt.Sprintf("HELM=%s does not run: %v: %s", helmBin, err, out))
	}
	if assets := os.Getenv("KUBEBUILDER_ASSETS"); assets == "" {
		problems = append(problems, "KUBEBUILDER_ASSETS is not set: the directory holding kube-apiserver and etcd")
	} else {
		for _, bin := range []string{"kube-apiserver", "etcd"} {
			if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
				problems = append(problems, fmt.Sprintf("KUBEBUILDER_ASSETS=%s lacks %s", assets, bin))
			}
		}
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL: the chart tests cannot run:\n  %s\nRun them with hack/chart-test.sh (or make test-chart).\n",
			strings.Join(problems, "\n  "))
		return 1
	}
	// Helm keeps repositories, plugins and caches in these; the tests use none of the
	// user's.
	home, err := os.MkdirTemp("", "chart-test-helm-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(home) }()
	for _, v := range []string{"HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"} {
		_ = os.Setenv(v, filepath.Join(home, strings.ToLower(strings.TrimPrefix(v, "HELM_"))))
	}
	_ = os.Unsetenv("KUBECONFIG")
	return m.Run()
}

// runHelm runs helm and returns its stdout, or an error carrying its stderr.
func runHelm(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, helmBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("helm %s: %w\n%s%s", strings.Join(args, " "), err, stderr.String(), stdout.String())
	}
	return stdout.String(), nil
}

func helm(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runHelm(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// requiredValues are the values the chart cannot be rendered without: the addresses
// its NetworkPolicy (on by default) lets the manager reach. Every render and install of
// the tests starts from them; TestNetworkPolicyRequired renders without.
var requiredValues = []string{
	"networkPolicy.apiServer.cidrs={10.0.0.1/32}",
	"networkPolicy.openstack.endpoints[0].name=keystone",
	"networkPolicy.openstack.endpoints[0].cidrs={192.0.2.10/32}",
	"networkPolicy.openstack.endpoints[0].ports={5000}",
	"networkPolicy.openstack.endpoints[1].name=nova neutron",
	"networkPolicy.openstack.endpoints[1].cidrs={198.51.100.0/24,2001:db8::1/128}",
	"networkPolicy.openstack.endpoints[1].ports={8774,9696}",
}

// render runs helm template with requiredValues and the given --set values and returns
// the objects.
func render(t *testing.T, sets ...string) objects {
	t.Helper()
	out, err := renderErr(sets...)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := parseManifests(out)
	if err != nil {
		t.Fatalf("parsing helm template output: %v", err)
	}
	return objs
}

// renderErr is render's helm template, returning its output or its error.
func renderErr(sets ...string) (string, error) {
	return renderBare(append(slices.Clone(requiredValues), sets...)...)
}

// renderBare runs helm template with the given --set values only.
func renderBare(sets ...string) (string, error) {
	args := []string{"template", release, chartDir, "--namespace", namespace}
	for _, s := range sets {
		args = append(args, "--set", s)
	}
	return runHelm(args...)
}

// objects is a rendered manifest.
type objects []*unstructured.Unstructured

func parseManifests(manifest string) (objects, error) {
	var objs objects
	r := utilyaml.NewYAMLReader(bufio.NewReader(strings.NewReader(manifest)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			return nil, fmt.Errorf("%w in\n%s", err, doc)
		}
		if len(m) == 0 {
			continue
		}
		objs = append(objs, &unstructured.Unstructured{Object: m})
	}
}

// keys lists the objects as "Kind/name", the way the assertions name them.
func (objs objects) keys() []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetKind()+"/"+o.GetName())
	}
	return out
}

func (objs objects) find(kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && (name == "" || o.GetName() == name) {
			return o
		}
	}
	return nil
}

func (objs objects) ofKind(kind string) objects {
	var out objects
	for _, o := range objs {
		if o.GetKind() == kind {
			out = append(out, o)
		}
	}
	return out
}

// get returns the object kind/name converted into a typed object, failing the test
// when it is absent.
func get[T any](t *testing.T, objs objects, kind, name string) *T {
	t.Helper()
	o := objs.find(kind, name)
	if o == nil {
		t.Fatalf("no %s/%s rendered; rendered: %v", kind, name, objs.keys())
	}
	return convert[T](t, o)
}

func convert[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(o.Object, out, true); err != nil {
		t.Fatalf("%s/%s does not convert to %T: %v", o.GetKind(), o.GetName(), out, err)
	}
	return out
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
