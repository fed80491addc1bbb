package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/apiutil"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/argocd"
)

// gitops is what GitOps tools make of an object: kstatus (Flux's health checks), the
// Argo CD health check docs/operations.md gives, and the Ready condition's status
// (kubectl wait --for=condition=Ready), with the reason of that condition.
type gitops struct {
	Kstatus status.Status
	ArgoCD  string
	Ready   string
	Reason  string
}

// current is what GitOps tools make of a Ready object whose spec the operator has seen.
var current = gitops{Kstatus: status.CurrentStatus, ArgoCD: "Healthy", Ready: "True", Reason: whv1.ReasonReady}

// inProgress and failed are what GitOps tools make of an object not Ready for reason.
func inProgress(reason string) gitops {
	return gitops{Kstatus: status.InProgressStatus, ArgoCD: "Progressing", Ready: "False", Reason: reason}
}

func failed(reason string) gitops {
	return gitops{Kstatus: status.FailedStatus, ArgoCD: "Degraded", Ready: "False", Reason: reason}
}

// asGitOps reads obj from the API server as GitOps tools do, unstructured.
func asGitOps(obj client.Object) *unstructured.Unstructured {
	gvk, err := apiutil.GVKForObject(obj, k8s.Scheme())
	Expect(err).NotTo(HaveOccurred())
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), u)).To(Succeed())
	return u
}

// judge is what kstatus, the Argo CD check of its kind and kubectl wait make of u.
func judge(g Gomega, u *unstructured.Unstructured) gitops {
	res, err := status.Compute(u)
	g.Expect(err).NotTo(HaveOccurred())
	script, err := argocd.Script(u.GetKind())
	g.Expect(err).NotTo(HaveOccurred())
	health, _, err := argocd.Health(script, u.Object)
	g.Expect(err).NotTo(HaveOccurred())
	out := gitops{Kstatus: res.Status, ArgoCD: health}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		if c, _ := c.(map[string]any); c["type"] == whv1.ConditionReady {
			out.Ready, _ = c["status"].(string)
			out.Reason, _ = c["reason"].(string)
		}
	}
	return out
}

// seenByGitOps polls what GitOps tools make of obj.
func seenByGitOps(obj client.Object) func(Gomega) gitops {
	return func(g Gomega) gitops { return judge(g, asGitOps(obj)) }
}

// staleIsInProgress: obj, as GitOps tools would read it after a spec change the
// operator has not seen yet (metadata.generation ahead of status.observedGeneration),
// is in progress whatever its conditions say; kubectl wait still reads Ready as it is.
func staleIsInProgress(obj client.Object) {
	u := asGitOps(obj)
	before := judge(Default, u)
	u.SetGeneration(u.GetGeneration() + 1)
	Expect(judge(Default, u)).To(Equal(gitops{Kstatus: status.InProgressStatus, ArgoCD: "Progressing", Ready: before.Ready, Reason: before.Reason}))
}

// abnormal returns the Reconciling and Stalled conditions of obj, by status.
func abnormal(obj client.Object) map[string]string {
	u := asGitOps(obj)
	out := map[string]string{}
	conditions, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conditions {
		c, _ := c.(map[string]any)
		if t, _ := c["type"].(string); t == whv1.ConditionReconciling || t == whv1.ConditionStalled {
			out[t], _ = c["status"].(string)
		}
	}
	return out
}

