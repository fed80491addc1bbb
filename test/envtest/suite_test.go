// Package envtest holds the tier-2 suites: the real kube-apiserver and etcd (envtest),
// the CRDs as generated, and the controllers against fakes of the internal/openstack
// interfaces.
package envtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
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

// The Secret name the fake connector accepts; any other is "missing".
const goodSecret = "openstack-admin"

// resync is short so drift repair is observed within a test.
const resync = 2 * time.Second

const (
	// operatorNamespace holds every Cloud's admin Secret and the project identities.
	operatorNamespace = "whitehall-system"
	// sharedCloud is the Cloud most tests use: its credentials are goodSecret in the
	// operator's namespace, and it admits the namespaces labelled departmentLabel=true.
	sharedCloud     = "whitehall"
	departmentLabel = "whitehall.cloud/department"
)

var (
	env       *envtest.Environment
	cfg       *rest.Config
	k8s       client.Client
	cloud     *openstacktest.Cloud
	ctx       context.Context
	cancelMgr context.CancelFunc

	// The connectors each controller got: they count who asked for a cloud.
	tenantClouds   *fakeConnector[tenant.Cloud]
	quotaClouds    *fakeConnector[computequota.Cloud]
	capacityClouds *fakeConnector[peakseason.Cloud]
	serverClouds   *fakeConnector[testenvironment.Cloud]
)

func TestEnvtest(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(30 * time.Second)
	SetDefaultEventuallyPollingInterval(100 * time.Millisecond)
	SetDefaultConsistentlyDuration(2 * resync)
	SetDefaultConsistentlyPollingInterval(200 * time.Millisecond)
	RunSpecs(t, "envtest suite")
}

var _ = BeforeSuite(func() {
	logf.SetLogger(zap.New(zap.WriteTo(GinkgoWriter), zap.UseDevMode(true)))
	ctx, cancelMgr = context.WithCancel(context.Background())

	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	var err error
	cfg, err = env.Start()
	Expect(err).NotTo(HaveOccurred(), "starting kube-apiserver and etcd: is KUBEBUILDER_ASSETS set? (make test-envtest sets it)")

	scheme := runtime.NewScheme()
	Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	Expect(whv1.AddToScheme(scheme)).To(Succeed())
	k8s, err = client.New(cfg, client.Options{Scheme: scheme})
	Expect(err).NotTo(HaveOccurred())
	applyAdmissionPolicies()

	// The operator's namespace, with the admin credentials of the shared Cloud.
	Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}})).To(Succeed())
	Expect(k8s.Create(ctx, adminSecret(operatorNamespace, goodSecret))).To(Succeed())
	Expect(k8s.Create(ctx, &whv1.Cloud{
		ObjectMeta: metav1.ObjectMeta{Name: sharedCloud},
		Spec: whv1.CloudSpec{
			CredentialsSecretRef: whv1.CloudSecretReference{Name: goodSecret, CloudName: "dev"},
			NamespaceSelector:    metav1.LabelSelector{MatchLabels: map[string]string{departmentLabel: "true"}},
		},
	})).To(Succeed())

	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:  scheme,
		Metrics: metricsserver.Options{BindAddress: "0"},
		// As cmd/manager: the cache holds the operator's own Secrets only.
		Cache: controllers.CacheOptions(operatorNamespace),
	})
	Expect(err).NotTo(HaveOccurred())
	cloud = openstacktest.New()
	// As every Cloud's admin login in the manager: reads at rest served by a bulk view.
	cloud.ObserveInBulk(resync)
	// As the real factory: the operator's Secrets from the cache, any other live.
	secrets := secretReader{cached: mgr.GetClient(), live: mgr.GetAPIReader()}
	tenantClouds = newFakeConnector[tenant.Cloud](secrets)
	quotaClouds = newFakeConnector[computequota.Cloud](secrets)
	capacityClouds = newFakeConnector[peakseason.Cloud](secrets)
	serverClouds = newFakeConnector[testenvironment.Cloud](secrets)
	Expect(controllers.SetupWith(ctx, mgr, controllers.Options{
		Recorder:          mgr.GetEventRecorder("whitehall-operator"),
		Intervals:         frame.Intervals{Resync: resync, Dependency: time.Second, Blocked: time.Second},
		BuildPoll:         200 * time.Millisecond,
		ServerRetry:       time.Second,
		OperatorNamespace: operatorNamespace,
	}, controllers.Connectors{
		Cloud:    newFakeConnector[cloudkind.Login](secrets),
		Tenant:   tenantClouds,
		Quota:    quotaClouds,
		Capacity: capacityClouds,
		Servers:  serverClouds,
		Views:    cloud.Views(),
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

// admissionDir holds the ValidatingAdmissionPolicies the chart ships.
var admissionDir = filepath.Join("..", "..", "config", "admission")

// unboundInEnvtest are admission policies the suite creates (so the API server compiles
// them) but does not bind, with why.
var unboundInEnvtest = map[string]string{
	// environment_test checks that the controller itself refuses such a Secret, as it
	// must on a cluster without the policy; the chart test checks the policy.
	"whitehall-user-data-secrets": "a labelled user-data Secret holding a clouds.yaml must be creatable",
}

// applyAdmissionPolicies creates every ValidatingAdmissionPolicy and binding of
// config/admission, so that the real kube-apiserver evaluates them as the chart installs
// them, and waits until they are enforced. Those taking a DepartmentPolicy as parameter
// act only once one exists: specs that make one wait for it to be enforced.
func applyAdmissionPolicies() {
	files, err := filepath.Glob(filepath.Join(admissionDir, "*.yaml"))
	Expect(err).NotTo(HaveOccurred())
	Expect(files).NotTo(BeEmpty(), "no admission policies in %s", admissionDir)
	for _, file := range files {
		data, err := os.ReadFile(file)
		Expect(err).NotTo(HaveOccurred())
		decoder := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
		for {
			u := &unstructured.Unstructured{}
			err := decoder.Decode(&u.Object)
			if errors.Is(err, io.EOF) {
				break
			}
			Expect(err).NotTo(HaveOccurred(), file)
			if len(u.Object) == 0 {
				continue
			}
			if _, unbound := unboundInEnvtest[u.GetName()]; unbound && u.GetKind() == "ValidatingAdmissionPolicyBinding" {
				continue
			}
			Expect(k8s.Create(ctx, u)).To(Succeed(), "%s: %s %s", file, u.GetKind(), u.GetName())
		}
	}
	// Enforced a moment after they are made: a Tenant whose default project name is too
	// long for Keystone (config/admission/policies.yaml) is refused once they are.
	probe := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: metav1.NamespaceDefault, Name: strings.Repeat("n", 60)},
		Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: sharedCloud}},
	}
	Eventually(func() error {
		return k8s.Create(ctx, probe.DeepCopy(), client.DryRunAll)
	}).Should(MatchError(ContainSubstring("longer than the 64 characters Keystone allows")), "the admission policies are not enforced")
}

