package e2e

import (
	"context"
	"errors"
	"strings"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/config"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/external"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/rbacpolicies"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// One department's networks, named like the external network another department's
// Tenant names, never take that Tenant's router nor its credential; its private image,
// named like one an images rule lists, never passes the rule. The specs use an
// external network of their own (names.external), made by the admin like the dev
// cloud's "public": networks named "public" would upset the other suites' Tenants
// while they run.
var _ = Describe("Name resolution across departments", Ordered, func() {
	const (
		nsA, nsB = "e2e-names-a", "e2e-names-b"
		external = "e2e-names-public"
		// externalMark tells the admin's external network from the departments' networks
		// of the same name.
		externalMark = "e2e-names external network"
	)
	var (
		externalID string
		// deptA and deptAImages are the network and image services as department A's own
		// credential reaches them.
		deptA, deptAImages *gophercloud.ServiceClient
	)

	BeforeAll(func() {
		Expect(namesDeleteImages(ctx, "e2e-names-image")).To(Succeed(), "leftovers of an earlier run")
		Expect(deleteLeftoverProjects(ctx, nsA+"_dept", nsB+"_b", nsB+"_c")).To(Succeed())
		Expect(namesDeleteNetworks(ctx, external, func(n namesNetwork) bool { return n.Description != externalMark })).To(Succeed(), "leftovers of an earlier run")
		var err error
		externalID, err = namesExternalNetwork(ctx, external, externalMark)
		Expect(err).NotTo(HaveOccurred())
		departmentNamespace(nsB)
		// Governed by the images rule of the last spec, nothing else.
		apply(`apiVersion: v1
kind: Namespace
metadata:
  name: ` + nsA + `
  labels: {whitehall.cloud/department: "true", whitehall.cloud/e2e-names: "true"}
`)

		By("department A gets its credential")
		apply(tenantYAML(nsA, "dept", "applicationCredential: {secretName: openstack, roles: [member]}"))
		kubectl("-n", nsA, "wait", "--for=condition=Ready", "tenant/dept", "--timeout=120s")
		s := &corev1.Secret{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "openstack"}, s)).To(Succeed())
		cred := isoReadAppCred(Default, s.Data["clouds.yaml"])
		provider, err := config.NewProviderClient(ctx, gophercloud.AuthOptions{
			IdentityEndpoint: cred.AuthURL, ApplicationCredentialID: cred.ID, ApplicationCredentialSecret: cred.Secret,
		})
		Expect(err).NotTo(HaveOccurred())
		deptA, err = openstack.NewNetworkV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
		Expect(err).NotTo(HaveOccurred())
		deptAImages, err = openstack.NewImageV2(provider, gophercloud.EndpointOpts{Region: "RegionOne"})
		Expect(err).NotTo(HaveOccurred())
	})

	AfterAll(func() {
		// The departments' networks and images first: a Tenant's deletion waits for them.
		Expect(namesDeleteNetworks(ctx, external, func(n namesNetwork) bool { return n.Description != externalMark })).To(Succeed())
		Expect(namesDeleteImages(ctx, "e2e-names-image")).To(Succeed())
		for _, ns := range []string{nsA, nsB} {
			_, _ = tryKubectl("delete", "namespace", ns, "--ignore-not-found", "--timeout=300s")
		}
		Expect(namesDeleteNetworks(ctx, external, func(n namesNetwork) bool { return true })).To(Succeed())
	})

	tenantReady := func(ns, name string) func(Gomega) *whv1.Tenant {
		return func(g Gomega) *whv1.Tenant {
			t := &whv1.Tenant{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
			return t
		}
	}
	credentialWritten := func(ns, name string) func(Gomega) string {
		return func(g Gomega) string {
			t := tenantReady(ns, name)(g)
			g.Expect(t.Status.ApplicationCredential).NotTo(BeNil())
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: "openstack"}, s)).To(Succeed())
			g.Expect(isoReadAppCred(g, s.Data["clouds.yaml"]).ID).To(Equal(t.Status.ApplicationCredential.ID))
			return t.Status.ApplicationCredential.ID
		}
	}
	gateway := func(ns, name string) func(Gomega) string {
		return func(g Gomega) string {
			t := tenantReady(ns, name)(g)
			g.Expect(t.Status.Network).NotTo(BeNil())
			g.Expect(t.Status.Network.RouterID).NotTo(BeEmpty())
			r, err := admin.GetRouter(ctx, t.Status.Network.RouterID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(r).NotTo(BeNil())
			return r.GatewayNetworkID
		}
	}

	It("gives another department's router the real external network, whatever networks a department names like it", func() {
		By("department A, with its own credential, makes networks named like the external network until one's ID sorts first")
		for i := 0; i < 12; i++ {
			n, err := networks.Create(ctx, deptA, networks.CreateOpts{Name: external}).Extract()
			Expect(err).NotTo(HaveOccurred())
			if n.ID < externalID {
				break
			}
		}
		decoys, err := namesNetworks(ctx, external)
		Expect(err).NotTo(HaveOccurred())
		sortsFirst := false
		for _, d := range decoys {
			sortsFirst = sortsFirst || (d.ID < externalID && !d.External)
		}
		Expect(sortsFirst).To(BeTrue(), "a decoy sorts before the external network: %v", decoys)

		apply(tenantYAML(nsB, "b", "network: {cidr: 10.61.0.0/24, externalNetwork: "+external+"}\n  applicationCredential: {secretName: openstack, roles: [member]}"))
		kubectl("-n", nsB, "wait", "--for=condition=Ready", "tenant/b", "--timeout=120s")
		Expect(gateway(nsB, "b")(Default)).To(Equal(externalID), "the router's gateway is on the admin's external network")
		Eventually(credentialWritten(nsB, "b")).Should(Not(BeEmpty()))
	})

	It("refuses a name two usable external networks share with a clear condition, and still rotates the credential", func() {
		apply(tenantYAML(nsB, "c", "network: {cidr: 10.62.0.0/24}\n  applicationCredential: {secretName: openstack-c, roles: [member]}"))
		kubectl("-n", nsB, "wait", "--for=condition=Ready", "tenant/c", "--timeout=120s")
		c := tenantReady(nsB, "c")(Default)

		By("department A makes a network of the name external, offered to C's project alone")
		n, err := networks.Create(ctx, deptA, networks.CreateOpts{Name: external}).Extract()
		Expect(err).NotTo(HaveOccurred())
		_, err = rbacpolicies.Create(ctx, deptA, rbacpolicies.CreateOpts{
			Action: rbacpolicies.ActionAccessExternal, ObjectType: "network", ObjectID: n.ID, TargetTenant: c.Status.ProjectID,
		}).Extract()
		if gophercloud.ResponseCodeIs(err, 403) {
			// This cloud's policy forbids it: an admin's second external network of the name
			// shows the same.
			By("Neutron refused department A's access_as_external policy (403): the admin makes the duplicate")
			_, err = namesCreateExternal(ctx, external, "e2e-names duplicate", "198.51.101.0/24")
		} else {
			By("Neutron made department A's network external for C's project")
		}
		Expect(err).NotTo(HaveOccurred())

		apply(tenantYAML(nsB, "c", "network: {cidr: 10.62.0.0/24, externalNetwork: "+external+"}\n  applicationCredential: {secretName: openstack-c, roles: [member]}"))
		Eventually(isoReady(nsB, "c")).Should(isoRefused(whv1.ReasonNameNotUsable,
			"2 external networks that project "+c.Status.ProjectID+" may use have this name"))
		Expect(tenantReady(nsB, "c")(Default).Status.Network.RouterID).To(BeEmpty(), "no router was made")

		By("rotating C's credential while its network fails")
		before := c.Status.ApplicationCredential.ID
		kubectl("-n", nsB, "annotate", "--overwrite", "tenant/c", whv1.RotateAnnotation+"=names-1")
		Eventually(func(g Gomega) {
			t := tenantReady(nsB, "c")(g)
			g.Expect(t.Status.ApplicationCredential.Rotation).To(Equal("names-1"))
			s := &corev1.Secret{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nsB, Name: "openstack-c"}, s)).To(Succeed())
			g.Expect(isoReadAppCred(g, s.Data["clouds.yaml"]).ID).To(And(Equal(t.Status.ApplicationCredential.ID), Not(Equal(before))))
		}).Should(Succeed())
		Expect(isoReady(nsB, "c")(Default)).To(isoRefused(whv1.ReasonNameNotUsable, "2 external networks"), "the network's failure is still shown")

		By("the duplicate gone, C's router goes on the real external network")
		Expect(namesDeleteNetworks(ctx, external, func(n namesNetwork) bool { return n.Description != externalMark })).To(Succeed())
		kubectl("-n", nsB, "wait", "--for=condition=Ready", "tenant/c", "--timeout=120s")
		Expect(gateway(nsB, "c")(Default)).To(Equal(externalID))
	})

	It("does not let a department's private image pass an images rule by its name", func() {
		const image = "e2e-names-image"
		apply(`apiVersion: whitehall.cloud/v1alpha1
kind: DepartmentPolicy
metadata: {name: e2e-names}
spec:
  namespaceSelector: {matchLabels: {whitehall.cloud/e2e-names: "true"}}
  environments: {images: [` + image + `]}
`)
		DeferCleanup(func() { _, _ = tryKubectl("delete", "departmentpolicy", "e2e-names", "--ignore-not-found") })
		img, err := images.Create(ctx, deptAImages, images.CreateOpts{
			Name: image, Visibility: ptr.To(images.ImageVisibilityPrivate), ContainerFormat: "bare", DiskFormat: "raw",
		}).Extract()
		Expect(err).NotTo(HaveOccurred(), "department A makes a private image named like the listed one")

		apply(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: private-image, namespace: ` + nsA + `}
spec:
  tenantRef: {name: dept}
  replicas: 1
  template: {flavor: m1.tiny, image: ` + image + `}
`)
		Eventually(func(g Gomega) metav1.Condition {
			env := &whv1.TestEnvironment{}
			g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: nsA, Name: "private-image"}, env)).To(Succeed())
			c := meta.FindStatusCondition(env.Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			return *c
		}).Should(isoRefused(whv1.ReasonNameNotUsable, "no public image has this name"))
		servers, err := admin.ProjectServers(ctx, tenantReady(nsA, "dept")(Default).Status.ProjectID)
		Expect(err).NotTo(HaveOccurred())
		Expect(servers).To(BeEmpty(), "nothing was booted from the department's image")
		kubectl("-n", nsA, "delete", "testenvironment", "private-image", "--timeout=120s")
		// Here, not deferred: the department's image would hold its Tenant's deletion.
		Expect(images.Delete(ctx, deptAImages, img.ID).ExtractErr()).To(Succeed())
	})
})

// namesNetwork is what the names specs read of a network.
type namesNetwork struct {
	networks.Network
	external.NetworkExternalExt
}

// namesNetworks lists every project's networks of a name.
func namesNetworks(ctx context.Context, name string) ([]namesNetwork, error) {
	pages, err := networks.List(admin.Network, networks.ListOpts{Name: name}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	var list []namesNetwork
	return list, networks.ExtractNetworksInto(pages, &list)
}

// namesDeleteNetworks deletes the networks of a name that match.
func namesDeleteNetworks(ctx context.Context, name string, match func(namesNetwork) bool) error {
	list, err := namesNetworks(ctx, name)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range list {
		if match(n) {
			if err := networks.Delete(ctx, admin.Network, n.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// namesDeleteImages deletes every project's images of a name, as the admin.
func namesDeleteImages(ctx context.Context, name string) error {
	sc, err := openstack.NewImageV2(admin.Network.ProviderClient, gophercloud.EndpointOpts{Region: "RegionOne"})
	if err != nil {
		return err
	}
	pages, err := images.List(sc, images.ListOpts{Name: name, Visibility: images.ImageVisibility("all")}).AllPages(ctx)
	if err != nil {
		return err
	}
	list, err := images.ExtractImages(pages)
	if err != nil {
		return err
	}
	var errs []error
	for _, img := range list {
		if err := images.Delete(ctx, sc, img.ID).ExtractErr(); err != nil && !gophercloud.ResponseCodeIs(err, 404) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// namesExternalNetwork returns the admin's external network of the name marked mark,
// made (with a subnet for gateways) when missing.
func namesExternalNetwork(ctx context.Context, name, mark string) (string, error) {
	list, err := namesNetworks(ctx, name)
	if err != nil {
		return "", err
	}
	for _, n := range list {
		if n.Description == mark && n.External {
			return n.ID, nil
		}
	}
	return namesCreateExternal(ctx, name, mark, "198.51.100.0/24")
}

// namesCreateExternal makes an external network as an admin does: offered to every
// project (Neutron adds the access_as_external policy for "*").
func namesCreateExternal(ctx context.Context, name, mark, cidr string) (string, error) {
	yes := true
	var n namesNetwork
	err := networks.Create(ctx, admin.Network, external.CreateOptsExt{
		CreateOptsBuilder: networks.CreateOpts{Name: name, Description: mark}, External: &yes,
	}).ExtractInto(&n)
	if err != nil {
		return "", err
	}
	_, err = subnets.Create(ctx, admin.Network, subnets.CreateOpts{
		NetworkID: n.ID, Name: strings.TrimSuffix(name, "-public") + "-subnet", CIDR: cidr, IPVersion: gophercloud.IPv4,
	}).Extract()
	return n.ID, err
}
