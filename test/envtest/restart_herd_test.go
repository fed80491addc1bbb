package envtest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	cloudkind "github.com/whitehall-cloud/whitehall-operator/controllers/cloud"
	"github.com/whitehall-cloud/whitehall-operator/controllers/computequota"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/peakseason"
	"github.com/whitehall-cloud/whitehall-operator/controllers/tenant"
	"github.com/whitehall-cloud/whitehall-operator/controllers/testenvironment"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack/openstacktest"
)

// No thundering herd after a restart (issue 23, item 2). A manager converges many
// departments and stops; a fresh one (a new process: fresh cache, fresh bulk view)
// starts on the same cloud with the same resync period. What users care about: its
// calls in the first period are spread over it — no tenth of the period holds much more
// than its share, and no second more than the operator's --openstack-qps would allow at
// that load — and yet every department is looked at within the period, once.
//
// The spec runs its own API server: the suite's manager reconciles every Tenant of the
// suite's, and here only the two managers under test may, one after the other.
var _ = Describe("A restarted manager", Ordered, func() {
	const (
		namespaces   = 12
		perNamespace = 10
		departments  = namespaces * perNamespace
		// period is the resync of both managers: long enough that a herd and a spread
		// differ by far more than a loaded machine's hiccups, short enough for a spec.
		period    = 30 * time.Second
		herdCloud = "restart-herd"
		herdLabel = "whitehall.cloud/restart-herd"
	)
	var (
		restCfg *rest.Config
		k       client.Client
		fake    *openstacktest.Cloud
	)

	BeforeAll(func() {
		restCfg, k = ownControlPlane(herdCloud, herdLabel)
		fake = openstacktest.New()
		fake.ObserveInBulk(period) // as every Cloud's admin login has one in the manager
	})

	It("looks at every department once in its first resync period, spread over it rather than all at once", func() {
		first := startHerdManager(restCfg, k.Scheme(), fake, period)
		for n := range namespaces {
			ns := fmt.Sprintf("restart-herd-%02d", n)
			Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{herdLabel: "true"}}})).To(Succeed())
			for d := range perNamespace {
				createDepartment(k, ns, fmt.Sprintf("dept-%02d", d), herdCloud)
			}
		}
		Eventually(func(g Gomega) { g.Expect(notSynced(g, k)).To(BeEmpty()) }).WithTimeout(5*time.Minute).WithPolling(time.Second).
			Should(Succeed(), "%d departments converged by the first manager", departments)
		first()

		By("a fresh manager on the same cloud, with the same resync period")
		// lastSyncTime has whole seconds: the fresh manager starts in a second after the
		// stopped one's last write, so a lastSyncTime from that second on is the fresh one's.
		stopped := time.Now()
		Eventually(time.Now).Should(BeTemporally(">=", stopped.Truncate(time.Second).Add(time.Second)))
		fake.ObserveInBulk(period) // a new process: its bulk view starts empty
		fake.RecordCalls()
		restarted := time.Now()
		startHerdManager(restCfg, k.Scheme(), fake, period)

		// Each object is due before a period after its last read, which was before the
		// restart; a loaded machine may take a few seconds more to get to it.
		Eventually(func(g Gomega) { g.Expect(readSince(g, k, restarted.Truncate(time.Second))).To(BeEmpty()) }).
			WithTimeout(period+10*time.Second).WithPolling(time.Second).Should(Succeed(), "every department looked at again after the restart")
		end := restarted.Add(period)
		Eventually(time.Now).WithTimeout(period+time.Second).Should(BeTemporally(">", end), "the first period is over")

		calls := fake.Recorded()
		got := spreadOver(calls, restarted, period)
		AddReportEntry("calls in the first resync period after a restart", got.String())
		GinkgoWriter.Printf("restart of %d departments, resync %s: %s\n", departments, period, got)
		Expect(got.total).To(BeNumerically(">=", departments), "the calls of the first period were recorded")
		fair := float64(got.total) / float64(len(got.tenths))
		Expect(float64(slices.Max(got.tenths[:]))).To(BeNumerically("<=", 3*fair),
			"no tenth of the period holds more than three times its share: %s", got)
		Expect(float64(got.peak)).To(BeNumerically("<=", qpsEquivalent(departments, period)),
			"the busiest second stays within --openstack-qps at the load of this test: %s", got)
		var quotas whv1.ComputeQuotaList
		Expect(k.List(ctx, &quotas)).To(Succeed())
		Expect(novaReadsPerProject(calls, restarted, end, quotas.Items)).To(And(HaveLen(departments), HaveEach(1)),
			"each department's Nova quota read once in the period: none skipped, none read twice")
	})
})

