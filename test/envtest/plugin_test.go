package envtest

import (
	"bytes"
	"encoding/json"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
)

var _ = Describe("kubectl whitehall plugin", func() {
	var ns string

	quotaFor := func(tenant string) *whv1.ComputeQuota {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenant},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: tenant},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](20), Instances: ptr.To[int64](5)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		return cq
	}
	tree := func(opts plugin.TreeOptions) string {
		var out bytes.Buffer
		Expect(plugin.Tree(ctx, k8s, opts, &out)).To(Succeed())
		return out.String()
	}

	// A Ready department and, named to sort after it, one whose Cloud does not exist.
	BeforeEach(func() {
		ns = newDepartment()
		ok := createTenant(ns, "a-ready")
		broken := createTenant(ns, "z-broken", func(t *whv1.Tenant) { t.Spec.CloudRef.Name = "no-such-cloud-" + ns })
		okQuota, brokenQuota := quotaFor(ok.Name), quotaFor(broken.Name)
		Eventually(readyTenant(ok)).ShouldNot(BeNil())
		Eventually(conditionOf(okQuota, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(conditionOf(broken, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonCloudNotFound, "does not exist"))
		Eventually(conditionOf(brokenQuota, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionFalse))
	})

	It("tree shows the failing Tenant first, its failing parts first", func() {
		text := tree(plugin.TreeOptions{Namespace: ns, Output: "text"})
		GinkgoWriter.Printf("kubectl whitehall tree -n %s\n%s", ns, text)
		lines := strings.Split(text, "\n")
		Expect(lines[0]).To(HavePrefix("NAME"))
		Expect(strings.Fields(lines[1])[0:3]).To(Equal([]string{"Tenant/" + ns + "/z-broken", "False", whv1.ReasonCloudNotFound}))
		Expect(lines[1]).To(HaveSuffix("does not exist"))
		Expect(strings.Fields(lines[2])[0:3]).To(Equal([]string{"├─", "ComputeQuota/z-broken", "False"}))
		Expect(text).To(MatchRegexp(`(?m)^Tenant/%s/a-ready +True +Ready`, ns))
		Expect(strings.Index(text, "Tenant/"+ns+"/z-broken")).To(BeNumerically("<", strings.Index(text, "Tenant/"+ns+"/a-ready")))
	})

	It("tree -o json holds the same order, and a Tenant's name narrows it to that Tenant", func() {
		var lines []plugin.Line
		Expect(json.Unmarshal([]byte(tree(plugin.TreeOptions{Namespace: ns, Output: "json"})), &lines)).To(Succeed())
		Expect(lines).To(HaveLen(2))
		Expect(lines[0]).To(And(HaveField("Name", ns+"/z-broken"), HaveField("Ready", "False"), HaveField("Reason", whv1.ReasonCloudNotFound)))
		Expect(lines[1]).To(And(HaveField("Name", ns+"/a-ready"), HaveField("Ready", "True")))

		Expect(json.Unmarshal([]byte(tree(plugin.TreeOptions{Namespace: ns, Tenant: "a-ready", Output: "json"})), &lines)).To(Succeed())
		Expect(lines).To(ConsistOf(HaveField("Name", ns+"/a-ready")))
	})
})
