package envtest

import (
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ = Describe("TestEnvironment validation", func() {
	var ns string
	BeforeEach(func() { ns = newNamespace() })

	const header = `
apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: e}
spec:
  tenantRef: {name: t}
`
	DescribeTable("rejects a bad TestEnvironment with a clear message",
		func(spec, message string) {
			// Strict field validation, as kubectl applies by default.
			err := k8s.Create(ctx, manifest(ns, header+spec), client.FieldValidation("Strict"))
			Expect(err).To(HaveOccurred())
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("no template", `  replicas: 1`, `spec.template: Required value`),
		Entry("no flavor", `  template: {image: cirros}`, `spec.template.flavor: Required value`),
		Entry("negative replicas", `  replicas: -1
  template: {flavor: m1.tiny, image: cirros}`, `spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0`),
		Entry("too many replicas", `  replicas: 501
  template: {flavor: m1.tiny, image: cirros}`, `spec.replicas: Invalid value: 501: spec.replicas in body should be less than or equal to 500`),
		Entry("a ttl that is not a duration", `  ttl: 3 days
  template: {flavor: m1.tiny, image: cirros}`, `spec.ttl: Invalid value: "3 days"`),
		Entry("two user-data sources", `  template: {flavor: m1.tiny, image: cirros, userData: "#!/bin/sh", userDataSecretRef: {name: s, key: k}}`,
			`set at most one of userData and userDataSecretRef`),
		Entry("a network by name and id", `  template: {flavor: m1.tiny, image: cirros, networks: [{name: a, id: b}]}`, `exactly one of name or id must be set`),
		Entry("a reserved metadata key", `  template: {flavor: m1.tiny, image: cirros, metadata: {whitehall_environment_uid: x}}`, `metadata keys starting with whitehall_ are reserved`),
		Entry("an unknown server group policy", `  serverGroupPolicy: spread
  template: {flavor: m1.tiny, image: cirros}`, `spec.serverGroupPolicy: Unsupported value: "spread"`),
		Entry("a peak without replicas", `  peaks: [{season: sa}]
  template: {flavor: m1.tiny, image: cirros}`, `spec.peaks[0].replicas: Required value`),
		Entry("a ttl that overflows a duration", `  ttl: 9999999999h
  template: {flavor: m1.tiny, image: cirros}`, `spec.ttl: Invalid value: "string": type conversion error from 'string' to 'google.protobuf.Duration' evaluating rule: ttl must be more than 0s and at most 8760h (a year)`),
		Entry("a ttl of zero", `  ttl: 0s
  template: {flavor: m1.tiny, image: cirros}`, `ttl must be more than 0s and at most 8760h (a year)`),
		Entry("a ttl over a year", `  ttl: 8761h
  template: {flavor: m1.tiny, image: cirros}`, `ttl must be more than 0s and at most 8760h (a year)`),
		Entry("user data from a clouds.yaml key", `  template: {flavor: m1.tiny, image: cirros, userDataSecretRef: {name: openstack-admin, key: clouds.yaml}}`,
			`userDataSecretRef cannot name a clouds.yaml key: credentials never become user data`),
		Entry("a tenantRef with a namespace", `  tenantRef: {name: t, namespace: other}
  template: {flavor: m1.tiny, image: cirros}`, `unknown field "spec.tenantRef.namespace"`),
	)

	It("accepts an update that leaves the ttl alone, however the controller spelled it", func() {
		doc := header + "  ttl: 72h\n  template: {flavor: m1.tiny, image: cirros}"
		env := manifest(ns, doc)
		Expect(k8s.Create(ctx, env)).To(Succeed())
		// The controller writes the object back (its finalizer): the stored ttl may now read
		// 72h0m0s. The user's manifest, applied again with a label, says 72h.
		Eventually(func(g Gomega) []string {
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			return env.GetFinalizers()
		}).Should(ContainElement(whv1.TestEnvironmentFinalizer))
		Eventually(func() error {
			again := manifest(ns, doc)
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			again.SetResourceVersion(env.GetResourceVersion())
			again.SetFinalizers(env.GetFinalizers())
			again.SetLabels(map[string]string{"team": "load"})
			return k8s.Update(ctx, again)
		}).Should(Succeed())
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			Expect(unstructuredSet(env, "4320m", "spec", "ttl")).To(Succeed())
			return k8s.Update(ctx, env)
		}).Should(Succeed(), "4320m is 72h: the same ttl")
	})

	It("refuses a name over 240 characters, and takes one of 240", func() {
		named := func(name string) *unstructured.Unstructured {
			return manifest(ns, strings.Replace(header, "name: e", "name: "+name, 1)+"  template: {flavor: m1.tiny, image: cirros}")
		}
		long := strings.Repeat("a", 241)
		Expect(k8s.Create(ctx, named(long))).To(MatchError(ContainSubstring("a TestEnvironment name is at most 240 characters")))
		Expect(k8s.Create(ctx, named(long[:240]))).To(Succeed())
	})

	It("refuses to change the tenantRef", func() {
		env := manifest(ns, header+"  template: {flavor: m1.tiny, image: cirros}")
		Expect(k8s.Create(ctx, env)).To(Succeed())
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			Expect(unstructuredSet(env, "other", "spec", "tenantRef", "name")).To(Succeed())
			return k8s.Update(ctx, env)
		}).Should(MatchError(ContainSubstring("tenantRef is immutable: the servers stay in the project they were booted in")))
	})

	DescribeTable("refuses to add, change or remove the serverGroupPolicy",
		func(before, after string) {
			doc := header + "  template: {flavor: m1.tiny, image: cirros}\n"
			env := manifest(ns, doc+before)
			Expect(k8s.Create(ctx, env)).To(Succeed())
			Eventually(func() error {
				Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
				spec := env.Object["spec"].(map[string]any)
				if after == "" {
					delete(spec, "serverGroupPolicy")
				} else {
					spec["serverGroupPolicy"] = after
				}
				return k8s.Update(ctx, env)
			}).Should(MatchError(ContainSubstring("serverGroupPolicy is immutable")))
		},
		Entry("added", "", "anti-affinity"),
		Entry("changed", "  serverGroupPolicy: affinity", "anti-affinity"),
		Entry("removed", "  serverGroupPolicy: affinity", ""),
	)

	It("refuses to lengthen the ttl", func() {
		env := manifest(ns, header+"  ttl: 1h\n  template: {flavor: m1.tiny, image: cirros}")
		Expect(k8s.Create(ctx, env)).To(Succeed())
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)).To(Succeed())
			Expect(unstructuredSet(env, "2h", "spec", "ttl")).To(Succeed())
			return k8s.Update(ctx, env)
		}).Should(MatchError(ContainSubstring("ttl can be shortened but never removed or lengthened once set")))
	})
})

