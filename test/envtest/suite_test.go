// Package envtest holds the tier-2 suites: the real kube-apiserver and etcd (envtest),
// the CRDs as generated, and the controllers against fakes of the internal/openstack
// interfaces.
package envtest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack/fake"
)

// The Secret name the fake connector accepts; any other is "missing".
const goodSecret = "openstack-admin"

// resync is short so drift repair is observed within a test.
const resync = 2 * time.Second

var (
	env       *envtest.Environment
	k8s       client.Client
	cloud     *fake.Cloud
	ctx       context.Context
	cancelMgr context.CancelFunc
)

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	RunSpecs(t, "envtest suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancelMgr = context.WithCancel(context.Background())

	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	Expect(err).NotTo(HaveOccurred(), "starting kube-apiserver and etcd: is KUBEBUILDER_ASSETS set? (make test-envtest sets it)")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(whv1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"}})
	Expect(err).NotTo(HaveOccurred())
	cloud = fake.New()
	Expect(controllers.SetupWith(ctx, mgr, controllers.Options{
		Recorder:  mgr.GetEventRecorder("whitehall-operator"),
		Intervals: controllers.Intervals{Resync: resync, Dependency: time.Second, Blocked: time.Second},
		BuildPoll: 200 * time.Millisecond,
	}, controllers.Connectors{
		Tenant:   newFakeConnector[controllers.TenantCloud](mgr.GetClient()),
		Quota:    newFakeConnector[controllers.QuotaCloud](mgr.GetClient()),
		Capacity: newFakeConnector[controllers.CapacityCloud](mgr.GetClient()),
		Servers:  newFakeConnector[controllers.EnvironmentCloud](mgr.GetClient()),
	})).To(Succeed())
	go func() {
		defer GinkgoRecover()
		Expect(mgr.Start(ctx)).To(Succeed())
	}()
})

var _ = AfterSuite(func() {
	if cancelMgr != nil {
		cancelMgr()
	}
	if env != nil {
		Expect(env.Stop()).To(Succeed())
	}
})

// fakeConnector hands out the fake cloud when the named Secret exists and holds
// clouds.yaml for cloud "dev", as the real factory would, and a credentials error
// otherwise. Like the real factory, cleanup may go on with a Secret that has gone, if the
// cloud was reached with it before.
type fakeConnector[T any] struct {
	reader client.Reader
	mu     sync.Mutex
	seen   map[openstack.CredentialsRef]bool
}

func newFakeConnector[T any](reader client.Reader) *fakeConnector[T] {
	return &fakeConnector[T]{reader: reader, seen: map[openstack.CredentialsRef]bool{}}
}

func (f *fakeConnector[T]) Cloud(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
	var zero T
	var s corev1.Secret
	if err := f.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.SecretName}, &s); err != nil {
		return zero, fmt.Errorf("%w: Secret %s/%s not found", openstack.ErrCredentials, ref.Namespace, ref.SecretName)
	}
	if _, ok := s.Data[openstack.CloudsYAMLKey]; !ok || ref.CloudName != "dev" {
		return zero, fmt.Errorf("%w: unusable", openstack.ErrCredentials)
	}
	f.mu.Lock()
	f.seen[ref] = true
	f.mu.Unlock()
	return any(cloud).(T), nil
}

// ProjectCloud logs in as a project's service user, as the real factory does: the admin
// credentials must be usable (or have been, during cleanup), and the fake Keystone
// checks the user, its password and its role on the project.
func (f *fakeConnector[T]) ProjectCloud(ctx context.Context, ref openstack.CredentialsRef, user openstack.ProjectUser) (T, error) {
	var zero T
	if _, err := f.CloudForCleanup(ctx, ref); err != nil {
		return zero, err
	}
	project, err := cloud.LogIn(user)
	if err != nil {
		return zero, err
	}
	return any(project).(T), nil
}

func (f *fakeConnector[T]) CloudForCleanup(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
	c, err := f.Cloud(ctx, ref)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err != nil && f.seen[ref] {
		return any(cloud).(T), nil
	}
	return c, err
}

// newNamespace creates a namespace for one test, with the credentials Secret in it.
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	Expect(k8s.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns.Name, Name: goodSecret},
		Data:       map[string][]byte{openstack.CloudsYAMLKey: []byte("clouds: {dev: {}}")},
	})).To(Succeed())
	return ns.Name
}