// secretReader reads the operator's namespace from the cache and any other Secret live,
// as cmd/manager's does for the real factory.
type secretReader struct{ cached, live client.Reader }

func (s secretReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key.Namespace == operatorNamespace {
		return s.cached.Get(ctx, key, obj, opts...)
	}
	return s.live.Get(ctx, key, obj, opts...)
}

func (s secretReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return s.live.List(ctx, list, opts...)
}

// fakeConnector hands out the fake cloud when the named Secret exists and holds
// clouds.yaml for cloud "dev", as the real factory would, and a credentials error
// otherwise. Like the real factory, cleanup may go on with a Secret that has gone, if the
// cloud was reached with it before. It counts the clouds asked for, per credentials.
type fakeConnector[T any] struct {
	reader client.Reader
	mu     sync.Mutex
	seen   map[openstack.CredentialsRef]bool
	asked  map[openstack.CredentialsRef]int
}

func newFakeConnector[T any](reader client.Reader) *fakeConnector[T] {
	return &fakeConnector[T]{reader: reader, seen: map[openstack.CredentialsRef]bool{}, asked: map[openstack.CredentialsRef]int{}}
}

// Asked returns how often a controller asked for the cloud of ref, whether or not it got
// it: zero means it made no OpenStack call with those credentials.
func (f *fakeConnector[T]) Asked(ref openstack.CredentialsRef) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.asked[ref]
}

func (f *fakeConnector[T]) Cloud(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
	var zero T
	f.mu.Lock()
	f.asked[ref]++
	f.mu.Unlock()
	var s corev1.Secret
	if err := f.reader.Get(ctx, client.ObjectKey{Namespace: ref.Namespace, Name: ref.SecretName}, &s); err != nil {
		return zero, fmt.Errorf("%w: Secret %s/%s not found", openstack.ErrCredentials, ref.Namespace, ref.SecretName)
	}
	if _, ok := s.Data[openstack.CloudsYAMLKey]; !ok || ref.CloudName != "dev" {
		return zero, fmt.Errorf("%w: unusable", openstack.ErrCredentials)
	}
	if err := openstack.CheckSecret(ref, s.Data); err != nil {
		return zero, err // a key that names a file, refused as the Factory refuses it
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

// newNamespace creates a namespace for one test, with the credentials Secret in it: a
// department that brings its own credentials (cloudCredentialsRef).
func newNamespace() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "test-"}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	Expect(k8s.Create(ctx, adminSecret(ns.Name, goodSecret))).To(Succeed())
	return ns.Name
}

// newDepartment creates a namespace for one test that the shared Cloud admits, with no
// Secret in it: a department that uses the platform team's Cloud (cloudRef).
func newDepartment() string {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "dept-", Labels: map[string]string{departmentLabel: "true"}}}
	Expect(k8s.Create(ctx, ns)).To(Succeed())
	return ns.Name
}

// adminSecret is a clouds.yaml Secret the fake connector accepts.
func adminSecret(ns, name string) *corev1.Secret {
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Data:       map[string][]byte{openstack.CloudsYAMLKey: []byte("clouds: {dev: {}}")},
	}
}

// cloudCredentials is where a Cloud naming Secret name finds its credentials.
func cloudCredentials(name string) openstack.CredentialsRef {
	return openstack.CredentialsRef{Namespace: operatorNamespace, SecretName: name, CloudName: "dev"}
}
