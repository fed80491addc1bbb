package envtest

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

const tenantHeader = `
apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: t}
spec:
  cloudCredentialsRef: {secretName: openstack-admin, cloudName: dev}
`

var _ = Describe("Tenant validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	DescribeTable("rejects a bad Tenant with a clear message",
		func(specTail, message string) {
			err := k8s.Create(ctx, manifest(ns, tenantHeader+specTail))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("no credentials", `  cloudCredentialsRef: null`, `exactly one of cloudRef and cloudCredentialsRef must be set`),
		Entry("both a Cloud and credentials", `  cloudRef: {name: whitehall}`, `exactly one of cloudRef and cloudCredentialsRef must be set`),
		Entry("a Cloud with no name", `  cloudCredentialsRef: null
  cloudRef: {name: ""}`, `spec.cloudRef.name: Invalid value`),
		Entry("a credential that expires in less than an hour", `
  applicationCredential: {secretName: openstack, expiresAfter: 30m, rotateBefore: 10m}`, `expiresAfter must be between 1h and 8760h`),
		Entry("a credential that lives more than a year", `
  applicationCredential: {secretName: openstack, expiresAfter: 8761h}`, `expiresAfter must be between 1h and 8760h`),
		Entry("a credential lifetime that overflows", `
  applicationCredential: {secretName: openstack, expiresAfter: 9999999999h}`, `spec.applicationCredential.expiresAfter: Invalid value: "string": type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: expiresAfter must be between 1h and 8760h`),
		Entry("a rotation less than a minute before expiry", `
  applicationCredential: {secretName: openstack, rotateBefore: 30s}`, `rotateBefore must be between 1m and 8760h`),
		Entry("a grace period over a week", `
  applicationCredential: {secretName: openstack, gracePeriod: 169h}`, `gracePeriod must be between 0s and 168h`),
		Entry("a rotation as long as the lifetime", `
  applicationCredential: {secretName: openstack, expiresAfter: 2h, rotateBefore: 2h}`, `rotateBefore must be shorter than expiresAfter`),
		Entry("a rotation longer than the default lifetime", `
  applicationCredential: {secretName: openstack, rotateBefore: 2161h}`, `rotateBefore must be shorter than expiresAfter`),
		Entry("a credential duration that is not one", `
  applicationCredential: {secretName: openstack, gracePeriod: 1 day}`, `spec.applicationCredential.gracePeriod: Invalid value: "1 day"`),
		Entry("a credential Secret name that is not a name", `
  applicationCredential: {secretName: Open_Stack}`, `spec.applicationCredential.secretName: Invalid value: "Open_Stack"`),
		Entry("a credential without roles", `
  applicationCredential: {secretName: openstack, roles: []}`, `spec.applicationCredential.roles: Invalid value`),
		Entry("empty secret name", `  cloudCredentialsRef: {secretName: "", cloudName: dev}`, `spec.cloudCredentialsRef.secretName`),
		Entry("both group and user", `
  roleAssignments: [{group: devops, user: alice, roles: [member]}]`, `exactly one of group or user must be set`),
		Entry("neither group nor user", `
  roleAssignments: [{roles: [member]}]`, `exactly one of group or user must be set`),
		Entry("no roles", `
  roleAssignments: [{group: devops, roles: []}]`, `spec.roleAssignments[0].roles: Invalid value`),
		Entry("userDomain with a group", `
  roleAssignments: [{group: devops, userDomain: default, roles: [member]}]`, `userDomain can only be set with user`),
		Entry("groupDomain with a user", `
  roleAssignments: [{user: alice, groupDomain: default, roles: [member]}]`, `groupDomain can only be set with group`),
		Entry("the same group twice", `
  roleAssignments: [{group: devops, roles: [member]}, {group: devops, roles: [reader]}]`, `each group or user may appear only once`),
		Entry("a tag with a slash", `
  project: {tags: [a/b]}`, `spec.project.tags[0]: Invalid value`),
		Entry("a project name with a comma", `
  project: {name: "a,b"}`, `spec.project.name: Invalid value`),
		Entry("a project name too long", `
  project: {name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}`, `spec.project.name: Too long`),
		Entry("import with both id and name", `
  import: {id: abc, name: def}`, `exactly one of import.id or import.name must be set`),
		Entry("import with neither", `
  import: {}`, `exactly one of import.id or import.name must be set`),
		Entry("import together with a project name", `
  project: {name: x}
  import: {id: abc}`, `project.name cannot be combined with import`),
		Entry("an unknown deletion policy", `
  deletionPolicy: Orphan`, `spec.deletionPolicy: Unsupported value: "Orphan"`),
		Entry("a CIDR that is not one", `
  network: {cidr: 10.20.0.0}`, `cidr must be an IPv4 or IPv6 CIDR`),
		Entry("a DNS server that is not an IP", `
  network: {cidr: 10.20.0.0/24, dnsNameservers: [dns.example]}`, `each DNS nameserver must be an IP address`),
		Entry("too many DNS servers", `
  network: {cidr: 10.20.0.0/24, dnsNameservers: [1.1.1.1, 1.1.1.2, 1.1.1.3, 1.1.1.4, 1.1.1.5, 1.1.1.6]}`, `spec.network.dnsNameservers: Too many: 6: must have at most 5 items`),
		Entry("enabled as a string", `
  project: {enabled: "yes"}`, `spec.project.enabled: Invalid value`),
	)

	Describe("immutability", func() {
		var tenant *unstructured.Unstructured
		create := func(specTail string) {
			tenant = manifest(ns, tenantHeader+specTail)
			Expect(k8s.Create(ctx, tenant)).To(Succeed())
		}
		// The controller adds its finalizer meanwhile: each try starts from the latest object.
		update := func(change func(*unstructured.Unstructured)) error {
			var err error
			Eventually(func() bool {
				Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), tenant)).To(Succeed())
				change(tenant)
				err = k8s.Update(ctx, tenant)
				return apierrors.IsConflict(err)
			}).Should(BeFalse())
			return err
		}
		expectUpdateRejected := func(path []string, value any, message string) {
			err := update(func(u *unstructured.Unstructured) {
				Expect(unstructured.SetNestedField(u.Object, value, path...)).To(Succeed())
			})
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(message))
		}

		It("refuses to rename the project", func() {
			create(`  project: {name: first}`)
			expectUpdateRejected([]string{"spec", "project", "name"}, "second", "project.name is immutable")
		})
		It("refuses to set a name once the default is in use", func() {
			create(``)
			expectUpdateRejected([]string{"spec", "project", "name"}, "other", "project.name is immutable")
		})
		It("refuses to move the project to another domain", func() {
			create(``)
			expectUpdateRejected([]string{"spec", "project", "domain"}, "other", "project.domain is immutable")
		})
		It("refuses to change what is imported", func() {
			create(`  import: {id: abc}`)
			expectUpdateRejected([]string{"spec", "import", "id"}, "def", "import is immutable")
		})
		It("refuses to change the network's CIDR", func() {
			create(`  network: {cidr: 10.20.0.0/24}`)
			expectUpdateRejected([]string{"spec", "network", "cidr"}, "10.30.0.0/24", "network.cidr is immutable")
		})
		It("refuses to remove the network", func() {
			create(`  network: {cidr: 10.20.0.0/24}`)
			err := update(func(u *unstructured.Unstructured) { unstructured.RemoveNestedField(u.Object, "spec", "network") })
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring("network cannot be removed once set"))
		})
		It("refuses to move the project to another Cloud", func() {
			create("  cloudCredentialsRef: null\n  cloudRef: {name: first}")
			expectUpdateRejected([]string{"spec", "cloudRef", "name"}, "second", "cloudRef is immutable: a project cannot move to another cloud")
		})
		It("refuses to swap a department's own credentials for a Cloud", func() {
			create(``)
			err := update(func(u *unstructured.Unstructured) {
				unstructured.RemoveNestedField(u.Object, "spec", "cloudCredentialsRef")
				Expect(unstructured.SetNestedField(u.Object, "whitehall", "spec", "cloudRef", "name")).To(Succeed())
			})
			Expect(err).To(MatchError(ContainSubstring("cloudRef is immutable: a project cannot move to another cloud")))
		})
		It("accepts a new credential lifetime", func() {
			create("  applicationCredential: {secretName: openstack}")
			Expect(update(func(u *unstructured.Unstructured) {
				Expect(unstructured.SetNestedField(u.Object, "48h", "spec", "applicationCredential", "expiresAfter")).To(Succeed())
				Expect(unstructured.SetNestedField(u.Object, "24h", "spec", "applicationCredential", "rotateBefore")).To(Succeed())
			})).To(Succeed())
		})
		It("refuses to add an import later", func() {
			create(``)
			expectUpdateRejected([]string{"spec", "import"}, map[string]any{"id": "abc"}, "import cannot be added or removed after creation")
		})
		It("accepts changes to description, tags, enabled and roles", func() {
			create(`  project: {description: one, tags: [a]}`)
			Expect(update(func(u *unstructured.Unstructured) {
				Expect(unstructured.SetNestedField(u.Object, "two", "spec", "project", "description")).To(Succeed())
				Expect(unstructured.SetNestedField(u.Object, false, "spec", "project", "enabled")).To(Succeed())
				Expect(unstructured.SetNestedSlice(u.Object, []any{"a", "b"}, "spec", "project", "tags")).To(Succeed())
			})).To(Succeed())
		})
	})

	It("fills in defaults", func() {
		t := manifest(ns, tenantHeader)
		Expect(k8s.Create(ctx, t)).To(Succeed())
		Expect(t.Object).To(HaveKeyWithValue("spec", And(
			// Not defaulted by the CRD: Delete for a created project, Retain for an import.
			Not(HaveKey("deletionPolicy")),
			HaveKeyWithValue("project", And(HaveKeyWithValue("domain", "default"), HaveKeyWithValue("enabled", true))),
		)))
	})

	It("fills in the application credential's defaults", func() {
		t := manifest(ns, tenantHeader+"  applicationCredential: {secretName: openstack}\n")
		Expect(k8s.Create(ctx, t)).To(Succeed())
		ac, found, err := unstructured.NestedMap(t.Object, "spec", "applicationCredential")
		Expect(err).NotTo(HaveOccurred())
		Expect(found).To(BeTrue())
		Expect(ac).To(Equal(map[string]any{
			"secretName": "openstack", "roles": []any{"member"},
			"expiresAfter": "2160h", "rotateBefore": "720h", "gracePeriod": "1h",
		}))
	})

	It("accepts the longest and shortest credential durations", func() {
		Expect(k8s.Create(ctx, manifest(ns, tenantHeader+
			"  applicationCredential: {secretName: openstack, expiresAfter: 8760h, rotateBefore: 8592h, gracePeriod: 168h}\n"))).To(Succeed())
		short := manifest(ns, tenantHeader+"  applicationCredential: {secretName: openstack, expiresAfter: 1h, rotateBefore: 1m, gracePeriod: 0s}\n")
		short.SetName("short")
		Expect(k8s.Create(ctx, short)).To(Succeed())
	})
})
