package envtest

import (
	"context"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	cloudkind "github.com/whitehall-cloud/whitehall-operator/controllers/cloud"
	"github.com/whitehall-cloud/whitehall-operator/controllers/computequota"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/peakseason"
	"github.com/whitehall-cloud/whitehall-operator/controllers/shard"
	"github.com/whitehall-cloud/whitehall-operator/controllers/tenant"
	"github.com/whitehall-cloud/whitehall-operator/controllers/testenvironment"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Two shards, a and b, run beside the suite's manager (the default shard), each a
// manager of its own with leader election, as --shard runs them. Each shard's
// connectors count the clouds it asked for: a department's own credentials live in its
// namespace, so they tell which shard worked there.
var _ = Describe("shards", Ordered, func() {
	var a, b *shardManager

	BeforeAll(func() {
		a, b = startShard("a"), startShard("b")
	})

	It("works in a namespace only in the shard its label names, and records that shard as its holder", func() {
		inA, inB := shardNamespace("a"), shardNamespace("b")
		ta, tb := departmentTenant(inA), departmentTenant(inB)
		Eventually(readyTenant(ta)).ShouldNot(BeNil())
		Eventually(readyTenant(tb)).ShouldNot(BeNil())
		Expect(recordHolder(inA)()).To(Equal("a"))
		Expect(recordHolder(inB)()).To(Equal("b"))
		asked := func(ns string) []int {
			return []int{a.tenants.Asked(departmentCreds(ns)), b.tenants.Asked(departmentCreds(ns)), tenantClouds.Asked(departmentCreds(ns))}
		}
		Expect(asked(inA)[0]).To(BeNumerically(">", 0))
		Expect(asked(inA)[1:]).To(Equal([]int{0, 0}), "neither b nor the default shard worked in a's namespace")
		Expect(asked(inB)[1]).To(BeNumerically(">", 0))
		Expect(asked(inB)[0]).To(BeZero(), "a did not work in b's namespace")
		Expect(asked(inB)[2]).To(BeZero(), "the default shard did not work in b's namespace")
	})

	It("hands a relabelled namespace over: the old shard stops there, the new one takes its record and its work", func() {
		ns := shardNamespace("a")
		t := departmentTenant(ns)
		Eventually(readyTenant(t)).ShouldNot(BeNil())

		labelShard(ns, "b")
		// A spec change right after the relabel: applied by b once it holds the namespace.
		change(t, func(t *whv1.Tenant) { t.Spec.Project.Description = ptr.To("moved to shard b") })
		Eventually(recordHolder(ns)).Should(Equal("b"))
		handedOver := a.tenants.Asked(departmentCreds(ns))
		Eventually(readyTenant(t)).ShouldNot(BeNil())
		Eventually(func() string {
			return ptr.Deref(cloud.Project(fetch(t).Status.ProjectID), openstack.Project{}).Description
		}).Should(Equal("moved to shard b"))
		Expect(b.tenants.Asked(departmentCreds(ns))).To(BeNumerically(">", 0))
		Consistently(func() int { return a.tenants.Asked(departmentCreds(ns)) }).Should(Equal(handedOver),
			"a works no more in a namespace it handed over (its resync is 2 s)")
		Expect(cloud.ProjectsNamed(ns+"_"+t.Name)).To(Equal(1), "nothing made twice")
	})

	It("never takes a namespace from a running holder, and takes it once the holder's Lease is gone", func() {
		ns := shardNamespace("b")
		// Shard c holds the namespace and runs: its leader Lease is renewed.
		lease := &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: shard.LeaseID("c")},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("c-replica"), LeaseDurationSeconds: ptr.To[int32](3600),
				RenewTime: ptr.To(metav1.NowMicro())},
		}
		Expect(k8s.Create(ctx, lease)).To(Succeed())
		DeferCleanup(func() { Expect(client.IgnoreNotFound(k8s.Delete(ctx, lease))).To(Succeed()) })
		Expect(k8s.Create(ctx, &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: shard.RecordName(ns), Labels: map[string]string{shard.RecordLabel: "true"}},
			Spec:       coordinationv1.LeaseSpec{HolderIdentity: ptr.To("c")},
		})).To(Succeed())
		t := departmentTenant(ns)

		Consistently(func() int { return b.tenants.Asked(departmentCreds(ns)) }).Should(BeZero(), "b waits while c runs and holds the namespace")
		Expect(recordHolder(ns)()).To(Equal("c"))
		Expect(fetch(t).Status.Conditions).To(BeEmpty())

		// c stops cleanly: client-go empties the holder of a Lease released on cancel.
		change(lease, func(l *coordinationv1.Lease) { l.Spec.HolderIdentity = ptr.To("") })
		Eventually(recordHolder(ns)).Should(Equal("b"))
		Eventually(readyTenant(t)).ShouldNot(BeNil())
	})

	It("gives the default shard a namespace whose label is removed after its shard stopped", func() {
		ns := shardNamespace("a")
		t := departmentTenant(ns)
		Eventually(readyTenant(t)).ShouldNot(BeNil())
		a.stop()
		Eventually(func() string {
			held := fetch(&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: shard.LeaseID("a")}})
			return ptr.Deref(held.Spec.HolderIdentity, "")
		}).Should(BeEmpty(), "a released its leader Lease")

		labelShard(ns, "")
		Eventually(recordHolder(ns)).Should(Equal(shard.Default))
		change(t, func(t *whv1.Tenant) { t.Spec.Project.Description = ptr.To("back to the default shard") })
		Eventually(readyTenant(t)).ShouldNot(BeNil())
		Expect(tenantClouds.Asked(departmentCreds(ns))).To(BeNumerically(">", 0))
	})
})

