package envtest

import (
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// policyTestLabel marks the namespaces of one spec, so the policies it creates select
// only them (other suites' namespaces run alongside).
const policyTestLabel = "whitehall.cloud/policy-test"

// policyViolations reads whitehall_policy_violations{policy,kind} from the manager's
// registry (the manager runs in this process); -1 when there is no such series.
func policyViolations(policy, kind string) float64 {
	families, err := metrics.Registry.Gather()
	Expect(err).NotTo(HaveOccurred())
	for _, f := range families {
		if f.GetName() != "whitehall_policy_violations" {
			continue
		}
		for _, m := range f.GetMetric() {
			if labelValue(m, "policy") == policy && labelValue(m, "kind") == kind {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func labelValue(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

var _ = Describe("DepartmentPolicy on existing objects and across objects", func() {
	var (
		ns        string
		projectID string
	)

	BeforeEach(func() {
		ns = newNamespace()
		nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
		change(nsObj, func(n *corev1.Namespace) {
			n.Labels = map[string]string{policyTestLabel: ns}
		})
		projectID = departmentProject(ns)
	})

	// newPolicy creates a policy selecting this spec's namespace only; it goes after the spec.
	newPolicy := func(spec whv1.DepartmentPolicySpec) *whv1.DepartmentPolicy {
		spec.NamespaceSelector = metav1.LabelSelector{MatchLabels: map[string]string{policyTestLabel: ns}}
		p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"}, Spec: spec}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, p) })
		return p
	}
	policyStatus := func(p *whv1.DepartmentPolicy) func(Gomega) whv1.DepartmentPolicyStatus {
		return func(g Gomega) whv1.DepartmentPolicyStatus {
			out := &whv1.DepartmentPolicy{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), out)).To(Succeed())
			g.Expect(out.Status.ObservedGeneration).To(Equal(out.Generation))
			g.Expect(meta.IsStatusConditionTrue(out.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "conditions: %v", out.Status.Conditions)
			return out.Status
		}
	}
	ceiling := func(cores int64) *whv1.QuotaSet {
		return &whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(cores)}}
	}
	newQuota := func(name, tenant string, cores int64) *whv1.ComputeQuota {
		cq := &whv1.ComputeQuota{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: whv1.ComputeQuotaSpec{
				TenantRef: whv1.LocalObjectReference{Name: tenant},
				Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To(cores)}},
			},
		}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
		return cq
	}
	cores := func(project string) func() int64 {
		return func() int64 { return cloud.Quota(project, quota.ComputeService)["cores"] }
	}
	noCondition := func(obj client.Object, condType string) func(Gomega) {
		return func(g Gomega) {
			out := obj.DeepCopyObject().(client.Object)
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
			g.Expect(meta.FindStatusCondition(conditionsOf(out), condType)).To(BeNil())
		}
	}

	It("holds back the ComputeQuota that takes the namespace's sum over the ceiling, names the others, and counts it", func() {
		second := createTenant(ns, "dept2", func(t *whv1.Tenant) {
			t.Spec.CloudRef = nil
			t.Spec.CloudCredentialsRef = &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}
		})
		Eventually(readyTenant(second)).ShouldNot(BeNil())
		project2 := fetch(second).Status.ProjectID
		Expect(project2).NotTo(BeEmpty())

		p := newPolicy(whv1.DepartmentPolicySpec{QuotaCeiling: ceiling(40)})
		Eventually(policyStatus(p)).Should(And(HaveField("Namespaces", HaveValue(Equal(int32(1)))), HaveField("Violations", HaveValue(Equal(int32(0))))))
		Eventually(func() float64 { return policyViolations(p.Name, "ComputeQuota") }).Should(BeZero())

		first := newQuota("first", "dept", 25)
		Eventually(conditionOf(first, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(conditionOf(first, whv1.ConditionPolicyViolation)).Should(And(
			HaveField("Status", metav1.ConditionFalse), HaveField("Reason", whv1.ReasonWithinPolicy)))
		Expect(cores(projectID)()).To(Equal(int64(25)))

		over := newQuota("over", "dept2", 20)
		Eventually(conditionOf(over, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"DepartmentPolicy "+p.Name+": quotaCeiling: compute.cores 20 with ComputeQuota \"first\" (25) sums to 45 in the namespace, over the ceiling 40"))
		Expect(conditionOf(over, whv1.ConditionPolicyViolation)(Default)).To(And(
			HaveField("Status", metav1.ConditionTrue), HaveField("Reason", whv1.ReasonPolicyViolation), HaveField("Message", ContainSubstring(`"first" (25)`))))
		Eventually(func(g Gomega) []string {
			var reasons []string
			for _, e := range eventsAbout(g, "ComputeQuota", "over") {
				if e.Type == corev1.EventTypeWarning {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}).Should(ContainElement(whv1.ReasonPolicyViolation))
		Consistently(func() int { return cloud.Calls("SetQuota.compute/" + project2) }).Should(BeZero(), "nothing is written for the quota over the sum")
		Expect(cores(project2)()).To(Equal(int64(10)), "the project keeps the limit it had")
		Expect(conditionOf(first, whv1.ConditionReady)(Default)).To(HaveField("Status", metav1.ConditionTrue), "the first stays Ready")
		Expect(cores(projectID)()).To(Equal(int64(25)))

		Eventually(policyStatus(p)).Should(And(HaveField("Namespaces", HaveValue(Equal(int32(1)))), HaveField("Violations", HaveValue(Equal(int32(1))))))
		Eventually(func() float64 { return policyViolations(p.Name, "ComputeQuota") }).Should(Equal(1.0))
		Expect(policyViolations(p.Name, "TestEnvironment")).To(BeZero())

		By("removing the policy: the condition goes and the quota is written")
		Expect(k8s.Delete(ctx, p)).To(Succeed())
		Eventually(noCondition(over, whv1.ConditionPolicyViolation)).Should(Succeed())
		Eventually(cores(project2)).Should(Equal(int64(20)))
		Eventually(conditionOf(over, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Eventually(noCondition(first, whv1.ConditionPolicyViolation)).Should(Succeed())
		Eventually(func() float64 { return policyViolations(p.Name, "ComputeQuota") }).Should(Equal(-1.0), "the policy's series go with it")
	})

	It("never tears down what a policy added later finds in breach, and boots nothing new for it", func() {
		cq := newQuota("quota", "dept", 20)
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Expect(cores(projectID)()).To(Equal(int64(20)))
		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "burst"},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Replicas:  ptr.To[int32](2),
				Template: whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros",
					Networks: []whv1.NetworkRef{{ID: ptr.To("net-shared")}}},
			},
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() {
			_ = k8s.Delete(ctx, env)
			Eventually(isGone(env)).Should(BeTrue())
		})
		servers := func() map[string]string { return cloud.Servers("^burst-[0-9]+$") }
		Eventually(func(g Gomega) {
			g.Expect(servers()).To(Equal(map[string]string{"burst-0": "ACTIVE", "burst-1": "ACTIVE"}), "conditions: %v", fetch(env).Status.Conditions)
		}).Should(Succeed())
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Expect(meta.FindStatusCondition(fetch(cq).Status.Conditions, whv1.ConditionPolicyViolation)).To(BeNil(), "no policy governs the namespace yet")

		p := newPolicy(whv1.DepartmentPolicySpec{
			QuotaCeiling: ceiling(10),
			Environments: &whv1.EnvironmentRules{MaxReplicas: ptr.To[int32](1), MaxTTL: &metav1.Duration{Duration: 24 * time.Hour}},
		})
		Eventually(conditionOf(cq, whv1.ConditionPolicyViolation)).Should(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Message", Equal("DepartmentPolicy "+p.Name+": quotaCeiling: baseline compute.cores 20 is over the ceiling 10"))))
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation, "limits that come down are still written"))
		Eventually(conditionOf(env, whv1.ConditionPolicyViolation)).Should(And(HaveField("Status", metav1.ConditionTrue),
			HaveField("Message", And(
				ContainSubstring("DepartmentPolicy "+p.Name+": environments.maxReplicas: replicas 2 is over the maximum 1"),
				ContainSubstring("DepartmentPolicy "+p.Name+": environments.maxTTL: a ttl is required, at most 24h0m0s")))))
		Eventually(policyStatus(p)).Should(HaveField("Violations", HaveValue(Equal(int32(2)))))
		Eventually(func() float64 { return policyViolations(p.Name, "TestEnvironment") }).Should(Equal(1.0))

		By("keeping what runs: the quota's limits and the servers")
		Consistently(func(g Gomega) {
			g.Expect(cores(projectID)()).To(Equal(int64(20)))
			g.Expect(servers()).To(HaveLen(2))
		}).Should(Succeed())
		Expect(conditionOf(env, whv1.ConditionReady)(Default)).To(HaveField("Status", metav1.ConditionTrue), "it wants nothing more: it stays Ready")

		By("booting nothing more, even to replace a server that failed; scaling down still works")
		// Admission refuses asking for more replicas now (config/admission); a server that
		// goes to ERROR is the environment wanting one more.
		cloud.FailServer("burst-1", "No valid host was found")
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"1 new server(s) are not booted; the 1 existing keep running"))
		Consistently(servers).Should(Equal(map[string]string{"burst-0": "ACTIVE"}))
		change(env, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](1) })
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Expect(servers()).To(Equal(map[string]string{"burst-0": "ACTIVE"}))

		By("removing the policy: the conditions go, and the quota and the environment converge")
		Expect(k8s.Delete(ctx, p)).To(Succeed())
		Eventually(noCondition(cq, whv1.ConditionPolicyViolation)).Should(Succeed())
		Eventually(noCondition(env, whv1.ConditionPolicyViolation)).Should(Succeed())
		change(env, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](2) })
		Eventually(servers).Should(HaveLen(2))
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
	})

	It("grants no role outside the policy's roles, keeps the ones held, and reports a Tenant's missing labels", func() {
		groupID := cloud.AddGroup("default", ns+"-devops")
		userID := cloud.AddUser("default", ns+"-auditor")
		t := createTenant(ns, "roles", func(t *whv1.Tenant) {
			t.Spec.CloudRef = nil
			t.Spec.CloudCredentialsRef = &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}
			t.Spec.RoleAssignments = []whv1.RoleAssignment{
				{Group: ptr.To(ns + "-devops"), Roles: []string{"member"}},
				{User: ptr.To(ns + "-auditor"), UserDomain: ptr.To("default"), Roles: []string{"reader"}},
			}
		})
		Eventually(readyTenant(t)).ShouldNot(BeNil())
		id := fetch(t).Status.ProjectID
		Expect(cloud.Assignments(id)).To(ContainElement(openstack.Assignment{UserID: userID, RoleID: "role-reader"}))
		// A group not in Keystone yet: nothing is granted to it until it is.
		change(t, func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = append(t.Spec.RoleAssignments, whv1.RoleAssignment{Group: ptr.To(ns + "-late"), Roles: []string{"reader"}})
		})
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonDependencyNotFound))

		p := newPolicy(whv1.DepartmentPolicySpec{Roles: []string{"member"}, RequiredLabels: []string{"whitehall.cloud/cost-code"}})
		Eventually(conditionOf(t, whv1.ConditionPolicyViolation)).Should(And(HaveField("Status", metav1.ConditionTrue), HaveField("Message", And(
			ContainSubstring("DepartmentPolicy "+p.Name+": requiredLabels: label whitehall.cloud/cost-code is missing"),
			ContainSubstring("DepartmentPolicy "+p.Name+": roles: role reader is not one of member")))))
		// Tenant dept, made before each spec, has no cost code either.
		Eventually(policyStatus(p)).Should(HaveField("Violations", HaveValue(Equal(int32(2)))))
		Eventually(func() float64 { return policyViolations(p.Name, "Tenant") }).Should(Equal(2.0))

		By("the group appearing in Keystone: the role the policy leaves out is not granted to it")
		lateID := cloud.AddGroup("default", ns+"-late")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"not granted: role reader to group "+lateID+"; the assignments held are kept"))
		Expect(cloud.Assignments(id)).To(ContainElements(
			openstack.Assignment{GroupID: groupID, RoleID: "role-member"}, openstack.Assignment{UserID: userID, RoleID: "role-reader"}))
		Consistently(func() []openstack.Assignment { return cloud.Assignments(id) }).ShouldNot(
			ContainElement(openstack.Assignment{GroupID: lateID, RoleID: "role-reader"}))
		Expect(cloud.Assignments(id)).To(ContainElement(openstack.Assignment{UserID: userID, RoleID: "role-reader"}),
			"a role held before the policy is kept")

		By("removing the policy: the role is granted and the condition goes")
		Expect(k8s.Delete(ctx, p)).To(Succeed())
		Eventually(func() []openstack.Assignment { return cloud.Assignments(id) }).Should(
			ContainElement(openstack.Assignment{GroupID: lateID, RoleID: "role-reader"}))
		Eventually(noCondition(t, whv1.ConditionPolicyViolation)).Should(Succeed())
		Eventually(readyTenant(t)).ShouldNot(BeNil())
	})

	It("counts the Tenants whose networks overlap once a policy with a pool governs them", func() {
		own := func(cidr string) func(*whv1.Tenant) {
			return func(t *whv1.Tenant) {
				t.Spec.CloudRef = nil
				t.Spec.CloudCredentialsRef = &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}
				t.Spec.Network = &whv1.TenantNetwork{CIDR: cidr}
			}
		}
		// Made before any policy: nothing contested their ranges. Out of the other suites'
		// pools (a range a Tenant holds stays claimed while the Tenant exists), and gone
		// after the spec.
		a := createTenant(ns, "net-a", own("172.31.0.0/24"))
		b := createTenant(ns, "net-b", own("172.31.0.128/25"))
		c := createTenant(ns, "net-c", own("172.31.1.0/24"))
		for _, t := range []*whv1.Tenant{a, b, c} {
			DeferCleanup(func() {
				Expect(k8s.Delete(ctx, t)).To(Succeed())
				Eventually(isGone(t)).Should(BeTrue())
			})
			Eventually(readyTenant(t)).ShouldNot(BeNil())
		}
		p := newPolicy(whv1.DepartmentPolicySpec{Networks: &whv1.NetworkRules{Pool: "172.31.0.0/16"}})
		Eventually(policyStatus(p)).Should(And(HaveField("Namespaces", HaveValue(Equal(int32(1)))), HaveField("Violations", HaveValue(Equal(int32(2))))))
		Eventually(func() float64 { return policyViolations(p.Name, "Tenant") }).Should(Equal(2.0))
	})

	It("reports a selector it cannot parse as InvalidConfiguration, and governs nothing with it", func() {
		p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "policy-"}, Spec: whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: policyTestLabel, Operator: "Resembles", Values: []string{ns}},
			}},
			QuotaCeiling: ceiling(1),
		}}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, p) })
		Eventually(func(g Gomega) metav1.Condition {
			out := &whv1.DepartmentPolicy{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(p), out)).To(Succeed())
			c := meta.FindStatusCondition(out.Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}).Should(notReadyBecause(whv1.ReasonInvalidConfiguration, "namespaceSelector"))
		cq := newQuota("quota", "dept", 20)
		Eventually(conditionOf(cq, whv1.ConditionReady)).Should(HaveField("Status", metav1.ConditionTrue))
		Expect(meta.FindStatusCondition(fetch(cq).Status.Conditions, whv1.ConditionPolicyViolation)).To(BeNil())
	})
})
