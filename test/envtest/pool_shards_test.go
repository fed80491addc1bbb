package envtest

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/controllers/tenant"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack/openstacktest"
)

// poolCloud hands every Tenant controller of the spec below one fake OpenStack: two
// shards of one operator reach the same cloud.
type poolCloud struct{ cloud *openstacktest.Cloud }

func (p poolCloud) Cloud(context.Context, openstack.CredentialsRef) (tenant.Cloud, error) {
	return p.cloud, nil
}

func (p poolCloud) CloudForCleanup(context.Context, openstack.CredentialsRef) (tenant.Cloud, error) {
	return p.cloud, nil
}

func (p poolCloud) ProjectCloud(_ context.Context, _ openstack.CredentialsRef, user openstack.ProjectUser) (tenant.Cloud, error) {
	return p.cloud.LogIn(user)
}

// The spec runs its own API server: the suite's manager reconciles every Tenant of the
// suite's, and here only the two "shards" may, each with its own cache (of its own
// namespaces alone) and its own address space, as two operator processes would.
var _ = Describe("A network pool shared by two operator processes", Ordered, func() {
	const (
		pool        = "10.77.0.0/26" // four /28 blocks
		blocks      = 4
		rounds      = 4
		perShard    = 3
		poolLabel   = "whitehall.cloud/pool-shards"
		poolCloudNm = "pool-shards"
	)
	var (
		k      client.Client
		stop   context.CancelFunc
		shards [2][]string // the namespaces each process handles
		done   sync.WaitGroup
	)

	startShard := func(cfg2 *ctrlConfig, namespaces []string, fake *openstacktest.Cloud) {
		byNamespace := map[string]cache.Config{operatorNamespace: {}}
		for _, ns := range namespaces {
			byNamespace[ns] = cache.Config{}
		}
		opts := controllers.CacheOptions(operatorNamespace)
		opts.DefaultNamespaces = byNamespace
		mgr, err := ctrl.NewManager(cfg2.rest, ctrl.Options{
			Scheme: cfg2.scheme, Metrics: metricsserver.Options{BindAddress: "0"}, Cache: opts,
			// The suite's manager has a controller named tenant already.
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		Expect(err).NotTo(HaveOccurred())
		Expect(lookups.SetupIndexes(cfg2.ctx, mgr)).To(Succeed())
		Expect((&tenant.Reconciler{
			Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: mgr.GetEventRecorder("whitehall-operator"),
			Clouds: poolCloud{fake}, Access: access.Access{Reader: mgr.GetClient(), OperatorNamespace: operatorNamespace},
			GrantableRoles: controllers.DefaultGrantableRoles, Concurrency: 4,
			Intervals: frame.Intervals{Resync: resync, Dependency: time.Second, Blocked: time.Second},
		}).SetupWithManager(mgr)).To(Succeed())
		done.Add(1)
		go func() {
			defer GinkgoRecover()
			defer done.Done()
			Expect(mgr.Start(cfg2.ctx)).To(Succeed())
		}()
	}

	BeforeAll(func() {
		var restCfg *rest.Config
		restCfg, k = ownControlPlane(poolCloudNm, poolLabel)
		scheme := k.Scheme()
		Expect(k.Create(ctx, &whv1.DepartmentPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "pool-shards"},
			Spec: whv1.DepartmentPolicySpec{
				NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{poolLabel: "true"}},
				Networks:          &whv1.NetworkRules{Pool: pool, PrefixLength: ptr.To[int32](28)},
			},
		})).To(Succeed())
		for s := range shards {
			for i := range perShard {
				ns := fmt.Sprintf("shard%d-dept%d", s, i)
				Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{poolLabel: "true"}}})).To(Succeed())
				shards[s] = append(shards[s], ns)
			}
		}

		shardCtx, cancel := context.WithCancel(ctx)
		stop = cancel
		fake := openstacktest.New()
		for s := range shards {
			startShard(&ctrlConfig{rest: restCfg, scheme: scheme, ctx: shardCtx}, shards[s], fake)
		}
	})

	AfterAll(func() {
		if stop != nil {
			stop()
			done.Wait()
		}
	})

	// settle reads every Tenant named name and fails at once (not eventually) when two of
	// them hold overlapping ranges: a range once held is never taken back. Held: given
	// from the pool (status without spec), or its network made. It returns the range of
	// each Ready Tenant, and the reason of each one not Ready for its generation.
	settle := func(g Gomega, name string) (ready map[string]string, waiting map[string]string) {
		var list whv1.TenantList
		g.Expect(k.List(ctx, &list)).To(Succeed())
		ready, waiting = map[string]string{}, map[string]string{}
		var held []netip.Prefix
		var holders []string
		for _, t := range list.Items {
			if t.Name != name {
				continue
			}
			key := t.Namespace + "/" + t.Name
			if s := t.Status.Network; s != nil && s.CIDR != "" && (s.NetworkID != "" || t.Spec.Network.CIDR == "") {
				p := netip.MustParsePrefix(s.CIDR)
				for i, h := range held {
					if p.Overlaps(h) {
						StopTrying(fmt.Sprintf("%s holds %s, overlapping %s of %s", key, p, h, holders[i])).Now()
					}
				}
				held, holders = append(held, p), append(holders, key)
			}
			c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
			switch {
			case c == nil || c.ObservedGeneration != t.Generation:
			case c.Status == metav1.ConditionTrue:
				ready[key] = t.Status.Network.CIDR
			default:
				waiting[key] = c.Reason
			}
		}
		return ready, waiting
	}
	// race creates a Tenant named name in every namespace of both shards at once, the
	// first of shard 0 with the explicit range cidr when not "".
	race := func(name, cidr string) []*whv1.Tenant {
		var tenants []*whv1.Tenant
		for s := range shards {
			for _, ns := range shards[s] {
				tenants = append(tenants, &whv1.Tenant{
					ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
					Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: poolCloudNm}, Network: &whv1.TenantNetwork{}},
				})
			}
		}
		tenants[0].Spec.Network.CIDR = cidr
		createAtOnce(k, tenants)
		return tenants
	}
	// clearRound deletes the Tenants, waits until they are gone, and checks that the ledger
	// keeps nothing of them.
	clearRound := func(tenants []*whv1.Tenant) {
		for _, t := range tenants {
			Expect(client.IgnoreNotFound(k.Delete(ctx, t))).To(Succeed())
		}
		for _, t := range tenants {
			Eventually(func() bool {
				err := k.Get(ctx, client.ObjectKeyFromObject(t), &whv1.Tenant{})
				return err != nil && client.IgnoreNotFound(err) == nil
			}).Should(BeTrue(), "Tenant %s/%s is gone", t.Namespace, t.Name)
		}
		Eventually(func(g Gomega) string {
			var cm corev1.ConfigMap
			err := k.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: tenant.LedgerName}, &cm)
			if client.IgnoreNotFound(err) == nil && err != nil {
				return "[]" // no ledger at all: nothing in it
			}
			g.Expect(err).NotTo(HaveOccurred())
			return cm.Data["claims.json"]
		}).Should(Or(Equal("[]"), Equal("null")), "the ledger holds only claims in flight")
	}

	It("never gives one block to two Tenants, says PoolExhausted to the rest, and gives a freed block to one waiting", func() {
		for round := range rounds {
			By(fmt.Sprintf("round %d: one Tenant in each of %d namespaces, both processes at once", round, 2*perShard))
			name := fmt.Sprintf("race%d", round)
			tenants := race(name, "")
			var ready, waiting map[string]string
			Eventually(func(g Gomega) {
				ready, waiting = settle(g, name)
				g.Expect(ready).To(HaveLen(blocks), "every block given, each once")
				g.Expect(waiting).To(HaveLen(len(tenants) - blocks))
				g.Expect(waiting).To(HaveEach(whv1.ReasonPoolExhausted))
			}).Should(Succeed())

			By("deleting one holder: its block goes to one Tenant waiting, and only one")
			var freedBy, freed string
			for key, cidr := range ready {
				freedBy, freed = key, cidr
				break
			}
			ns, tenantName, _ := strings.Cut(freedBy, "/")
			Expect(k.Delete(ctx, &whv1.Tenant{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: tenantName}})).To(Succeed())
			Eventually(func(g Gomega) {
				now, waiting := settle(g, name)
				g.Expect(now).NotTo(HaveKey(freedBy))
				g.Expect(now).To(HaveLen(blocks))
				g.Expect(waiting).To(HaveLen(len(tenants) - blocks - 1))
				g.Expect(now).To(ContainElement(freed), "the freed block is given again")
			}).Should(Succeed())
			Consistently(func(g Gomega) { settle(g, name) }, resync).Should(Succeed())
			clearRound(tenants)
		}
	})

	It("weighs an explicit range racing allocations in the other process: one of them gets each address", func() {
		for round := range rounds {
			By(fmt.Sprintf("round %d: 10.77.0.0/27 asked for in shard 0 while five Tenants draw /28s", round))
			name := fmt.Sprintf("mixed%d", round)
			tenants := race(name, "10.77.0.0/27")
			Eventually(func(g Gomega) {
				ready, waiting := settle(g, name)
				g.Expect(len(ready) + len(waiting)).To(Equal(len(tenants)))
				size := 0
				for _, cidr := range ready {
					size += 1 << (32 - netip.MustParsePrefix(cidr).Bits())
				}
				g.Expect(size).To(Equal(64), "the pool is given whole, each address once: %v", ready)
				for key, reason := range waiting {
					g.Expect(reason).To(BeElementOf(whv1.ReasonPoolExhausted, whv1.ReasonPolicyViolation), key)
				}
			}).Should(Succeed())
			Consistently(func(g Gomega) { settle(g, name) }, resync).Should(Succeed())
			clearRound(tenants)
		}
	})
})

// ctrlConfig is what each shard's manager is made from.
type ctrlConfig struct {
	rest   *rest.Config
	scheme *runtime.Scheme
	ctx    context.Context
}

// createAtOnce creates the Tenants concurrently, as a GitOps sync applying them together
// would, and returns once all are created.
func createAtOnce(c client.Client, tenants []*whv1.Tenant) {
	var wg sync.WaitGroup
	for _, t := range tenants {
		wg.Add(1)
		go func() {
			defer GinkgoRecover()
			defer wg.Done()
			Expect(c.Create(ctx, t)).To(Succeed())
		}()
	}
	wg.Wait()
}