// ownControlPlane starts an API server of the spec's own, stopped when the container
// ends (after what the spec started), with the operator's namespace, its admin Secret and
// a Cloud named cloudName admitting the namespaces labelled label=true.
func ownControlPlane(cloudName, label string) (*rest.Config, client.Client) {
	apiServer := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	restCfg, err := apiServer.Start()
	Expect(err).NotTo(HaveOccurred())
	// Cleanups run last first: managers started later stop before their API server.
	DeferCleanup(func() { Expect(apiServer.Stop()).To(Succeed()) })
	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(whv1.AddToScheme(scheme)).To(Succeed())
	k, err := client.New(restCfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	Expect(k.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	Expect(k.Create(ctx, adminSecret(operatorNamespace, goodSecret))).To(Succeed())
	Expect(k.Create(ctx, &whv1.Cloud{
		ObjectMeta: metav1.ObjectMeta{Name: cloudName},
		Spec: whv1.CloudSpec{
			CredentialsSecretRef: whv1.CloudSecretReference{Name: goodSecret, CloudName: "dev"},
			NamespaceSelector:    metav1.LabelSelector{MatchLabels: map[string]string{label: "true"}},
		},
	})).To(Succeed())
	return restCfg, k
}

// The operator's defaults: --openstack-qps=50 with --resync-period=10m is meant for
// 1,000 departments (README, Scale). At the test's load the same allowance is 50 scaled
// by the departments per second of resync, here and there.
const (
	defaultQPS         = 50
	defaultResync      = 10 * time.Minute
	defaultDepartments = 1000
)

// qpsEquivalent is --openstack-qps scaled to departments resynced every period.
func qpsEquivalent(departments int, period time.Duration) float64 {
	return defaultQPS * (float64(departments) / period.Seconds()) / (defaultDepartments / defaultResync.Seconds())
}

// callSpread is how the calls of one period after a restart fall over it.
type callSpread struct {
	total    int
	tenths   [10]int
	peak     int // the most calls in one second from the restart
	byMethod map[string]int
}

func (s callSpread) String() string {
	return fmt.Sprintf("%d calls, by tenth of the period %v, at most %d in one second; by method %v", s.total, s.tenths, s.peak, s.byMethod)
}

// spreadOver counts the calls made in [start, start+period).
func spreadOver(calls []openstacktest.Call, start time.Time, period time.Duration) callSpread {
	s := callSpread{byMethod: map[string]int{}}
	perSecond := map[int64]int{}
	for _, c := range calls {
		since := c.At.Sub(start)
		if since < 0 || since >= period {
			continue
		}
		s.total++
		s.byMethod[c.Method]++
		s.tenths[int(since*10/period)]++
		perSecond[int64(since/time.Second)]++
	}
	for _, n := range perSecond {
		s.peak = max(s.peak, n)
	}
	return s
}

// novaReadsPerProject counts, for each quota's project, its Nova quota reads in
// [start, end).
func novaReadsPerProject(calls []openstacktest.Call, start, end time.Time, quotas []whv1.ComputeQuota) map[string]int {
	reads := map[string]int{}
	byProject := map[string]string{}
	for _, q := range quotas {
		key := q.Namespace + "/" + q.Name
		reads[key] = 0
		byProject[q.Status.ProjectID] = key
	}
	for _, c := range calls {
		if c.Method != "GetQuota.compute" || c.At.Before(start) || !c.At.Before(end) {
			continue
		}
		for _, p := range c.Projects {
			if key, ok := byProject[p]; ok {
				reads[key]++
			}
		}
	}
	return reads
}

// createDepartment creates a Tenant on cloudName and a ComputeQuota for it in ns.
func createDepartment(k client.Client, ns, name, cloudName string) {
	Expect(k.Create(ctx, &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: cloudName}},
	})).To(Succeed())
	q := &whv1.ComputeQuota{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: whv1.ComputeQuotaSpec{TenantRef: whv1.LocalObjectReference{Name: name},
			Baseline: whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](4)}}},
	}
	Expect(k.Create(ctx, q)).To(Succeed())
}

