package envtest

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The CRDs as generated: the test walks their schemas, so a field added later is fed the
// corpus of its class without anyone listing it here.
var crdDir = filepath.Join("..", "..", "config", "crd", "bases")

// decodeField is one string field with a format, a pattern or a CIDR/IP rule, or one
// integer field with a format, found by walking a CRD's schema.
type decodeField struct {
	crd   *apiextv1.CustomResourceDefinition
	path  []string // "[]" is the first item of a list
	class *valueClass
}

func (f decodeField) String() string {
	return f.crd.Spec.Names.Kind + " " + strings.Join(f.path, ".")
}

// loadCRDs reads every CRD of crdDir.
func loadCRDs() []*apiextv1.CustomResourceDefinition {
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty())
	var crds []*apiextv1.CustomResourceDefinition
	for _, file := range files {
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		crd := &apiextv1.CustomResourceDefinition{}
		Expect(yaml.Unmarshal(data, crd)).To(Succeed(), file)
		crds = append(crds, crd)
	}
	return crds
}

// decodeFields walks spec and status of every CRD; a field with a format or pattern that
// no class knows fails the test: a new spelling needs a new corpus and decoder.
func decodeFields(crds []*apiextv1.CustomResourceDefinition) (fields []decodeField, unknown []string) {
	for _, crd := range crds {
		root := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
		for _, top := range []string{"spec", "status"} {
			s, ok := root.Properties[top]
			if !ok {
				continue
			}
			walkSchema([]string{top}, s, func(path []string, leaf apiextv1.JSONSchemaProps) {
				if !needsDecoding(leaf) {
					return
				}
				f := decodeField{crd: crd, path: slices.Clone(path), class: classify(leaf)}
				if f.class == nil {
					unknown = append(unknown, fmt.Sprintf("%s (type %s, format %q, pattern %q)", f, leaf.Type, leaf.Format, leaf.Pattern))
					return
				}
				fields = append(fields, f)
			})
		}
	}
	return fields, unknown
}