var _ = Describe("kstatus: Flux, Argo CD and kubectl wait read every kind's state", func() {
	It("kstatus: a Tenant: Ready, waiting for a project to import, refused by its Cloud, and stale", func() {
		ns := newDepartment()
		ready := createTenant(ns, "ready")
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		Expect(abnormal(ready)).To(BeEmpty(), "Reconciling and Stalled are removed once Ready")
		staleIsInProgress(ready)
		change(ready, func(t *whv1.Tenant) { t.Spec.Project.Description = ptr.To("changed") })
		Eventually(seenByGitOps(ready)).Should(Equal(current))

		importing := createTenant(ns, "importing", func(t *whv1.Tenant) { t.Spec.Import = &whv1.ProjectImport{Name: ptr.To("nowhere")} })
		Eventually(seenByGitOps(importing)).Should(Equal(inProgress(whv1.ReasonDependencyNotFound)))
		Expect(abnormal(importing)).To(Equal(map[string]string{whv1.ConditionReconciling: "True"}))

		other := newNamespace() // the shared Cloud does not admit it
		refused := createTenant(other, "refused")
		Eventually(seenByGitOps(refused)).Should(Equal(failed(whv1.ReasonNamespaceNotAllowed)))
		Expect(abnormal(refused)).To(Equal(map[string]string{whv1.ConditionStalled: "True"}))
		staleIsInProgress(refused)
		change(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}}, func(n *corev1.Namespace) {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels[departmentLabel] = "true"
		})
		Eventually(seenByGitOps(refused)).Should(Equal(current))
		Expect(abnormal(refused)).To(BeEmpty(), "Stalled is removed once Ready")
	})

	It("kstatus: a ComputeQuota: Ready, waiting for its Tenant, and stale", func() {
		ns := newNamespace()
		departmentProject(ns)
		quotaOf := func(name, tenant string) *whv1.ComputeQuota {
			cq := &whv1.ComputeQuota{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: whv1.ComputeQuotaSpec{
					TenantRef: whv1.LocalObjectReference{Name: tenant},
					Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](8)}},
				},
			}
			Expect(k8s.Create(ctx, cq)).To(Succeed())
			return cq
		}
		ready := quotaOf("ready", "dept")
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		staleIsInProgress(ready)

		// Waiting for a Tenant applied with it is progress, not failure: GitOps waits.
		waiting := quotaOf("waiting", "later")
		Eventually(seenByGitOps(waiting)).Should(Equal(inProgress(whv1.ReasonTenantNotReady)))
		Expect(k8s.Create(ctx, &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "later"},
			Spec:       whv1.TenantSpec{CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}},
		})).To(Succeed())
		Eventually(seenByGitOps(waiting)).Should(Equal(current))
		Expect(abnormal(waiting)).To(BeEmpty())
	})

	It("kstatus: a TestEnvironment: Ready, refused servers for quota, without a Tenant, and stale", func() {
		ns := newDepartment()
		tenant := createTenant(ns, "dept", func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.20.0.0/24"} })
		Eventually(readyTenant(tenant)).Should(Not(BeNil()))
		newEnv := func(name, tenant string, replicas int32) *whv1.TestEnvironment {
			env := &whv1.TestEnvironment{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
				Spec: whv1.TestEnvironmentSpec{
					TenantRef: whv1.LocalObjectReference{Name: tenant},
					Replicas:  ptr.To(replicas),
					Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros"},
				},
			}
			Expect(k8s.Create(ctx, env)).To(Succeed())
			DeferCleanup(func() {
				_ = k8s.Delete(ctx, env)
				Eventually(isGone(env)).Should(BeTrue())
			})
			return env
		}
		ready := newEnv("ready", "dept", 1)
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		staleIsInProgress(ready)

		cloud.SetInstanceLimit(len(cloud.Servers(".*")) + 1)
		DeferCleanup(func() { cloud.SetInstanceLimit(-1) })
		squeezed := newEnv("squeezed", "dept", 2)
		Eventually(seenByGitOps(squeezed)).Should(Equal(inProgress(whv1.ReasonQuotaRefused)))
		Expect(abnormal(squeezed)).To(Equal(map[string]string{whv1.ConditionReconciling: "True"}))
		cloud.SetInstanceLimit(-1)
		Eventually(seenByGitOps(squeezed)).Should(Equal(current))

		orphan := newEnv("orphan", "nobody", 1)
		Eventually(seenByGitOps(orphan)).Should(Equal(inProgress(whv1.ReasonTenantNotReady)))
		staleIsInProgress(orphan)
	})

	It("kstatus: a Cloud: Ready, without credentials, stale, and held while a Tenant uses it", func() {
		ns := newNamespace()
		newCloud := func(name, secret string) *whv1.Cloud {
			c := &whv1.Cloud{
				ObjectMeta: metav1.ObjectMeta{Name: name},
				Spec:       whv1.CloudSpec{CredentialsSecretRef: whv1.CloudSecretReference{Name: secret, CloudName: "dev"}},
			}
			Expect(k8s.Create(ctx, c)).To(Succeed())
			DeferCleanup(func() { _ = k8s.Delete(ctx, c) })
			return c
		}
		ready := newCloud("kstatus-"+ns, goodSecret)
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		staleIsInProgress(ready)

		broken := newCloud("kstatus-broken-"+ns, "missing-"+ns)
		Eventually(seenByGitOps(broken)).Should(Equal(failed(whv1.ReasonCredentialsError)))
		staleIsInProgress(broken)

		// Deleting: kstatus reads any object being deleted as Terminating; Argo CD and
		// the conditions say it is under way, not failed.
		user := createTenant(ns, "user", func(t *whv1.Tenant) { t.Spec.CloudRef = &whv1.CloudReference{Name: ready.Name} })
		Eventually(readyTenant(user)).Should(Not(BeNil()))
		Expect(k8s.Delete(ctx, ready)).To(Succeed())
		Eventually(seenByGitOps(ready)).Should(Equal(gitops{
			Kstatus: status.TerminatingStatus, ArgoCD: "Progressing", Ready: "False", Reason: whv1.ReasonDeletionBlocked}))
		Expect(abnormal(ready)).To(Equal(map[string]string{whv1.ConditionReconciling: "True"}))
		Expect(k8s.Delete(ctx, user)).To(Succeed())
		Eventually(isGone(ready)).Should(BeTrue())
	})

	It("kstatus: a PeakSeason: Ready, with a window a daylight-saving gap swallows, and stale", func() {
		name := "kstatus-" + newNamespace()
		newSeason := func(name string, spec whv1.PeakSeasonSpec) *whv1.PeakSeason {
			ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: spec}
			Expect(k8s.Create(ctx, ps)).To(Succeed())
			DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
			return ps
		}
		ready := newSeason(name, whv1.PeakSeasonSpec{Windows: []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-10", To: "01-31"}}}})
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		staleIsInProgress(ready)

		// Admitted (to is after from as written), refused by the controller: the hour
		// London skips holds the whole window.
		gap := newSeason(name+"-gap", whv1.PeakSeasonSpec{TimeZone: "Europe/London", Windows: []whv1.SeasonWindow{
			{From: ptr.To("2027-03-28T01:10:00"), To: ptr.To("2027-03-28T01:50:00")},
		}})
		Eventually(seenByGitOps(gap)).Should(Equal(failed(whv1.ReasonInvalidConfiguration)))
		Expect(abnormal(gap)).To(Equal(map[string]string{whv1.ConditionStalled: "True"}))
		staleIsInProgress(gap)
	})

	It("kstatus: a DepartmentPolicy: Ready, with a selector it cannot parse, and stale", func() {
		newPolicy := func(selector metav1.LabelSelector) *whv1.DepartmentPolicy {
			p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "kstatus-"}, Spec: whv1.DepartmentPolicySpec{
				NamespaceSelector: selector,
				QuotaCeiling:      &whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](1)}},
			}}
			Expect(k8s.Create(ctx, p)).To(Succeed())
			DeferCleanup(func() { _ = k8s.Delete(ctx, p) })
			return p
		}
		nobody := "kstatus-" + newNamespace() // a label value no namespace has
		ready := newPolicy(metav1.LabelSelector{MatchLabels: map[string]string{policyTestLabel: nobody}})
		Eventually(seenByGitOps(ready)).Should(Equal(current))
		staleIsInProgress(ready)

		broken := newPolicy(metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: policyTestLabel, Operator: "Resembles", Values: []string{nobody}},
		}})
		Eventually(seenByGitOps(broken)).Should(Equal(failed(whv1.ReasonInvalidConfiguration)))
		Expect(abnormal(broken)).To(Equal(map[string]string{whv1.ConditionStalled: "True"}))
		staleIsInProgress(broken)
	})
})
