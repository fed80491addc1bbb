package envtest

import (
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// networkWrite is the write the fake records for a network drift entry: what Manage
// makes of it.
func networkWrite(d whv1.DriftEntry) string {
	switch {
	case d.Field == "network" && d.Actual == "absent":
		kinds := "network,subnet"
		if strings.Contains(d.Desired, ", router to ") {
			kinds += ",router"
		}
		return "CreateNetwork " + kinds
	case d.Field == "network.cidr" && d.Actual == "absent":
		return "CreateNetwork subnet"
	case d.Field == "network.externalNetwork" && d.Actual == "absent":
		return "CreateNetwork router"
	case d.Field == "network.externalNetwork":
		return "UpdateRouter gateway=" + strings.TrimSuffix(d.Desired, " (the router is kept)")
	case d.Field == "network.dnsNameservers":
		return "UpdateSubnet dnsNameservers=" + strings.TrimPrefix(d.Desired, "none")
	}
	return "unexpected drift " + d.Field
}

// networkWrites are the fake's recorded network writes to a project.
func networkWrites(project string) func() []string {
	return func() []string {
		var out []string
		for _, w := range cloud.Writes(project) {
			if strings.HasPrefix(w, "CreateNetwork") || strings.HasPrefix(w, "UpdateSubnet") || strings.HasPrefix(w, "UpdateRouter") {
				out = append(out, w)
			}
		}
		return out
	}
}

var _ = Describe("Tenant under managementPolicy Observe reads its network bundle (drift)", func() {
	var ns string
	BeforeEach(func() { ns = newDepartment() })

	// switchMakesTheDrift switches t to Manage and checks that the network writes are
	// exactly those its network drift listed, then that status records the bundle.
	switchMakesTheDrift := func(t *whv1.Tenant, project string, drift []whv1.DriftEntry) {
		var made []string
		for _, d := range drift {
			if strings.HasPrefix(d.Field, "network") {
				made = append(made, networkWrite(d))
			}
		}
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		Eventually(readyTenant(t)).Should(HaveField("Status.Network.NetworkID", Not(BeEmpty())))
		Expect(networkWrites(project)()).To(ConsistOf(made))
		Consistently(networkWrites(project)).Should(HaveLen(len(made)))
	}

	It("lists a department's bundle's DNS servers and missing router, writes nothing, and the switch makes exactly that", func() {
		p := cloud.AddProject(openstack.Project{Name: "net-" + ns, DomainID: "default", Enabled: true,
			Tags: []string{whv1.HandoverTagPrefix + ns}})
		cloud.AddNetworkDirectly(p.ID, p.Name, "10.30.0.0/24")
		cloud.SetNetworkDirectly(p.ID, p.Name, []string{"192.0.2.1"}, "")
		t := createTenant(ns, "net", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.30.0.0/24", ExternalNetwork: ptr.To("public"),
				DNSNameservers: []string{"192.0.2.53", "192.0.2.54"}}
		})
		want := []whv1.DriftEntry{
			{Field: "network.dnsNameservers", Desired: "192.0.2.53,192.0.2.54", Actual: "192.0.2.1"},
			{Field: "network.externalNetwork", Desired: "router to public", Actual: "absent"},
		}
		Eventually(driftOf(t)).Should(Equal(want))
		Eventually(conditionOf(t, whv1.ConditionInSync)).Should(notReadyBecause(whv1.ReasonDrifted, "2 difference(s)"))
		Consistently(networkWrites(p.ID)).Should(BeEmpty())
		Expect(cloud.Calls("EnsureNetworkBundle/"+p.ID)).To(BeZero(), "Observe never calls the writer")

		switchMakesTheDrift(t, p.ID, want)
		Expect(fetch(t).Status.Network.Adopted).To(ConsistOf("network", "subnet"), "the department's pieces stay its own")
	})

	It("lists a bundle that is missing, and after the switch an Observe of the bundle made shows no drift", func() {
		t := createTenant(ns, "fresh", func(t *whv1.Tenant) { t.Spec.Project.Name = ptr.To("fresh-" + ns) })
		Eventually(readyTenant(t)).Should(HaveField("Status.ProjectID", Not(BeEmpty())))
		project := fetch(t).Status.ProjectID
		change(t, func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.31.0.0/24", ExternalNetwork: ptr.To("public")}
		})
		want := []whv1.DriftEntry{{Field: "network", Desired: "network and subnet fresh-" + ns + ", router to public", Actual: "absent"}}
		Eventually(driftOf(t)).Should(Equal(want))
		Consistently(networkWrites(project)).Should(BeEmpty())

		switchMakesTheDrift(t, project, want)

		By("observing the bundle Manage made: in sync")
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve })
		Eventually(conditionOf(t, whv1.ConditionInSync)).Should(HaveField("Reason", whv1.ReasonInSync))
		Expect(fetch(t).Status.Drift).To(BeEmpty())

		By("a gateway moved by hand is listed, and the switch moves it back")
		cloud.SetNetworkDirectly(project, "fresh-"+ns, nil, "corp")
		moved := []whv1.DriftEntry{{Field: "network.externalNetwork", Desired: "public", Actual: "corp"}}
		change(t, func(t *whv1.Tenant) { t.Annotations = map[string]string{"resync": "1"} })
		Eventually(driftOf(t)).Should(Equal(moved))
		before := len(networkWrites(project)())
		change(t, func(t *whv1.Tenant) { t.Spec.ManagementPolicy = whv1.ManagementPolicyManage })
		Eventually(func() []string { return networkWrites(project)()[before:] }).Should(Equal([]string{networkWrite(moved[0])}))
		Consistently(networkWrites(project)).Should(HaveLen(before + 1))
	})

	It("lists a department's network of another range as refused, and writes nothing", func() {
		p := cloud.AddProject(openstack.Project{Name: "clash-" + ns, DomainID: "default", Enabled: true,
			Tags: []string{whv1.HandoverTagPrefix + ns}})
		cloud.AddNetworkDirectly(p.ID, p.Name, "10.9.0.0/24")
		t := createTenant(ns, "clash", func(t *whv1.Tenant) {
			t.Spec.ManagementPolicy = whv1.ManagementPolicyObserve
			t.Spec.Import = &whv1.ProjectImport{ID: ptr.To(p.ID)}
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.32.0.0/24"}
		})
		Eventually(driftOf(t)).Should(Equal([]whv1.DriftEntry{{Field: "network.cidr", Desired: "10.32.0.0/24",
			Actual: "10.9.0.0/24: its subnets are 10.9.0.0/24, not 10.32.0.0/24; Manage refuses it (NetworkConflict)"}}))
		Consistently(networkWrites(p.ID)).Should(BeEmpty())
	})
})
