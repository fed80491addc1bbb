package envtest

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilrand "k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The DepartmentPolicy rules one object shows are refused by the ValidatingAdmissionPolicies
// of config/admission/department-policies.yaml, which the suite applies to the real
// kube-apiserver. Every policy here selects only namespaces labelled
// admissionTestLabel=<a value of its spec's own>, so no other spec is governed by it.

const (
	admissionTestLabel = "test.whitehall.cloud/department-policy"
	costCode           = "whitehall.cloud/cost-code"
	owner              = "whitehall.cloud/owner"
)

// policyNamespace creates a namespace labelled admissionTestLabel=value (with extra labels).
func policyNamespace(value string, extra ...string) string {
	labels := map[string]string{admissionTestLabel: value}
	for i := 0; i+1 < len(extra); i += 2 {
		labels[extra[i]] = extra[i+1]
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "dp-", Labels: labels}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// newDepartmentPolicy creates a DepartmentPolicy that selects the namespaces labelled
// admissionTestLabel=value, and deletes it after the spec.
func newDepartmentPolicy(value string, spec whv1.DepartmentPolicySpec) *whv1.DepartmentPolicy {
	if spec.NamespaceSelector.MatchLabels == nil && spec.NamespaceSelector.MatchExpressions == nil {
		spec.NamespaceSelector.MatchLabels = map[string]string{admissionTestLabel: value}
	}
	p := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}, Spec: spec}
	Expect(k8s.Create(ctx, p)).To(Succeed())
	DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, p))).To(Succeed()) })
	return p
}

// refusal is what the API server says to a server-side dry run creating obj: "" when it
// admits it.
func refusal(obj client.Object) string {
	if err := k8s.Create(ctx, obj.DeepCopyObject().(client.Object), client.DryRunAll); err != nil {
		return err.Error()
	}
	return ""
}

// waitEnforced waits until the API server refuses probe, which breaks policy p: the
// admission policies see a new DepartmentPolicy a moment after it is made.
func waitEnforced(p *whv1.DepartmentPolicy, probe client.Object) {
	Eventually(func() string { return refusal(probe) }).Should(ContainSubstring("DepartmentPolicy "+p.Name+": "),
		"DepartmentPolicy %s is not enforced at admission", p.Name)
}

// updateErr applies edit to the latest obj and updates it, again on a conflict (the
// controllers write finalizers meanwhile), and returns what the API server said.
func updateErr[T client.Object](obj T, edit func(T)) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		edit(obj)
		return k8s.Update(ctx, obj)
	})
}

// scaleErr sets replicas through the scale subresource, as kubectl scale and an HPA do.
func scaleErr(env *whv1.TestEnvironment, replicas int32) error {
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		scale := &autoscalingv1.Scale{}
		if err := k8s.SubResource("scale").Get(ctx, env, scale); err != nil {
			return err
		}
		scale.Spec.Replicas = replicas
		return k8s.SubResource("scale").Update(ctx, env, client.WithSubResourceBody(scale))
	})
}

// mutated applies mutate to obj and returns it.
func mutated[T any](obj T, mutate []func(T)) T {
	for _, m := range mutate {
		m(obj)
	}
	return obj
}

// policyTenant is a Tenant that meets standardPolicy.
func policyTenant(ns string, mutate ...func(*whv1.Tenant)) *whv1.Tenant {
	t := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "t", Labels: map[string]string{costCode: "HMRC-001", owner: "sa-team"}},
		Spec: whv1.TenantSpec{
			CloudRef:        &whv1.CloudReference{Name: sharedCloud},
			RoleAssignments: []whv1.RoleAssignment{{Group: ptr.To("sa-devs"), Roles: []string{"member", "reader"}}},
			ApplicationCredential: &whv1.ApplicationCredentialSpec{
				SecretName: "openstack", Roles: []string{"member"},
				ExpiresAfter: metav1.Duration{Duration: 2160 * time.Hour}, RotateBefore: metav1.Duration{Duration: 720 * time.Hour},
				GracePeriod: metav1.Duration{Duration: time.Hour},
			},
			Network: &whv1.TenantNetwork{CIDR: "10.16.4.0/24"},
		},
	}
	return mutated(t, mutate)
}

