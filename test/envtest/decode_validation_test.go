package envtest

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// What the API server refuses so that the operator never meets it: spellings Go cannot
// read, values Nova refuses, and changes that would strand cloud resources.
var _ = Describe("decode validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	// dryRun creates doc (in ns when namespaced) as kubectl apply would, server-side only.
	dryRun := func(ns, doc string) error {
		return k8s.Create(ctx, manifest(ns, doc), client.FieldValidation("Strict"), client.DryRunAll)
	}
	policy := func(rules string) string {
		return "apiVersion: whitehall.cloud/v1alpha1\nkind: DepartmentPolicy\nmetadata: {name: decode-p}\nspec:\n  namespaceSelector: {}\n" + rules
	}
	season := func(zone string) string {
		return fmt.Sprintf("apiVersion: whitehall.cloud/v1alpha1\nkind: PeakSeason\nmetadata: {name: decode-s}\nspec:\n  timeZone: %q\n  windows: [{yearly: {from: \"01-01\", to: \"02-01\"}}]\n", zone)
	}
	cloudWithZone := func(zone string) string {
		return fmt.Sprintf("apiVersion: whitehall.cloud/v1alpha1\nkind: Cloud\nmetadata: {name: decode-c}\nspec:\n  credentialsSecretRef: {name: s, cloudName: c}\n  namespaceSelector: {}\n  timeZone: %q\n", zone)
	}
	environment := func(metadata string) string {
		return "apiVersion: whitehall.cloud/v1alpha1\nkind: TestEnvironment\nmetadata: {name: e}\nspec:\n  tenantRef: {name: t}\n  template: {flavor: f, image: i, metadata: " + metadata + "}\n"
	}
	entries := func(n, keyLen, valueLen int) string {
		var items []string
		for i := range n {
			key := fmt.Sprintf("k%0*d", max(keyLen-1, 1), i)[:keyLen]
			items = append(items, fmt.Sprintf("%q: %q", key, strings.Repeat("v", valueLen)))
		}
		return "{" + strings.Join(items, ", ") + "}"
	}

	DescribeTable("refuses with a clear message",
		func(doc func(string) string, value, message string) {
			err := dryRun(ns, doc(value))
			Expect(err).To(HaveOccurred(), "admitted: %s", value)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("maxTTL in days", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "14d", `spec.environments.maxTTL: Invalid value: "14d"`),
		Entry("maxTTL in weeks", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "2w", `spec.environments.maxTTL: Invalid value: "2w"`),
		Entry("maxTTL in ISO 8601", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "P14D", `spec.environments.maxTTL: Invalid value: "P14D"`),
		Entry("maxTTL in words", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, `"1 day"`, `spec.environments.maxTTL: Invalid value: "1 day"`),
		Entry("maxTTL that overflows Go's duration", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "9999999999h", `maxTTL must be more than 0s and at most 8760h`),
		Entry("maxTTL over a year", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "8761h", `maxTTL must be more than 0s and at most 8760h (a year), in h, m or s (336h, not 14d)`),
		Entry("maxTTL of zero", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "0s", `maxTTL must be more than 0s`),
		Entry("a peak priority above 1000", func(v string) string { return policy("  peaks: {priority: " + v + "}") }, "1001", `spec.peaks.priority: Invalid value: 1001`),
		Entry("a peak priority below -1000", func(v string) string { return policy("  peaks: {priority: " + v + "}") }, "-1001", `spec.peaks.priority: Invalid value: -1001`),
		Entry("peaks that set nothing", func(v string) string { return policy("  peaks: " + v) }, "{}", `peaks needs at least one of autoApproveUpTo, autoApproveFactor or priority`),
		Entry("a season's zone in capitals", season, "Europe/LONDON", `timeZone must be an IANA time zone such as Europe/London (names are case-sensitive)`),
		Entry("a season's zone that does not exist", season, "Mars/Base", `timeZone must be an IANA time zone`),
		Entry("a season in the operator's Local zone", season, "Local", `timeZone "Local" is not allowed`),
		Entry("a Cloud's zone in lower case", cloudWithZone, "europe/london", `timeZone must be an IANA time zone`),
		Entry("a Cloud in the operator's Local zone", cloudWithZone, "Local", `timeZone "Local" is not allowed`),
		Entry("a metadata key over 255 characters", environment, entries(1, 256, 1), `metadata keys must be 1 to 255 letters, digits, '-', '_', ':', '.' or spaces (Nova's limit)`),
		Entry("an empty metadata key", environment, `{"": x}`, `metadata keys must be 1 to 255`),
		Entry("a metadata key Nova refuses", environment, `{"a/b": x}`, `metadata keys must be 1 to 255`),
		Entry("a metadata value over 255 characters", environment, entries(1, 3, 256), `metadata values must be at most 255 characters (Nova's limit)`),
		Entry("65 metadata entries", environment, entries(65, 3, 1), `spec.template.metadata: Too many: 65: must have at most 64 items`),
	)

	DescribeTable("admits the good case",
		func(doc func(string) string, value string) { Expect(dryRun(ns, doc(value))).To(Succeed()) },
		Entry("maxTTL in hours", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "336h"),
		Entry("a policy that only ranks peaks", func(v string) string { return policy("  peaks: {priority: " + v + "}") }, "-1000"),
		Entry("maxTTL of a year", func(v string) string { return policy("  environments: {maxTTL: " + v + "}") }, "8760h"),
		Entry("a season's zone", season, "America/Argentina/Buenos_Aires"),
		Entry("a season in UTC", season, "UTC"),
		Entry("a Cloud's zone", cloudWithZone, "Europe/London"),
		Entry("metadata keys and values of 255 characters", environment, entries(2, 255, 255)),
		Entry("64 metadata entries", environment, entries(64, 4, 8)),
		Entry("metadata keys with every character Nova allows", environment, `{"a-b_c:d.e f": x}`),
	)
})