// syncedObjects lists every Tenant and ComputeQuota, keyed by kind and name.
func syncedObjects(g Gomega, k client.Client) map[string]whv1.SyncedObject {
	var tenants whv1.TenantList
	var quotas whv1.ComputeQuotaList
	g.Expect(k.List(ctx, &tenants)).To(Succeed())
	g.Expect(k.List(ctx, &quotas)).To(Succeed())
	out := map[string]whv1.SyncedObject{}
	for i := range tenants.Items {
		out["Tenant "+client.ObjectKeyFromObject(&tenants.Items[i]).String()] = &tenants.Items[i]
	}
	for i := range quotas.Items {
		out["ComputeQuota "+client.ObjectKeyFromObject(&quotas.Items[i]).String()] = &quotas.Items[i]
	}
	return out
}

// notSynced names the Tenants and ComputeQuotas not yet Ready for their spec with a
// full read recorded.
func notSynced(g Gomega, k client.Client) []string {
	var out []string
	for key, o := range syncedObjects(g, k) {
		ready := meta.FindStatusCondition(*o.StatusConditions(), whv1.ConditionReady)
		if o.LastSync() == nil || ready == nil || ready.Status != metav1.ConditionTrue {
			out = append(out, key)
		}
	}
	return out
}

// readSince names the Tenants and ComputeQuotas whose last full read is before since.
func readSince(g Gomega, k client.Client, since time.Time) []string {
	var out []string
	for key, o := range syncedObjects(g, k) {
		if last := o.LastSync(); last == nil || last.Time.Before(since) {
			out = append(out, key)
		}
	}
	return out
}

// herdConnector hands every controller of a manager below the one fake cloud.
type herdConnector[T any] struct{ cloud *openstacktest.Cloud }

func (h herdConnector[T]) Cloud(context.Context, openstack.CredentialsRef) (T, error) {
	return any(h.cloud).(T), nil
}

func (h herdConnector[T]) CloudForCleanup(context.Context, openstack.CredentialsRef) (T, error) {
	return any(h.cloud).(T), nil
}

func (h herdConnector[T]) ProjectCloud(_ context.Context, _ openstack.CredentialsRef, user openstack.ProjectUser) (T, error) {
	project, err := h.cloud.LogIn(user)
	if err != nil {
		var zero T
		return zero, err
	}
	return any(project).(T), nil
}

// startHerdManager starts a manager as cmd/manager runs one, on the fake cloud with the
// resync period given, and returns what stops it (also called when the container ends).
func startHerdManager(restCfg *rest.Config, scheme *runtime.Scheme, fake *openstacktest.Cloud, resync time.Duration) func() {
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		Cache: controllers.CacheOptions(operatorNamespace),
		// The suite's manager has controllers of the same names.
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	Expect(err).NotTo(HaveOccurred())
	mgrCtx, cancel := context.WithCancel(ctx)
	Expect(controllers.SetupWith(mgrCtx, mgr, controllers.Options{
		Recorder:          mgr.GetEventRecorder("whitehall-operator"),
		Intervals:         frame.Intervals{Resync: resync, Dependency: time.Second, Blocked: time.Second},
		OperatorNamespace: operatorNamespace,
	}, controllers.Connectors{
		Cloud:    herdConnector[cloudkind.Login]{fake},
		Tenant:   herdConnector[tenant.Cloud]{fake},
		Quota:    herdConnector[computequota.Cloud]{fake},
		Capacity: herdConnector[peakseason.Cloud]{fake},
		Servers:  herdConnector[testenvironment.Cloud]{fake},
		Views:    fake.Views(),
	})).To(Succeed())
	done := make(chan struct{})
	go func() {
		defer GinkgoRecover()
		defer close(done)
		Expect(mgr.Start(mgrCtx)).To(Succeed())
	}()
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	DeferCleanup(stop)
	return stop
}