func walkSchema(path []string, s apiextv1.JSONSchemaProps, leaf func([]string, apiextv1.JSONSchemaProps)) {
	switch s.Type {
	case "object":
		for _, name := range sortedKeys(s.Properties) {
			walkSchema(append(path, name), s.Properties[name], leaf)
		}
	case "array":
		if s.Items != nil && s.Items.Schema != nil {
			walkSchema(append(path, "[]"), *s.Items.Schema, leaf)
		}
	default:
		leaf(path, s)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// needsDecoding: a string the API server checks by format, pattern or a CIDR/IP rule (Go
// parses all of them later), or an integer with a format (Go decodes it into that size).
func needsDecoding(s apiextv1.JSONSchemaProps) bool {
	if s.Format != "" || s.Pattern != "" {
		return true
	}
	for _, rule := range s.XValidations {
		if strings.Contains(rule.Rule, "isCIDR(") || strings.Contains(rule.Rule, "isIP(") {
			return true
		}
	}
	return false
}

var _ = Describe("decode: every value the API server admits decodes in Go", Ordered, func() {
	var (
		api    client.Client
		stop   func() error
		fields []decodeField
	)
	BeforeAll(func() {
		var unknown []string
		fields, unknown = decodeFields(loadCRDs())
		Expect(unknown).To(BeEmpty(), "fields whose spelling the test cannot check: add a class to schema_decode_corpus_test.go")
		Expect(len(fields)).To(BeNumerically(">", 100), "the walk found too few fields")
		// An API server of its own, with no controllers: an admitted value Go cannot
		// decode would otherwise stop the suite's manager too.
		own := &envtest.Environment{CRDDirectoryPaths: []string{crdDir}, ErrorIfCRDPathMissing: true}
		cfg, err := own.Start()
		Expect(err).NotTo(HaveOccurred())
		stop = own.Stop
		scheme := runtime.NewScheme()
		Expect(whv1.AddToScheme(scheme)).To(Succeed())
		api, err = client.New(cfg, client.Options{Scheme: scheme})
		Expect(err).NotTo(HaveOccurred())
		Expect(api.Create(ctx, namespaceObject(decodeNamespace))).To(Succeed())
	})
	AfterAll(func() {
		if stop != nil {
			Expect(stop()).To(Succeed())
		}
	})

	It("feeds each field its class's spellings through the API server, then through the Go types and parsers", func() {
		var failures, table []string
		for i, f := range fields {
			for j, value := range f.class.corpus() {
				name := fmt.Sprintf("decode-%d-%d", i, j)
				outcome, failure := tryValue(api, f, name, value, j == 0)
				if failure != "" {
					failures = append(failures, fmt.Sprintf("%s = %s: %s", f, show(value), failure))
				}
				table = append(table, fmt.Sprintf("%-60s %-36s %s", f, show(value), outcome))
			}
		}
		AddReportEntry("decode corpus", strings.Join(table, "\n"))
		GinkgoWriter.Println(strings.Join(table, "\n"))
		Expect(strings.Join(failures, "\n")).To(BeEmpty(), "admitted by the API server, yet Go cannot decode or parse them")
	})
})

const decodeNamespace = "decode"

func namespaceObject(name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion("v1")
	u.SetKind("Namespace")
	u.SetName(name)
	return u
}

func show(v any) string {
	data, _ := json.Marshal(v)
	return string(data)
}

// tryValue writes value into field f of an otherwise valid object named name. It returns
// what became of it ("refused", "admitted, decodes") and, for a value that was admitted
// and does not decode, why. The first value of each corpus is a control: it must be
// admitted, or the seed object is wrong and the field was never really tried.
func tryValue(api client.Client, f decodeField, name string, value any, control bool) (outcome, failure string) {
	obj := seedObject(f.crd, name, f.path)
	onStatus := f.path[0] == "status"
	status := seedStatus(f.crd.Spec.Names.Kind)
	target := obj.Object
	if onStatus {
		target = map[string]any{"status": status}
	}
	Expect(setPath(target, f.path, value)).To(Succeed(), "%s", f)
	nameUsageReport(obj)
	err := api.Create(ctx, obj)
	if err == nil && onStatus {
		obj.Object["status"] = target["status"]
		err = api.Status().Update(ctx, obj)
	}
	defer func() {
		Expect(client.IgnoreNotFound(api.Delete(ctx, obj))).To(Succeed())
	}()
	if err != nil {
		Expect(apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)).To(BeTrue(), "%s: %v", f, err)
		if control {
			return "refused", fmt.Sprintf("the control value was refused, fix the seed: %v", err)
		}
		return "refused", ""
	}
	if err := decodes(api, f, obj); err != nil {
		return "ADMITTED, DOES NOT DECODE", err.Error()
	}
	return "admitted, decodes", ""
}

// decodes reads the object back as the operator's cache would (a typed Get and a typed
// List, whose failure stopped the informer) and runs the Go parser the controllers use for
// the field's class on the value as stored.
func decodes(api client.Client, f decodeField, obj *unstructured.Unstructured) error {
	gvk := schema.GroupVersionKind{Group: f.crd.Spec.Group, Version: f.crd.Spec.Versions[0].Name, Kind: f.crd.Spec.Names.Kind}
	typed, err := api.Scheme().New(gvk)
	if err != nil {
		return err
	}
	if err := api.Get(ctx, client.ObjectKeyFromObject(obj), typed.(client.Object)); err != nil {
		return fmt.Errorf("typed get: %w", err)
	}
	list, err := api.Scheme().New(gvk.GroupVersion().WithKind(gvk.Kind + "List"))
	if err != nil {
		return err
	}
	if err := api.List(ctx, list.(client.ObjectList), client.InNamespace(obj.GetNamespace())); err != nil {
		return fmt.Errorf("typed list, as the informer lists: %w", err)
	}
	stored := &unstructured.Unstructured{}
	stored.SetGroupVersionKind(gvk)
	if err := api.Get(ctx, client.ObjectKeyFromObject(obj), stored); err != nil {
		return err
	}
	return f.class.parse(firstItem(stored.Object, f.path), typed)
}

// firstItem follows path, taking the first item of each list.
func firstItem(obj map[string]any, path []string) any {
	var cur any = obj
	for _, p := range path {
		switch c := cur.(type) {
		case map[string]any:
			cur = c[p]
		case []any:
			if len(c) == 0 {
				return nil
			}
			cur = c[0]
		default:
			return nil
		}
	}
	return cur
}

// setPath sets value at path in obj, making the maps on the way and taking the first item
// of each list (making a list of one when there is none).
func setPath(obj map[string]any, path []string, value any) error {
	cur := obj
	for i, p := range path {
		last := i == len(path)-1
		nextIsList := !last && path[i+1] == "[]"
		switch {
		case p == "[]":
			continue
		case last:
			cur[p] = value
		case nextIsList:
			list, _ := cur[p].([]any)
			if i+1 == len(path)-1 { // a list of scalars
				cur[p] = append([]any{value}, tail(list)...)
				return nil
			}
			if len(list) == 0 {
				list = []any{map[string]any{}}
				cur[p] = list
			}
			item, ok := list[0].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: not a list of objects", p)
			}
			cur = item
		default:
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
	}
	return nil
}

func tail(list []any) []any {
	if len(list) < 2 {
		return nil
	}
	return list[1:]
}
