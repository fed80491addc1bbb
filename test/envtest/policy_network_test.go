package envtest

import (
	"fmt"
	"net/netip"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// cidrTestLabel marks the namespaces of one spec below; its policies select that label
// and value only, so they govern nothing else.
const cidrTestLabel = "whitehall.cloud/cidr-test"

var _ = Describe("Tenant networks drawn from a DepartmentPolicy's pool", func() {
	var id string
	BeforeEach(func() { id = rand.String(8) })

	// department makes a namespace the shared Cloud admits and this spec's policies govern.
	department := func() string {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "cidr-", Labels: map[string]string{departmentLabel: "true", cidrTestLabel: id}}}
		Expect(k8s.Create(ctx, ns)).To(Succeed())
		return ns.Name
	}
	// newPolicy makes a policy with a pool over this spec's namespaces, deleted after it.
	newPolicy := func(pool string, prefixLength int32) *whv1.DepartmentPolicy {
		p := &whv1.DepartmentPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "cidr-" + id},
			Spec: whv1.DepartmentPolicySpec{
				NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{cidrTestLabel: id}},
				Networks:          &whv1.NetworkRules{Pool: pool, PrefixLength: ptr.To(prefixLength)},
			},
		}
		Expect(k8s.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, p))).To(Succeed()) })
		return p
	}
	// networked makes a Tenant with a network, of cidr when not "".
	networked := func(ns, name, cidr string) *whv1.Tenant {
		return createTenant(ns, name, func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: cidr} })
	}
	// subnetOf is the CIDR of the Tenant's subnet in the fake ("" for none).
	subnetOf := func(t *whv1.Tenant) string {
		return cloud.SubnetCIDR(t.Status.ProjectID, t.Namespace+"_"+t.Name)
	}
	// readyCIDR waits until the Tenant is Ready and returns its status.network.cidr.
	readyCIDR := func(t *whv1.Tenant) string {
		var got *whv1.Tenant
		Eventually(readyTenant(t)).Should(Not(BeNil()))
		got = fetch(t)
		Expect(got.Status.Network).NotTo(BeNil())
		return got.Status.Network.CIDR
	}
	warnings := func(t *whv1.Tenant, reason string) func(Gomega) []string {
		return func(g Gomega) []string {
			var notes []string
			for _, e := range eventsAbout(g, "Tenant", t.Name) {
				if e.Regarding.Namespace == t.Namespace && e.Reason == reason && e.Type == corev1.EventTypeWarning {
					notes = append(notes, e.Note)
				}
			}
			return notes
		}
	}

	It("gives a network without a cidr the next free block, records it in status, and makes the subnet with it", func() {
		newPolicy("10.128.0.0/16", 24)
		ns := department()
		a := networked(ns, "a", "")
		Expect(readyCIDR(a)).To(Equal("10.128.0.0/24"))
		Expect(subnetOf(fetch(a))).To(Equal("10.128.0.0/24"))

		// An explicit range is recorded too, and an allocation skips it.
		b := networked(ns, "b", "10.128.1.0/24")
		Expect(readyCIDR(b)).To(Equal("10.128.1.0/24"))
		c := networked(ns, "c", "")
		Expect(readyCIDR(c)).To(Equal("10.128.2.0/24"))
		Expect(subnetOf(fetch(c))).To(Equal("10.128.2.0/24"))
		Eventually(func(g Gomega) []string {
			var reasons []string
			for _, e := range eventsAbout(g, "Tenant", "c") {
				if e.Regarding.Namespace == ns {
					reasons = append(reasons, e.Reason+": "+e.Note)
				}
			}
			return reasons
		}).Should(ContainElement(ContainSubstring(whv1.ReasonNetworkAllocated + ": Allocated 10.128.2.0/24 from the pool of DepartmentPolicy cidr-" + id)))
	})

	It("never gives one block twice to Tenants created at the same moment", func() {
		newPolicy("10.129.0.0/16", 24)
		namespaces := []string{department(), department()}
		var tenants []*whv1.Tenant
		for i := range 8 {
			tenants = append(tenants, &whv1.Tenant{
				ObjectMeta: metav1.ObjectMeta{Namespace: namespaces[i%2], Name: fmt.Sprintf("t%d", i)},
				Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: sharedCloud}, Network: &whv1.TenantNetwork{}},
			})
		}
		createAtOnce(k8s, tenants)

		var got []string
		for _, t := range tenants {
			cidr := readyCIDR(t)
			Expect(subnetOf(fetch(t))).To(Equal(cidr), "Tenant %s/%s", t.Namespace, t.Name)
			got = append(got, cidr)
		}
		Expect(got).To(ConsistOf("10.129.0.0/24", "10.129.1.0/24", "10.129.2.0/24", "10.129.3.0/24",
			"10.129.4.0/24", "10.129.5.0/24", "10.129.6.0/24", "10.129.7.0/24"), "the 8 lowest blocks, each once")
	})

	It("writes nothing to OpenStack for a network overlapping another Tenant's, and names no Tenant of another namespace", func() {
		p := newPolicy("10.130.0.0/16", 24)
		mine, theirs := department(), department()
		a := networked(mine, "a", "10.130.0.0/24")
		Expect(readyCIDR(a)).To(Equal("10.130.0.0/24"))

		b := networked(mine, "b", "10.130.0.0/25")
		Eventually(conditionOf(b, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"DepartmentPolicy "+p.Name+": networks.pool: network 10.130.0.0/25 overlaps 10.130.0.0/24 of Tenant a, which holds it"))
		Eventually(warnings(b, whv1.ReasonPolicyViolation)).Should(ContainElement(ContainSubstring("of Tenant a")))

		// Another department: neither the Tenant nor its namespace is named to it.
		c := networked(theirs, "c", "10.130.0.128/25")
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"network 10.130.0.128/25 overlaps 10.130.0.0/24 of a Tenant in another namespace, which holds it"))
		msg := fetch(c).Status.Conditions
		Expect(meta.FindStatusCondition(msg, whv1.ConditionReady).Message).NotTo(Or(ContainSubstring(mine), ContainSubstring("Tenant a")))
		Eventually(warnings(c, whv1.ReasonPolicyViolation)).Should(ContainElement(Not(ContainSubstring(mine))))

		// Ranges that held ones block do not hold back allocation (internal/policy's unit
		// tests cover a blocked range larger than a block); a block allocated to one
		// department cannot be taken by another.
		given := networked(mine, "given", "")
		Expect(readyCIDR(given)).To(Equal("10.130.1.0/24"))
		thief := networked(theirs, "thief", "10.130.1.0/24")
		Eventually(conditionOf(thief, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation,
			"network 10.130.1.0/24 overlaps 10.130.1.0/24 of a Tenant in another namespace, which holds it"))

		// Nothing at all in OpenStack: no project, so no network.
		for _, t := range []*whv1.Tenant{b, c, thief} {
			Consistently(func() string { return fetch(t).Status.ProjectID }).Should(BeEmpty())
			Expect(fetch(t).Status.Network).To(Or(BeNil(), HaveField("NetworkID", BeEmpty())))
		}
		Expect(subnetOf(fetch(a))).To(Equal("10.130.0.0/24"), "the holder's network is untouched")

		// A Tenant with a project that asks for an overlapping network later: the project
		// is still kept in line, and no network is made.
		d := createTenant(mine, "d")
		Eventually(readyTenant(d)).Should(Not(BeNil()))
		project := fetch(d)
		change(d, func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.130.1.128/25"} })
		Eventually(conditionOf(d, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPolicyViolation, "of Tenant given, which holds it"))
		Consistently(func() *openstack.NetworkBundle { return cloud.NetworkBundle(project.Status.ProjectID, mine+"-d") }).Should(BeNil())
		Expect(fetch(d).Status.ProjectID).To(Equal(project.Status.ProjectID))
	})

	It("says PoolExhausted when no block is left, and gives the block of a Tenant gone (not before) to the one waiting", func() {
		p := newPolicy("10.131.0.0/23", 24)
		ns := department()
		a, b := networked(ns, "a", ""), networked(ns, "b", "")
		Expect([]string{readyCIDR(a), readyCIDR(b)}).To(ConsistOf("10.131.0.0/24", "10.131.1.0/24"))

		c := networked(ns, "c", "")
		Eventually(conditionOf(c, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonPoolExhausted,
			"DepartmentPolicy "+p.Name+": networks.pool: no free /24 left in 10.131.0.0/23"))

		// a is deleted but waits for its project to be emptied: it keeps its block.
		freed := fetch(a)
		cloud.SetContents(freed.Status.ProjectID, openstack.Contents{Servers: []string{"vm"}})
		Expect(k8s.Delete(ctx, a)).To(Succeed())
		Eventually(conditionOf(a, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonDeletionBlocked))
		Consistently(conditionOf(c, whv1.ConditionReady)).Should(HaveField("Reason", whv1.ReasonPoolExhausted))

		cloud.SetContents(freed.Status.ProjectID, openstack.Contents{})
		Eventually(isGone(a)).Should(BeTrue())
		Expect(readyCIDR(c)).To(Equal(freed.Status.Network.CIDR))
		Expect(subnetOf(fetch(c))).To(Equal(freed.Status.Network.CIDR))
	})

	It("keeps the networks that exist when a policy added later does not allow them, and allocates around them", func() {
		ns := department()
		x := networked(ns, "x", "10.20.0.0/24")
		y := networked(ns, "y", "10.20.0.0/24") // no policy yet: an overlap is nobody's business
		readyCIDR(x)
		readyCIDR(y)
		before := []*whv1.Tenant{fetch(x), fetch(y)}

		p := newPolicy("10.132.0.0/16", 24)
		// Neither is torn down; the overlap is told in an event.
		Eventually(warnings(x, whv1.ReasonPolicyViolation)).Should(ContainElement(
			"DepartmentPolicy " + p.Name + ": networks.pool: network 10.20.0.0/24 overlaps 10.20.0.0/24 of Tenant y, which holds it; both keep running: nothing is torn down"))
		for _, t := range before {
			Consistently(func(g Gomega) *whv1.TenantNetworkStatus { return readyTenant(t)(g).Status.Network }).Should(
				PointTo(HaveField("NetworkID", t.Status.Network.NetworkID)))
			Expect(cloud.NetworkBundle(t.Status.ProjectID, ns+"_"+t.Name)).To(PointTo(HaveField("NetworkID", t.Status.Network.NetworkID)))
			Expect(subnetOf(t)).To(Equal("10.20.0.0/24"))
		}

		z := networked(ns, "z", "")
		Expect(readyCIDR(z)).To(Equal("10.132.0.0/24"))
	})

	It("requires spec.network.cidr where no policy with a pool governs the namespace", func() {
		ns := department() // no policy selects it
		t := networked(ns, "n", "")
		Eventually(conditionOf(t, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonInvalidConfiguration,
			"spec.network.cidr is required: no DepartmentPolicy with networks.pool governs namespace "+ns))
		Expect(fetch(t).Status.ProjectID).To(BeEmpty())

		// A policy added later gives it a block.
		newPolicy("10.133.0.0/16", 28)
		Expect(readyCIDR(t)).To(Equal("10.133.0.0/28"))
		Expect(netip.MustParsePrefix(subnetOf(fetch(t))).Bits()).To(Equal(28))
	})
})