// policyQuota is a ComputeQuota that meets standardPolicy.
func policyQuota(ns string, mutate ...func(*whv1.ComputeQuota)) *whv1.ComputeQuota {
	q := &whv1.ComputeQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "q"},
		Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: "t"},
			Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](8), RAMMiB: ptr.To[int64](16384)}},
			Peaks: []whv1.QuotaPeak{{Season: "christmas", QuotaSet: whv1.QuotaSet{
				BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](100)},
				// Not bounded by the ceiling: -1 is fine.
				Network: &whv1.NetworkLimits{Ports: ptr.To[int64](-1)},
			}}},
		},
	}
	return mutated(q, mutate)
}

// policyEnvironment is a TestEnvironment that meets standardPolicy.
func policyEnvironment(ns string, mutate ...func(*whv1.TestEnvironment)) *whv1.TestEnvironment {
	e := &whv1.TestEnvironment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "e"},
		Spec: whv1.TestEnvironmentSpec{
			TenantRef: whv1.LocalObjectReference{Name: "t"},
			Replicas:  ptr.To[int32](3),
			Peaks:     []whv1.ReplicaPeak{{Season: "christmas", Replicas: 3}},
			Template:  whv1.ServerTemplate{Flavor: "m1.small", Image: "cirros"},
			TTL:       &metav1.Duration{Duration: 72 * time.Hour},
		},
	}
	return mutated(e, mutate)
}

// standardPolicy sets every rule that admission refuses.
func standardPolicy() whv1.DepartmentPolicySpec {
	return whv1.DepartmentPolicySpec{
		RequiredLabels: []string{costCode, owner},
		Roles:          []string{"member", "reader"},
		QuotaCeiling: &whv1.QuotaSet{
			Compute:      &whv1.ComputeLimits{Cores: ptr.To[int64](8), RAMMiB: ptr.To[int64](16384)},
			BlockStorage: &whv1.BlockStorageLimits{Gigabytes: ptr.To[int64](100)},
		},
		Environments: &whv1.EnvironmentRules{
			Flavors:     []string{"m1.tiny", "m1.small"},
			Images:      []string{"cirros"},
			MaxReplicas: ptr.To[int32](3),
			MaxTTL:      &metav1.Duration{Duration: 72 * time.Hour},
		},
		Networks: &whv1.NetworkRules{Pool: "10.16.0.0/12"},
	}
}

// withoutLabel drops a label from a Tenant.
func withoutLabel(key string) func(*whv1.Tenant) {
	return func(t *whv1.Tenant) { delete(t.Labels, key) }
}

// breach is an object in namespace ns that breaks one rule of standardPolicy, and the
// message (after "DepartmentPolicy <name>: ") the API server refuses it with.
type breach struct {
	object  func(ns string) client.Object
	message string
}

