package e2e

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	. "github.com/onsi/gomega/gstruct"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

// A Tenant's network bundle takes nothing of a department's by name, and its deletion
// never takes a department's data with the project.
var _ = Describe("Tenant data", Ordered, func() {
	const ns = "tenantdata"
	BeforeAll(func() {
		Expect(admin.DeleteOwnedProjects(ctx, ns+"_conflict", ns+"_gateway")).To(Succeed(), "leftovers of an earlier run")
		departmentNamespace(ns)
	})
	tenant := func(name string) *whv1.Tenant {
		t := &whv1.Tenant{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
		return t
	}
	ready := func(name string) func(Gomega) metav1.Condition {
		return func(g Gomega) metav1.Condition {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
			c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}
	}
	gone := func(name string) func() bool {
		return func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &whv1.Tenant{}))
		}
	}
	project := func(id string) *cloudtest.Project {
		p, err := admin.GetProject(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		return p
	}

	It("does not adopt a hand-made network named like the bundle with another CIDR, and its deletion waits for that network", func() {
		apply(tenantYAML(ns, "conflict", ""))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/conflict", "--timeout=120s")
		id := tenant("conflict").Status.ProjectID
		netID, removeNet, err := admin.CreateNetwork(ctx, id, ns+"_conflict", "10.99.0.0/24")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(removeNet(ctx)).To(Succeed()) })

		apply(tenantYAML(ns, "conflict", "network: {cidr: 10.20.0.0/24, externalNetwork: public}"))
		Eventually(ready("conflict")).Should(And(HaveField("Reason", whv1.ReasonNetworkConflict),
			HaveField("Status", metav1.ConditionFalse),
			HaveField("Message", And(ContainSubstring(netID), ContainSubstring("10.99.0.0/24"), ContainSubstring("10.20.0.0/24")))))
		Expect(admin.GetNetwork(ctx, netID)).To(Equal(&cloudtest.NetworkInfo{
			Name: ns + "_conflict", Description: "made by hand", CIDRs: []string{"10.99.0.0/24"},
		}), "the department's network is unchanged")
		resources, err := admin.NetworkResources(ctx, id)
		Expect(err).NotTo(HaveOccurred())
		Expect(strings.Join(resources, "\n")).NotTo(Or(ContainSubstring("router "), ContainSubstring("10.20.0.0")), "nothing was made beside it")

		kubectl("-n", ns, "delete", "tenant", "conflict", "--wait=false")
		Eventually(ready("conflict")).Should(And(HaveField("Reason", whv1.ReasonDeletionBlocked),
			HaveField("Message", ContainSubstring("1 network(s): "+ns+"_conflict ("+netID+")"))))
		Expect(project(id)).NotTo(BeNil(), "a project holding a department's network is not deleted")
		Expect(admin.GetNetwork(ctx, netID)).NotTo(BeNil())

		Expect(removeNet(ctx)).To(Succeed())
		Eventually(gone("conflict")).WithTimeout(2 * time.Minute).Should(BeTrue())
		Expect(project(id)).To(BeNil())
	})

	It("marks its bundle, clears the gateway when externalNetwork is removed and keeps the router, and deletes only its own pieces", func() {
		apply(tenantYAML(ns, "gateway", "network: {cidr: 10.21.0.0/24, externalNetwork: public}"))
		kubectl("-n", ns, "wait", "--for=condition=Ready", "tenant/gateway", "--timeout=120s")
		t := tenant("gateway")
		mark := "whitehall.cloud/owner=" + string(t.UID)
		bundle := *t.Status.Network
		Expect(bundle.Adopted).To(BeEmpty())
		Expect(admin.GetNetwork(ctx, bundle.NetworkID)).To(PointTo(And(HaveField("Description", mark), HaveField("CIDRs", ConsistOf("10.21.0.0/24")))))
		router, err := admin.GetRouter(ctx, bundle.RouterID)
		Expect(err).NotTo(HaveOccurred())
		Expect(router).To(PointTo(And(HaveField("Description", mark), HaveField("GatewayNetworkID", Not(BeEmpty())),
			HaveField("InterfaceSubnets", ContainElement(bundle.SubnetID)))))

		apply(tenantYAML(ns, "gateway", "network: {cidr: 10.21.0.0/24}"))
		Eventually(func(g Gomega) *cloudtest.RouterInfo {
			r, err := admin.GetRouter(ctx, bundle.RouterID)
			g.Expect(err).NotTo(HaveOccurred())
			return r
		}).Should(PointTo(And(HaveField("GatewayNetworkID", BeEmpty()), HaveField("InterfaceSubnets", ContainElement(bundle.SubnetID)))))
		Eventually(ready("gateway")).Should(HaveField("Reason", whv1.ReasonReady))
		Expect(tenant("gateway").Status.Network).To(PointTo(Equal(bundle)), "the router is kept")

		By("a department's volume, floating IP and security group hold the project")
		removeVolume, err := admin.CreateVolume(ctx, t.Status.ProjectID, "department-data")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Eventually(removeVolume).WithArguments(ctx).Should(Succeed()) })
		removeFIP, err := admin.CreateFloatingIP(ctx, t.Status.ProjectID, "public")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(removeFIP(ctx)).To(Succeed()) })
		removeSG, err := admin.CreateSecurityGroup(ctx, t.Status.ProjectID, "department-web")
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { Expect(removeSG(ctx)).To(Succeed()) })
		kubectl("-n", ns, "delete", "tenant", "gateway", "--wait=false")
		Eventually(ready("gateway")).Should(And(HaveField("Reason", whv1.ReasonDeletionBlocked),
			HaveField("Message", And(ContainSubstring("1 volume(s): department-data ("), ContainSubstring("1 floating IP(s): 172.24.4."),
				ContainSubstring("1 security group(s): department-web")))))
		msg := ready("gateway")(Default).Message
		Expect(msg).NotTo(Or(ContainSubstring("network(s)"), ContainSubstring("router(s)"), ContainSubstring("port(s)")),
			"the bundle and the ports it brings are the operator's")
		Expect(project(t.Status.ProjectID)).NotTo(BeNil())

		// A volume still being created cannot be deleted yet (on the dev cloud it ends in error).
		Eventually(removeVolume).WithArguments(ctx).WithTimeout(time.Minute).Should(Succeed())
		Expect(removeFIP(ctx)).To(Succeed())
		Expect(removeSG(ctx)).To(Succeed())
		Eventually(gone("gateway")).WithTimeout(2 * time.Minute).Should(BeTrue())
		Expect(project(t.Status.ProjectID)).To(BeNil())
		Expect(admin.GetNetwork(ctx, bundle.NetworkID)).To(BeNil())
		Expect(admin.GetRouter(ctx, bundle.RouterID)).To(BeNil())
	})
})