// shardManager is one shard's manager and the connectors it asks for clouds.
type shardManager struct {
	tenants *fakeConnector[tenant.Cloud]
	stop    func()
}

// startShard starts a manager running shard name with leader election (short Leases, so
// a stopped shard is seen gone soon), stopped when the container ends.
func startShard(name string) *shardManager {
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  k8s.Scheme(),
		Metrics: metricsserver.Options{BindAddress: "0"},
		Cache:   controllers.CacheOptions(operatorNamespace),
		// Its controllers have the names of the suite manager's.
		Controller:     config.Controller{SkipNameValidation: ptr.To(true)},
		LeaderElection: true, LeaderElectionID: shard.LeaseID(name), LeaderElectionNamespace: operatorNamespace,
		LeaderElectionReleaseOnCancel: true,
		LeaseDuration:                 ptr.To(4 * time.Second), RenewDeadline: ptr.To(3 * time.Second), RetryPeriod: ptr.To(500 * time.Millisecond),
	})
	Expect(err).NotTo(HaveOccurred())
	secrets := secretReader{cached: mgr.GetClient(), live: mgr.GetAPIReader()}
	m := &shardManager{tenants: newFakeConnector[tenant.Cloud](secrets)}
	Expect(controllers.SetupWith(ctx, mgr, controllers.Options{
		Recorder:          mgr.GetEventRecorder("whitehall-operator"),
		Intervals:         frame.Intervals{Resync: resync, Dependency: time.Second, Blocked: time.Second},
		BuildPoll:         200 * time.Millisecond,
		ServerRetry:       time.Second,
		OperatorNamespace: operatorNamespace,
		Shard:             name,
	}, controllers.Connectors{
		Cloud:    newFakeConnector[cloudkind.Login](secrets),
		Tenant:   m.tenants,
		Quota:    newFakeConnector[computequota.Cloud](secrets),
		Capacity: newFakeConnector[peakseason.Cloud](secrets),
		Servers:  newFakeConnector[testenvironment.Cloud](secrets),
	})).To(Succeed())
	mgrCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	m.stop = func() {
		cancel()
		<-done
	}
	DeferCleanup(m.stop)
	return m
}

// shardNamespace is a namespace for one test labelled for shard name, with a
// department's own credentials in it.
func shardNamespace(name string) string {
	ns := newNamespace()
	labelShard(ns, name)
	return ns
}

// labelShard sets (or, for "", removes) namespace ns's shard label.
func labelShard(ns, name string) {
	change(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, func(n *corev1.Namespace) {
		if name == "" {
			delete(n.Labels, shard.Label)
			return
		}
		if n.Labels == nil {
			n.Labels = map[string]string{}
		}
		n.Labels[shard.Label] = name
	})
}

// departmentTenant is a Tenant in ns using the department's own credentials.
func departmentTenant(ns string) *whv1.Tenant {
	return createTenant(ns, "dept", func(t *whv1.Tenant) {
		t.Spec.CloudRef = nil
		t.Spec.CloudCredentialsRef = &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}
	})
}

// departmentCreds are the credentials a departmentTenant in ns logs in with.
func departmentCreds(ns string) openstack.CredentialsRef {
	return openstack.CredentialsRef{Namespace: ns, SecretName: goodSecret, CloudName: "dev"}
}

// recordHolder reads which shard holds ns's record ("" when it has none yet).
func recordHolder(ns string) func() string {
	return func() string {
		record := &coordinationv1.Lease{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: shard.RecordName(ns)}, record); err != nil {
			return ""
		}
		return ptr.Deref(record.Spec.HolderIdentity, "")
	}
}