var breaches = []breach{
	{func(ns string) client.Object { return policyTenant(ns, withoutLabel(owner)) },
		"requiredLabels: label whitehall.cloud/owner is missing"},
	{func(ns string) client.Object {
		return policyTenant(ns, func(t *whv1.Tenant) { t.Labels[costCode] = "" })
	}, "requiredLabels: label whitehall.cloud/cost-code is empty"},
	{func(ns string) client.Object {
		return policyTenant(ns, func(t *whv1.Tenant) { t.Spec.RoleAssignments[0].Roles = []string{"member", "admin"} })
	}, "roles: role admin is not one of member, reader"},
	{func(ns string) client.Object {
		return policyTenant(ns, func(t *whv1.Tenant) { t.Spec.ApplicationCredential.Roles = []string{"load-balancer_member"} })
	}, "roles: role load-balancer_member is not one of member, reader"},
	{func(ns string) client.Object {
		return policyTenant(ns, func(t *whv1.Tenant) { t.Spec.Network.CIDR = "192.168.10.0/24" })
	}, "networks.pool: cidr 192.168.10.0/24 is not inside the pool 10.16.0.0/12"},
	{func(ns string) client.Object {
		// Overlapping the pool is not inside it.
		return policyTenant(ns, func(t *whv1.Tenant) { t.Spec.Network.CIDR = "10.0.0.0/8" })
	}, "networks.pool: cidr 10.0.0.0/8 is not inside the pool 10.16.0.0/12"},
	{func(ns string) client.Object {
		// Inside the pool, but one department would hold sixteen blocks' worth.
		return policyTenant(ns, func(t *whv1.Tenant) { t.Spec.Network.CIDR = "10.16.0.0/20" })
	}, "networks.prefixLength: cidr 10.16.0.0/20 is larger than the /24 blocks of the pool"},
	{func(ns string) client.Object {
		return policyQuota(ns, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](9) })
	}, "quotaCeiling: baseline compute.cores 9 is over the ceiling 8"},
	{func(ns string) client.Object {
		return policyQuota(ns, func(q *whv1.ComputeQuota) { q.Spec.Peaks[0].BlockStorage.Gigabytes = ptr.To[int64](-1) })
	}, "quotaCeiling: peak christmas blockStorage.gigabytes -1 (unlimited) is over the ceiling 100"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.Template.Flavor = "m1.large" })
	}, "environments.flavors: flavor m1.large is not one of m1.tiny, m1.small"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.Template.Image = "ubuntu-24.04" })
	}, "environments.images: image ubuntu-24.04 is not one of cirros"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](4) })
	}, "environments.maxReplicas: replicas 4 is over the maximum 3"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.Peaks[0].Replicas = 50 })
	}, "environments.maxReplicas: peak christmas replicas 50 is over the maximum 3"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.TTL = nil })
	}, "environments.maxTTL: a ttl is required, at most 72h0m0s"},
	{func(ns string) client.Object {
		return policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.TTL = &metav1.Duration{Duration: 73 * time.Hour} })
	}, "environments.maxTTL: ttl 73h0m0s is longer than 72h0m0s"},
}