var _ = Describe("decode validation of updates", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	patch := func(obj *unstructured.Unstructured, kind types.PatchType, body string) error {
		return k8s.Patch(ctx, obj, client.RawPatch(kind, []byte(body)))
	}
	environment := func(ttl string) *unstructured.Unstructured {
		doc := "apiVersion: whitehall.cloud/v1alpha1\nkind: TestEnvironment\nmetadata: {name: e}\nspec:\n  tenantRef: {name: t}\n  template: {flavor: f, image: i}\n" + ttl
		env := manifest(ns, doc)
		Expect(k8s.Create(ctx, env)).To(Succeed())
		return env
	}

	It("refuses to remove a ttl, by JSON patch, merge patch or update", func() {
		env := environment("  ttl: 72h\n")
		const message = "ttl can be shortened but never removed or lengthened once set"
		Expect(patch(env, types.JSONPatchType, `[{"op": "remove", "path": "/spec/ttl"}]`)).To(MatchError(ContainSubstring(message)))
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": null}}`)).To(MatchError(ContainSubstring(message)))
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			unstructured.RemoveNestedField(env.Object, "spec", "ttl")
			return k8s.Update(ctx, env)
		}).Should(MatchError(ContainSubstring(message)))
	})

	It("refuses to lengthen a ttl, and lets it be shortened", func() {
		env := environment("  ttl: 72h\n")
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": "73h"}}`)).To(MatchError(ContainSubstring("ttl can be shortened but never removed or lengthened once set")))
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": "4320m"}}`)).To(Succeed(), "the same ttl, spelled otherwise")
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": "1h"}}`)).To(Succeed())
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": "2h"}}`)).To(MatchError(ContainSubstring("never removed or lengthened")))
	})

	It("lets a ttl be added to an environment without one", func() {
		env := environment("")
		Expect(patch(env, types.MergePatchType, `{"spec": {"ttl": "24h"}}`)).To(Succeed())
	})

	It("refuses to move a ComputeQuota to another Tenant", func() {
		quota := manifest(ns, "apiVersion: whitehall.cloud/v1alpha1\nkind: ComputeQuota\nmetadata: {name: q}\nspec:\n  tenantRef: {name: t}\n  baseline: {compute: {cores: 1}}\n")
		Expect(k8s.Create(ctx, quota)).To(Succeed())
		Expect(patch(quota, types.MergePatchType, `{"spec": {"tenantRef": {"name": "other"}}}`)).To(MatchError(ContainSubstring("tenantRef is immutable: create a new ComputeQuota for another Tenant")))
		Expect(patch(quota, types.MergePatchType, `{"spec": {"baseline": {"compute": {"cores": 2}}}}`)).To(Succeed(), "the rest of the spec may change")
	})
})
