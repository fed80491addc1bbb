package envtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// refusedMarker, on the line before a ```yaml fence, marks a sample that shows a
// refusal; text after a colon is what the refusal must say.
const refusedMarker = "<!-- refused"

// minDocObjects is how many whitehall.cloud objects the docs hold today: fewer means a
// page lost its sample.
const minDocObjects = 7

// minDocRefusals is how many samples the docs mark refused today.
const minDocRefusals = 1

// skippedDocKinds are the kinds of other API groups the docs show, with who checks them.
var skippedDocKinds = map[string]string{
	"ScaledObject": "KEDA's CRD is not installed here: test/e2e checks it against KEDA's own schema",
}

// docBlock is one ```yaml block of a markdown page.
type docBlock struct {
	where   string // file:line of the fence
	refused bool
	says    string // what the refusal must say, when refused
	text    string
}

// The samples of README.md and docs/*.md, as a reader would apply them: every object of
// whitehall.cloud (and of the core group) is created with a server-side dry run and
// strict field validation, as kubectl apply sends it, so the CRD schemas, their CEL
// rules and the admission policies judge it verbatim.
var _ = Describe("docs samples", func() {
	It("admits every whitehall.cloud object of README.md and docs/ as written, and refuses those marked refused", func() {
		// The manager is up before the spec ends: a suite stopped while it is still
		// starting cannot stop its kube-apiserver within envtest's 20 s (seen with any
		// focused spec that ends at once).
		shared := &whv1.Cloud{ObjectMeta: metav1.ObjectMeta{Name: sharedCloud}}
		Eventually(conditionOf(shared, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))

		pages, err := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
		Expect(err).NotTo(HaveOccurred())
		Expect(pages).NotTo(BeEmpty())
		var blocks []docBlock
		for _, page := range append([]string{filepath.Join("..", "..", "README.md")}, pages...) {
			blocks = append(blocks, yamlBlocks(page)...)
		}

		admitted, refused, kinds := 0, 0, map[string]bool{}
		for _, b := range blocks {
			objs := blockObjects(b)
			if b.refused {
				Expect(objs).NotTo(BeEmpty(), "%s: marked refused, holds no object", b.where)
			}
			for _, obj := range objs {
				gvk := obj.GroupVersionKind()
				if _, skip := skippedDocKinds[gvk.Kind]; skip && gvk.Group != whv1.GroupVersion.Group {
					continue
				}
				Expect(gvk.Group).To(BeElementOf(whv1.GroupVersion.Group, ""),
					"%s: a %s sample: apply it here or add its kind to skippedDocKinds, saying who checks it", b.where, gvk)
				checkDocObject(b, obj)
				switch {
				case b.refused:
					refused++
				case gvk.Group == whv1.GroupVersion.Group:
					admitted++
					kinds[gvk.Kind] = true
				}
			}
		}
		AddReportEntry("docs samples", fmt.Sprintf("%d whitehall.cloud objects admitted, %d refused as marked", admitted, refused))
		Expect(admitted).To(BeNumerically(">=", minDocObjects), "whitehall.cloud objects admitted")
		Expect(refused).To(BeNumerically(">=", minDocRefusals), "samples marked refused, and refused")
		Expect(slices.Sorted(maps.Keys(kinds))).To(Equal([]string{"Cloud", "ComputeQuota", "DepartmentPolicy",
			"PeakSeason", "Tenant", "TestEnvironment", "UsageReport"}), "every kind has a sample")
	})
})

// yamlBlocks returns the ```yaml blocks of a markdown file, with their refused markers.
func yamlBlocks(path string) []docBlock {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	var (
		blocks     []docBlock
		cur        *docBlock
		prev, body strings.Builder
	)
	scanner := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; scanner.Scan(); n++ {
		line := scanner.Text()
		switch {
		case cur != nil && strings.HasPrefix(line, "```"):
			cur.text = body.String()
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(line + "\n")
		case line == "```yaml":
			cur = &docBlock{where: fmt.Sprintf("%s:%d", filepath.Base(path), n)}
			if marker := prev.String(); strings.HasPrefix(marker, refusedMarker) {
				cur.refused = true
				cur.says = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(marker, refusedMarker), ":"), "-->"))
			}
			body.Reset()
		}
		prev.Reset()
		prev.WriteString(strings.TrimSpace(line))
	}
	Expect(scanner.Err()).NotTo(HaveOccurred())
	Expect(cur).To(BeNil(), "%s: a ```yaml block is not closed", path)
	return blocks
}

// blockObjects decodes the documents of a block. A document without a kind is a
// fragment (a values file, a piece of spec or status), not a sample to apply.
func blockObjects(b docBlock) []*unstructured.Unstructured {
	var objs []*unstructured.Unstructured
	decoder := utilyaml.NewYAMLOrJSONDecoder(strings.NewReader(b.text), 4096)
	for {
		u := &unstructured.Unstructured{}
		err := decoder.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			return objs
		}
		Expect(err).NotTo(HaveOccurred(), "%s: not YAML", b.where)
		if _, hasKind := u.Object["kind"]; !hasKind {
			continue
		}
		Expect(u.GetAPIVersion()).NotTo(BeEmpty(), "%s: a %s without apiVersion", b.where, u.GetKind())
		objs = append(objs, u)
	}
}

// checkDocObject creates obj with a dry run in the namespace it names (made first, for
// real, unlabelled: no DepartmentPolicy another spec makes governs it), and expects it
// admitted, or refused with what the marker says.
func checkDocObject(b docBlock, obj *unstructured.Unstructured) {
	if ns := obj.GetNamespace(); ns != "" {
		err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})
		if !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	}
	err := k8s.Create(ctx, obj.DeepCopy(), client.DryRunAll, client.FieldValidation("Strict"))
	if apierrors.IsAlreadyExists(err) && obj.GetNamespace() == "" {
		// A cluster-scoped name the suite uses too (its shared Cloud "whitehall"): no
		// rule of creation depends on whether the name is taken, so check it under another.
		renamed := obj.DeepCopy()
		renamed.SetName(obj.GetName() + "-docs")
		err = k8s.Create(ctx, renamed, client.DryRunAll, client.FieldValidation("Strict"))
	}
	what := fmt.Sprintf("%s: %s %s", b.where, obj.GetKind(), client.ObjectKeyFromObject(obj))
	if !b.refused {
		Expect(err).NotTo(HaveOccurred(), what)
		return
	}
	Expect(err).To(HaveOccurred(), "%s is marked refused", what)
	Expect(apierrors.IsInvalid(err) || apierrors.IsForbidden(err)).To(BeTrue(), "%s: refused by admission, not %v", what, err)
	Expect(err.Error()).To(ContainSubstring(b.says), what)
}