var _ = Describe("TestEnvironment controller", func() {
	var (
		ns        string
		tenant    *whv1.Tenant
		projectID string
	)
	BeforeEach(func() {
		ns = newDepartment() // uses the shared Cloud: no admin Secret in the namespace
		tenant = &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"},
			Spec: whv1.TenantSpec{
				CloudRef: &whv1.CloudReference{Name: sharedCloud},
				Network:  &whv1.TenantNetwork{CIDR: "10.20.0.0/24"},
			},
		}
		Expect(k8s.Create(ctx, tenant)).To(Succeed())
		Eventually(func() *whv1.TenantNetworkStatus {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), tenant)).To(Succeed())
			return tenant.Status.Network
		}).ShouldNot(BeNil())
		projectID = tenant.Status.ProjectID
	})

	newEnv := func(name string, replicas int32, mutate ...func(*whv1.TestEnvironment)) *whv1.TestEnvironment {
		env := &whv1.TestEnvironment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
			Spec: whv1.TestEnvironmentSpec{
				TenantRef: whv1.LocalObjectReference{Name: "dept"},
				Replicas:  ptr.To(replicas),
				Template:  whv1.ServerTemplate{Flavor: "m1.tiny", Image: "cirros", Metadata: map[string]string{"purpose": "load-test"}},
			},
		}
		for _, m := range mutate {
			m(env)
		}
		Expect(k8s.Create(ctx, env)).To(Succeed())
		DeferCleanup(func() {
			_ = k8s.Delete(ctx, env)
			Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(env), env)) }).Should(BeTrue())
		})
		return env
	}
	getEnv := func(env *whv1.TestEnvironment) *whv1.TestEnvironment {
		out := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), out)).To(Succeed())
		return out
	}
	servers := func(env *whv1.TestEnvironment) func() map[string]string {
		return func() map[string]string { return cloud.Servers("^" + env.Name + "-[0-9]+$") }
	}
	activeServers := func(names ...string) map[string]string {
		out := map[string]string{}
		for _, n := range names {
			out[n] = "ACTIVE"
		}
		return out
	}
	readyEnv := func(env *whv1.TestEnvironment) func(Gomega) *whv1.TestEnvironment {
		return func(g Gomega) *whv1.TestEnvironment {
			got := &whv1.TestEnvironment{}
			g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(env), got)).To(Succeed())
			g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "conditions: %v", got.Status.Conditions)
			return got
		}
	}

	It("boots the servers on the Tenant's network, named by index and marked with the environment's UID", func() {
		env := newEnv("burst", 5)
		Eventually(servers(env)).Should(Equal(activeServers("burst-0", "burst-1", "burst-2", "burst-3", "burst-4")))
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		st := getEnv(env).Status
		Expect(st.Replicas).To(Equal(int32(5)))
		Expect(st.ReadyReplicas).To(Equal(int32(5)))
		Expect(st.DesiredReplicas).To(Equal(int32(5)))
		Expect(st.Selector).To(Equal("whitehall.cloud/testenvironment=burst"))
		Expect(st.Servers).To(HaveLen(5))
		Expect(st.Servers[4]).To(And(HaveField("Name", "burst-4"), HaveField("Status", "ACTIVE"), HaveField("Addresses", HaveLen(1))))
		last := cloud.LastCreate()
		Expect(last.NetworkIDs).To(Equal([]string{tenant.Status.Network.NetworkID}))
		// Booted as the project's service user, made when the first environment came: the
		// operator's admin holds no role there.
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), tenant)).To(Succeed())
		Expect(tenant.Status.ServiceUserID).NotTo(BeEmpty())
		Expect(cloud.Assignments(projectID)).To(ConsistOf(openstack.Assignment{UserID: tenant.Status.ServiceUserID, RoleID: "role-member"}))
		Expect(last.Metadata).To(And(HaveKeyWithValue("whitehall_environment_uid", string(getEnv(env).UID)), HaveKeyWithValue("purpose", "load-test")))
		Expect(last.FlavorID).To(Equal("flavor-tiny"))
	})

	It("scales down through the scale subresource, removing the highest indexes first", func() {
		env := newEnv("scaled", 4)
		Eventually(servers(env)).Should(HaveLen(4))
		scale := &autoscalingv1.Scale{}
		Expect(k8s.SubResource("scale").Get(ctx, env, scale)).To(Succeed())
		Expect(scale.Status.Selector).To(Equal("whitehall.cloud/testenvironment=scaled"))
		scale.Spec.Replicas = 2
		Expect(k8s.SubResource("scale").Update(ctx, env, client.WithSubResourceBody(scale))).To(Succeed())
		Eventually(servers(env)).Should(Equal(activeServers("scaled-0", "scaled-1")))
		Eventually(func() int32 { return getEnv(env).Status.Replicas }).Should(Equal(int32(2)))
	})

	It("replaces a server in ERROR and never boots a duplicate of one that exists", func() {
		env := newEnv("heal", 3)
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		creates := cloud.Calls("CreateServer")
		// Many reconciles later nothing more is booted.
		Consistently(func() int { return cloud.Calls("CreateServer") }).WithTimeout(3 * time.Second).Should(Equal(creates))

		cloud.SetServerStatus("heal-1", "ERROR")
		Eventually(func() int { return cloud.Calls("CreateServer") }).Should(Equal(creates + 1))
		Eventually(servers(env)).Should(Equal(activeServers("heal-0", "heal-1", "heal-2")))
	})

	It("ignores a server with its naming but another environment's UID", func() {
		// In the same project, where the environment looks.
		stranger, err := cloud.InProject(projectID).CreateServer(ctx, openstack.ServerCreate{Name: "mine-0", Metadata: map[string]string{"whitehall_environment_uid": "someone-else"}})
		Expect(err).NotTo(HaveOccurred())
		DeferCleanup(func() { _ = cloud.DeleteServer(ctx, stranger.ID) })
		env := newEnv("mine", 1)
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		all, err := cloud.ListServers(ctx, "^mine-0$")
		Expect(err).NotTo(HaveOccurred())
		Expect(all).To(HaveLen(2), "its own mine-0, and the stranger's, untouched")
		Expect(all).To(ContainElement(HaveField("ID", stranger.ID)))
		Expect(getEnv(env).Status.Servers).To(ConsistOf(HaveField("ID", Not(Equal(stranger.ID)))))
	})

	It("raises replicas while a season is active", func() {
		season := "te-" + ns
		ps := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: season}, Spec: whv1.PeakSeasonSpec{
			Windows: []whv1.SeasonWindow{{Yearly: &whv1.YearlyWindow{From: "01-01", To: "12-31"}}},
		}}
		Expect(k8s.Create(ctx, ps)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, ps) })
		env := newEnv("seasonal", 1, func(e *whv1.TestEnvironment) { e.Spec.Peaks = []whv1.ReplicaPeak{{Season: season, Replicas: 3}} })
		Eventually(servers(env)).Should(HaveLen(3))
		Eventually(func() []string { return getEnv(env).Status.ActiveSeasons }).Should(ConsistOf(season))
		Expect(getEnv(env).Status.DesiredReplicas).To(Equal(int32(3)))
	})

	It("shows QuotaExceeded with the cloud's numbers, and completes once the quota allows", func() {
		cloud.SetInstanceLimit(len(cloud.Servers(".*")) + 2)
		DeferCleanup(func() { cloud.SetInstanceLimit(-1) })
		env := newEnv("squeezed", 4)
		Eventually(func(g Gomega) string {
			c := meta.FindStatusCondition(getEnv(env).Status.Conditions, whv1.ConditionQuotaExceeded)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			return c.Message
		}).Should(ContainSubstring("Quota exceeded for instances"))
		Expect(servers(env)()).To(HaveLen(2))
		Expect(meta.FindStatusCondition(getEnv(env).Status.Conditions, whv1.ConditionReady).Reason).To(Equal(whv1.ReasonQuotaRefused))

		cloud.SetInstanceLimit(-1)
		Eventually(servers(env)).Should(HaveLen(4))
		Eventually(func() metav1.ConditionStatus {
			return meta.FindStatusCondition(getEnv(env).Status.Conditions, whv1.ConditionQuotaExceeded).Status
		}).Should(Equal(metav1.ConditionFalse))
	})

	It("deletes itself with every server when its TTL passes, warning before", func() {
		env := newEnv("brief", 2, func(e *whv1.TestEnvironment) { e.Spec.TTL = &metav1.Duration{Duration: 6 * time.Second} })
		Eventually(servers(env)).Should(HaveLen(2))
		Expect(getEnv(env).Status.ExpiresAt).NotTo(BeNil())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(env), &whv1.TestEnvironment{}))
		}).
			WithTimeout(30 * time.Second).Should(BeTrue())
		Expect(servers(env)()).To(BeEmpty())
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElements("Expiring", whv1.ReasonExpired))
	})

	It("puts the servers in a server group and deletes it with the environment", func() {
		env := newEnv("grouped", 1, func(e *whv1.TestEnvironment) { e.Spec.ServerGroupPolicy = ptr.To("soft-anti-affinity") })
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		id := getEnv(env).Status.ServerGroupID
		Expect(cloud.ServerGroups()).To(HaveKeyWithValue(id, "whitehall-env-"+string(getEnv(env).UID)+"/soft-anti-affinity"))
		Expect(cloud.LastCreate().ServerGroupID).To(Equal(id))
		Expect(k8s.Delete(ctx, env)).To(Succeed())
		Eventually(func() map[string]string { return cloud.ServerGroups() }).ShouldNot(HaveKey(id))
	})

	It("reports a Tenant without a network when the template names none", func() {
		bare := &whv1.Tenant{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "bare"},
			Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: sharedCloud}},
		}
		Expect(k8s.Create(ctx, bare)).To(Succeed())
		env := newEnv("nonet", 1, func(e *whv1.TestEnvironment) { e.Spec.TenantRef.Name = "bare" })
		Eventually(func(g Gomega) string {
			c := meta.FindStatusCondition(getEnv(env).Status.Conditions, whv1.ConditionReady)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Reason).To(Equal(whv1.ReasonInvalidConfiguration))
			return c.Message
		}).Should(ContainSubstring(`give Tenant "bare" a spec.network`))
	})

	Describe("user data from a Secret", func() {
		userDataSecret := func(name string, labelled bool, data map[string][]byte) {
			s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Data: data}
			if labelled {
				s.Labels = map[string]string{whv1.UserDataLabel: "true"}
			}
			Expect(k8s.Create(ctx, s)).To(Succeed())
		}
		fromSecret := func(name string) func(*whv1.TestEnvironment) {
			return func(e *whv1.TestEnvironment) {
				e.Spec.Template.UserDataSecretRef = &whv1.SecretKeyReference{Name: name, Key: "user-data"}
			}
		}
		script := []byte("#!/bin/sh\necho hello\n")

		It("refuses a Secret not labelled for user data, until it is labelled", func() {
			userDataSecret("plain", false, map[string][]byte{"user-data": script})
			env := newEnv("unlabelled", 1, fromSecret("plain"))
			Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonUserDataNotAllowed,
				`Secret "plain" is not labelled whitehall.cloud/user-data: "true"`))
			Consistently(servers(env)).Should(BeEmpty())

			change(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}}, func(s *corev1.Secret) {
				s.Labels = map[string]string{whv1.UserDataLabel: "true"}
			})
			Eventually(servers(env)).Should(HaveLen(1))
			Expect(cloud.LastCreate()).To(And(HaveField("Name", "unlabelled-0"), HaveField("UserData", script)))
		})

		It("refuses a labelled Secret that holds a clouds.yaml", func() {
			userDataSecret("creds", true, map[string][]byte{"user-data": script, openstack.CloudsYAMLKey: []byte("clouds: {dev: {}}")})
			env := newEnv("leaky", 1, fromSecret("creds"))
			Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonUserDataNotAllowed,
				`Secret "creds" holds a clouds.yaml key: credentials never become user data`))
			Consistently(servers(env)).Should(BeEmpty())
		})

		It("boots the servers with the user data of a Secret labelled for it", func() {
			userDataSecret("boot", true, map[string][]byte{"user-data": script})
			env := newEnv("scripted", 1, fromSecret("boot"))
			Eventually(readyEnv(env)).Should(Not(BeNil()))
			Expect(cloud.LastCreate()).To(And(HaveField("Name", "scripted-0"), HaveField("UserData", script)))
		})
	})

	It("never touches the servers of another environment whose name starts like its own (web and web-1)", func() {
		web := newEnv("web", 2)
		web1 := newEnv("web-1", 2)
		Eventually(readyEnv(web)).Should(Not(BeNil()))
		Eventually(readyEnv(web1)).Should(Not(BeNil()))
		Expect(cloud.ServersIn(projectID)).To(Equal(activeServers("web-0", "web-1", "web-1-0", "web-1-1")))
		names := func(env *whv1.TestEnvironment) []string {
			var out []string
			for _, s := range getEnv(env).Status.Servers {
				out = append(out, s.Name)
			}
			return out
		}
		Expect(names(web)).To(ConsistOf("web-0", "web-1"))
		Expect(names(web1)).To(ConsistOf("web-1-0", "web-1-1"))

		change(web, func(e *whv1.TestEnvironment) { e.Spec.Replicas = ptr.To(int32(1)) })
		Eventually(func() map[string]string { return cloud.ServersIn(projectID) }).Should(Equal(activeServers("web-0", "web-1-0", "web-1-1")))
		Expect(k8s.Delete(ctx, web)).To(Succeed())
		Eventually(isGone(web)).Should(BeTrue())
		Expect(cloud.ServersIn(projectID)).To(Equal(activeServers("web-1-0", "web-1-1")))
		Expect(getEnv(web1).Status.ReadyReplicas).To(Equal(int32(2)))
	})

	It("uses its server group only if the policy matches, and changes nothing otherwise", func() {
		// The environment waits for a Tenant that comes later, so the group is there first.
		env := newEnv("clash", 1, func(e *whv1.TestEnvironment) {
			e.Spec.TenantRef.Name = "late"
			e.Spec.ServerGroupPolicy = ptr.To("anti-affinity")
		})
		group := "whitehall-env-" + string(getEnv(env).UID)
		theirs := cloud.AddServerGroup(group, "affinity")
		late := createTenant(ns, "late", func(t *whv1.Tenant) { t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.21.0.0/24"} })
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonServerGroupMismatch,
			fmt.Sprintf(`server group %s (%s) has policy "affinity", not "anti-affinity"`, group, theirs)))
		Expect(cloud.ServerGroups()).To(HaveKeyWithValue(theirs, group+"/affinity"))
		Expect(cloud.ServersIn(fetch(late).Status.ProjectID)).To(BeEmpty())
		Expect(getEnv(env).Status.ServerGroupID).To(BeEmpty())
	})

	// forceDelete makes the Tenant vanish without its own deletion running, as a person
	// removing its finalizer by hand does.
	forceDelete := func(t *whv1.Tenant) {
		Eventually(func() error {
			cur := &whv1.Tenant{}
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(t), cur); err != nil {
				return err
			}
			orig := cur.DeepCopy()
			cur.Finalizers = nil
			if err := k8s.Patch(ctx, cur, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{})); err != nil {
				return err
			}
			return k8s.Delete(ctx, cur, client.Preconditions{ResourceVersion: ptr.To(cur.ResourceVersion)})
		}).Should(Succeed())
		Eventually(isGone(t)).Should(BeTrue())
	}

	It("records its project and identity before booting, and deletes its servers there when the Tenant is gone", func() {
		env := newEnv("orphan", 2)
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		st := getEnv(env).Status
		Expect(st.ProjectID).To(Equal(projectID))
		Expect(st.Identity).To(HaveValue(And(
			HaveField("TenantUID", string(tenant.UID)),
			HaveField("ServiceUserID", fetch(tenant).Status.ServiceUserID),
			HaveField("CloudRef", Equal(&whv1.CloudReference{Name: sharedCloud})),
		)))
		forceDelete(tenant)
		Expect(k8s.Delete(ctx, env)).To(Succeed())
		Eventually(isGone(env)).Should(BeTrue())
		Expect(cloud.ServersIn(projectID)).To(BeEmpty())
	})

	It("deletes its servers from the recorded project when the Tenant is recreated with another, then boots in the new one", func() {
		env := newEnv("moved", 2)
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		forceDelete(tenant)
		again := createTenant(ns, "dept", func(t *whv1.Tenant) {
			t.Spec.Project = whv1.ProjectSpec{Name: ptr.To(ns + "-again")}
			t.Spec.Network = &whv1.TenantNetwork{CIDR: "10.22.0.0/24"}
		})
		Eventually(func() map[string]string { return cloud.ServersIn(projectID) }).Should(BeEmpty())
		Eventually(func() string { return fetch(again).Status.ProjectID }).ShouldNot(BeEmpty())
		newProject := fetch(again).Status.ProjectID
		Expect(newProject).NotTo(Equal(projectID))
		Eventually(func() map[string]string { return cloud.ServersIn(newProject) }).Should(Equal(activeServers("moved-0", "moved-1")))
		Eventually(func() string { return getEnv(env).Status.ProjectID }).Should(Equal(newProject))
		Expect(getEnv(env).Status.Identity.TenantUID).To(Equal(string(fetch(again).UID)))
	})

	It("keeps its finalizer, naming its servers, while no credential for its project is left; goes once the project is gone", func() {
		env := newEnv("stranded", 2)
		Eventually(readyEnv(env)).Should(Not(BeNil()))
		forceDelete(tenant)
		Expect(k8s.Delete(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: "whitehall-tenant-" + string(tenant.UID)}})).To(Succeed())
		Expect(k8s.Delete(ctx, env)).To(Succeed())
		Eventually(conditionOf(env, whv1.ConditionReady)).Should(notReadyBecause(whv1.ReasonCredentialsGone, "servers stranded-0, stranded-1 in project "+projectID))
		Eventually(func(g Gomega) []string {
			var msgs []string
			for _, e := range eventsAbout(g, "TestEnvironment", "stranded") {
				if e.Reason == whv1.ReasonCredentialsGone {
					msgs = append(msgs, e.Note)
				}
			}
			return msgs
		}).Should(ContainElement(ContainSubstring("stranded-0, stranded-1")))
		Consistently(func() []string { return getEnv(env).Finalizers }).Should(ContainElement(whv1.TestEnvironmentFinalizer))
		Expect(cloud.ServersIn(projectID)).To(HaveLen(2))

		Expect(cloud.DeleteProject(ctx, projectID)).To(Succeed())
		Eventually(isGone(env)).Should(BeTrue())
	})

	It("boots a server that went to ERROR again after a back-off that doubles, with Nova's fault in status and an event", func() {
		const fault = "No valid host was found. There are not enough hosts available."
		cloud.SetBootFault(fault)
		DeferCleanup(func() { cloud.SetBootFault("") })
		before := cloud.Calls("CreateServer")
		env := newEnv("nohost", 1)
		failure := func(g Gomega) whv1.ServerFailure {
			f := getEnv(env).Status.Failures
			g.Expect(f).To(HaveLen(1))
			return f[0]
		}
		Eventually(failure).Should(And(HaveField("Name", "nohost-0"), HaveField("Fault", fault), HaveField("Count", BeNumerically(">=", 3))))
		third := failure(Default)
		// The third failure waits 4 s (1 s, doubled twice): no boot meanwhile.
		Expect(time.Until(third.RetryAt.Time)).To(BeNumerically(">", 2*time.Second))
		Consistently(func() int32 { return failure(Default).Count }).WithTimeout(2 * time.Second).Should(Equal(third.Count))
		Expect(cloud.Calls("CreateServer")-before).To(BeNumerically("<=", third.Count+1), "one boot per failure")
		Expect(meta.FindStatusCondition(getEnv(env).Status.Conditions, whv1.ConditionReady)).To(HaveValue(
			notReadyBecause(whv1.ReasonServerFailed, "nohost-0 went to ERROR")))
		Eventually(func(g Gomega) []string { return eventReasons(g, ns) }).Should(ContainElement(whv1.ReasonServerFailed))

		cloud.SetBootFault("")
		Eventually(servers(env)).Should(Equal(activeServers("nohost-0")))
		Eventually(func() []whv1.ServerFailure { return getEnv(env).Status.Failures }).Should(BeEmpty())
		Eventually(readyEnv(env)).Should(Not(BeNil()))
	})

	It("goes first, with its servers, when its Tenant is deleted", func() {
		env := newEnv("doomed", 2)
		Eventually(servers(env)).Should(HaveLen(2))
		Expect(k8s.Delete(ctx, tenant)).To(Succeed())
		Eventually(func() bool { return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(tenant), tenant)) }).Should(BeTrue())
		Expect(servers(env)()).To(BeEmpty())
		Expect(apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(env), env))).To(BeTrue())
		Expect(cloud.Project(projectID)).To(BeNil())
	})
})

// unstructuredSet sets a field of an unstructured object.
func unstructuredSet(u interface {
	UnstructuredContent() map[string]any
}, value any, path ...string) error {
	m := u.UnstructuredContent()
	for _, p := range path[:len(path)-1] {
		next, ok := m[p].(map[string]any)
		if !ok {
			return fmt.Errorf("no field %s", p)
		}
		m = next
	}
	m[path[len(path)-1]] = value
	return nil
}