var _ = Describe("DepartmentPolicy at admission", func() {
	var (
		value string // the label value this spec's policies select
		ns    string
	)
	BeforeEach(func() {
		value = utilrand.String(8)
		ns = policyNamespace(value)
	})

	Describe("one policy with every rule", func() {
		var p *whv1.DepartmentPolicy
		BeforeEach(func() {
			p = newDepartmentPolicy(value, standardPolicy())
			waitEnforced(p, breaches[0].object(ns))
		})

		entries := []TableEntry{}
		for _, b := range breaches {
			entries = append(entries, Entry(b.message, b))
		}
		DescribeTable("refuses an object that breaks a rule, naming the policy and the rule", func(b breach) {
			Expect(refusal(b.object(ns))).To(ContainSubstring(fmt.Sprintf("DepartmentPolicy %s: %s", p.Name, b.message)))
		}, entries)

		It("admits objects that meet every rule, and what no rule bounds", func() {
			for _, obj := range []client.Object{
				policyTenant(ns),
				// A network without cidr gets a block of the pool.
				policyTenant(ns, func(t *whv1.Tenant) { t.Spec.Network.CIDR = "" }),
				policyTenant(ns, func(t *whv1.Tenant) { t.Spec.Network.CIDR = "10.31.255.0/24" }),
				policyQuota(ns),
				policyEnvironment(ns),
				policyEnvironment(ns, func(e *whv1.TestEnvironment) {
					e.Spec.Template.Flavor, e.Spec.Replicas, e.Spec.Peaks = "m1.tiny", nil, nil // replicas defaults to 1
				}),
			} {
				Expect(refusal(obj)).To(BeEmpty(), "%T %+v", obj, obj)
			}
		})

		It("admits objects that break it in a namespace it does not select", func() {
			other := policyNamespace(value + "-other")
			for _, b := range breaches {
				Expect(refusal(b.object(other))).To(BeEmpty(), b.message)
			}
		})
	})

	It("selects namespaces by matchExpressions too", func() {
		const exempt = "test.whitehall.cloud/exempt"
		p := newDepartmentPolicy(value, whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: admissionTestLabel, Operator: metav1.LabelSelectorOpIn, Values: []string{value, value + "-also"}},
				{Key: exempt, Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			RequiredLabels: []string{owner},
		})
		bad := policyTenant(ns, withoutLabel(owner))
		waitEnforced(p, bad)
		Expect(refusal(policyTenant(policyNamespace(value+"-also"), withoutLabel(owner)))).To(ContainSubstring("DepartmentPolicy " + p.Name + ": requiredLabels"))
		Expect(refusal(policyTenant(policyNamespace(value, exempt, "yes"), withoutLabel(owner)))).To(BeEmpty())
		Expect(refusal(policyTenant(policyNamespace(value+"-not"), withoutLabel(owner)))).To(BeEmpty())
	})

	It("enforces every policy that selects a namespace", func() {
		labels := newDepartmentPolicy(value, whv1.DepartmentPolicySpec{RequiredLabels: []string{owner}, Environments: &whv1.EnvironmentRules{MaxReplicas: ptr.To[int32](3)}})
		flavors := newDepartmentPolicy(value, whv1.DepartmentPolicySpec{RequiredLabels: []string{costCode}, Environments: &whv1.EnvironmentRules{Flavors: []string{"m1.tiny"}}})
		waitEnforced(labels, policyTenant(ns, withoutLabel(owner)))
		waitEnforced(flavors, policyTenant(ns, withoutLabel(costCode)))

		Expect(refusal(policyTenant(ns, withoutLabel(owner)))).To(ContainSubstring("DepartmentPolicy " + labels.Name + ": requiredLabels: label whitehall.cloud/owner is missing"))
		Expect(refusal(policyTenant(ns, withoutLabel(costCode)))).To(ContainSubstring("DepartmentPolicy " + flavors.Name + ": requiredLabels: label whitehall.cloud/cost-code is missing"))
		Expect(refusal(policyTenant(ns))).To(BeEmpty())

		Expect(refusal(policyEnvironment(ns, func(e *whv1.TestEnvironment) {
			e.Spec.Template.Flavor, e.Spec.Replicas = "m1.tiny", ptr.To[int32](4)
		}))).To(ContainSubstring("DepartmentPolicy " + labels.Name + ": environments.maxReplicas: replicas 4 is over the maximum 3"))
		Expect(refusal(policyEnvironment(ns, func(e *whv1.TestEnvironment) {
			e.Spec.Template.Flavor = "m1.small"
		}))).To(ContainSubstring("DepartmentPolicy " + flavors.Name + ": environments.flavors: flavor m1.small is not one of m1.tiny"))
		Expect(refusal(policyEnvironment(ns, func(e *whv1.TestEnvironment) { e.Spec.Template.Flavor = "m1.tiny" }))).To(BeEmpty())
	})

	It("lets an object that broke a policy before it existed change, unless the change makes a breach worse", func() {
		By("objects that break the policy, made before it")
		tenant := policyTenant(ns, withoutLabel(costCode), func(t *whv1.Tenant) {
			t.Spec.RoleAssignments[0].Roles = []string{"member", "admin"}
			t.Spec.Network.CIDR = "192.168.10.0/24"
		})
		quota := policyQuota(ns, func(q *whv1.ComputeQuota) {
			q.Spec.Baseline.Compute.Cores = ptr.To[int64](12)
			q.Spec.Peaks[0].BlockStorage.Gigabytes = ptr.To[int64](-1)
		})
		env := policyEnvironment(ns, func(e *whv1.TestEnvironment) {
			e.Spec.Replicas = ptr.To[int32](6)
			e.Spec.Peaks[0].Replicas = 8
			e.Spec.Template.Flavor = "m1.large"
			e.Spec.TTL = nil
		})
		for _, obj := range []client.Object{tenant, quota, env} {
			Expect(k8s.Create(ctx, obj)).To(Succeed())
		}
		spec := standardPolicy()
		spec.RequiredLabels = append(spec.RequiredLabels, "whitehall.cloud/business-unit")
		p := newDepartmentPolicy(value, spec)
		waitEnforced(p, policyTenant(ns, withoutLabel(costCode), func(t *whv1.Tenant) { t.Name = "probe" }))
		refused := func(rule, detail string) OmegaMatcher {
			return MatchError(ContainSubstring(fmt.Sprintf("DepartmentPolicy %s: %s: %s", p.Name, rule, detail)))
		}

		By("Tenant: a missing label added while another is still missing; the role and network it had kept")
		Expect(updateErr(tenant, func(t *whv1.Tenant) { t.Labels[costCode] = "HMRC-001" })).To(Succeed())
		Expect(updateErr(tenant, func(t *whv1.Tenant) { t.Annotations = map[string]string{"note": "kept"} })).To(Succeed())
		By("Tenant: removing a required label it had, or granting the role it breaks with to someone else, is worse")
		Expect(updateErr(tenant, func(t *whv1.Tenant) { delete(t.Labels, owner) })).To(refused("requiredLabels", "label whitehall.cloud/owner is missing"))
		Expect(updateErr(tenant, func(t *whv1.Tenant) {
			t.Spec.RoleAssignments = append(t.Spec.RoleAssignments, whv1.RoleAssignment{User: ptr.To("someone"), Roles: []string{"admin"}})
		})).To(refused("roles", "role admin is not one of member, reader"))
		Expect(updateErr(tenant, func(t *whv1.Tenant) { t.Spec.ApplicationCredential.Roles = []string{"admin"} })).To(refused("roles", "role admin is not one of member, reader"))
		By("Tenant: giving the role up is allowed, and granting it again is not")
		Expect(updateErr(tenant, func(t *whv1.Tenant) { t.Spec.RoleAssignments[0].Roles = []string{"member"} })).To(Succeed())
		Expect(updateErr(tenant, func(t *whv1.Tenant) { t.Spec.RoleAssignments[0].Roles = []string{"member", "admin"} })).To(refused("roles", "role admin"))

		By("ComputeQuota: coming down while still over the ceiling is allowed, going up is not")
		Expect(updateErr(quota, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](10) })).To(Succeed())
		Expect(updateErr(quota, func(q *whv1.ComputeQuota) { q.Spec.Baseline.Compute.Cores = ptr.To[int64](11) })).To(refused("quotaCeiling", "baseline compute.cores 11 is over the ceiling 8"))
		Expect(updateErr(quota, func(q *whv1.ComputeQuota) { q.Spec.Peaks[0].BlockStorage.Gigabytes = ptr.To[int64](500) })).To(Succeed())
		Expect(updateErr(quota, func(q *whv1.ComputeQuota) { q.Spec.Peaks[0].BlockStorage.Gigabytes = ptr.To[int64](-1) })).To(refused("quotaCeiling", "peak christmas blockStorage.gigabytes -1 (unlimited) is over the ceiling 100"))
		Expect(updateErr(quota, func(q *whv1.ComputeQuota) {
			q.Spec.Peaks = append(q.Spec.Peaks, whv1.QuotaPeak{Season: "easter", QuotaSet: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](9)}}})
		})).To(refused("quotaCeiling", "peak easter compute.cores 9 is over the ceiling 8"))

		By("TestEnvironment: scaling down while still over maxReplicas is allowed, scaling up is not, through the spec or the scale subresource")
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](5) })).To(Succeed())
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To[int32](6) })).To(refused("environments.maxReplicas", "replicas 6 is over the maximum 3"))
		Expect(scaleErr(env, 4)).To(Succeed())
		Expect(scaleErr(env, 5)).To(refused("environments.maxReplicas", "replicas 5 is over the maximum 3"))
		Expect(scaleErr(env, 2)).To(Succeed())
		Expect(scaleErr(env, 4)).To(refused("environments.maxReplicas", "replicas 4 is over the maximum 3"))
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Peaks[0].Replicas = 7 })).To(Succeed())
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Peaks[0].Replicas = 8 })).To(refused("environments.maxReplicas", "peak christmas replicas 8 is over the maximum 3"))
		By("TestEnvironment: the flavor it had and no ttl are kept; another flavor out of the list is refused")
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Template.Flavor = "m1.xlarge" })).To(refused("environments.flavors", "flavor m1.xlarge is not one of m1.tiny, m1.small"))
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Template.Image = "ubuntu" })).To(refused("environments.images", "image ubuntu is not one of cirros"))
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Template.Flavor = "m1.tiny" })).To(Succeed())
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.Template.Flavor = "m1.large" })).To(refused("environments.flavors", "flavor m1.large is not one of m1.tiny, m1.small"))
		Expect(updateErr(env, func(e *whv1.TestEnvironment) { e.Spec.TTL = &metav1.Duration{Duration: 24 * time.Hour} })).To(Succeed())
	})
})
