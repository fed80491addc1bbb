// Package image runs the operator image (make image) with podman the way the Helm chart
// runs its pod: the chart is installed into a local control plane (no kubelet runs
// it), and its Deployment's image, arguments, environment, security context, volumes
// and termination grace period become podman flags; the chart's ServiceAccount token is
// mounted where kubelet mounts it. The container reconciles against the real OpenStack
// of hack/dev-cloud.
package image

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
	"github.com/whitehall-cloud/whitehall-operator/test/controlplane"
)

const (
	// release and namespace of the chart; the release name holds the chart name, so
	// every object is called whitehall-operator.
	release   = "whitehall-operator"
	namespace = "whitehall-system"
	fullname  = "whitehall-operator"
	// leaseName is the manager's LeaderElectionID.
	leaseName = "whitehall-operator.whitehall.cloud"
	// saMount is where kubelet mounts a Pod's ServiceAccount token, CA and namespace.
	saMount = "/var/run/secrets/kubernetes.io/serviceaccount"
)

var (
	ctx        context.Context
	cancel     context.CancelFunc
	cp         *controlplane.ControlPlane
	k8s        client.Client
	admin      *cloudtest.Admin
	kubeconfig string
	kubectlBin string
	repoRoot   string
	img        string // the image under test (make image's IMG)
	pod        podSpec
	saDir      string // the chart ServiceAccount's token, ca.crt and namespace
	logDir     string
)

func TestImage(t *testing.T) {
	RegisterFailHandler(Fail)
	SetDefaultEventuallyTimeout(2 * time.Minute)
	SetDefaultEventuallyPollingInterval(250 * time.Millisecond)
	RunSpecs(t, "image suite")
}

var _ = BeforeSuite(func() {
	ctx, cancel = context.WithCancel(context.Background())
	var err error
	repoRoot, err = filepath.Abs(filepath.Join("..", ".."))
	Expect(err).NotTo(HaveOccurred())
	for _, v := range []string{"KUBEBUILDER_ASSETS", "OS_CLIENT_CONFIG_FILE", "HELM", "IMG", "VERSION", "REVISION"} {
		Expect(os.Getenv(v)).NotTo(BeEmpty(), "%s is not set; run through make test-image", v)
	}
	img = os.Getenv("IMG")
	kubectlBin = filepath.Join(os.Getenv("KUBEBUILDER_ASSETS"), "kubectl")
	Expect(exec.Command("podman", "image", "exists", img).Run()).To(Succeed(), "%s is not built; make image", img)
	logDir = filepath.Join(repoRoot, ".local", "image-test")
	Expect(os.RemoveAll(logDir)).To(Succeed())
	Expect(os.MkdirAll(logDir, 0o755)).To(Succeed())
	for _, r := range replicaNames {
		_ = exec.Command("podman", "rm", "--force", "--time=0", r).Run() // an interrupted run's
	}

	By("opening an admin session on the dev cloud")
	admin, err = cloudtest.Open(ctx, os.Getenv("OS_CLIENT_CONFIG_FILE"), "dev")
	Expect(err).NotTo(HaveOccurred(), "is the dev cloud up? (make dev-cloud)")
	Expect(admin.DeleteOwnedProjects(ctx, sampleProjects...)).To(Succeed())
	Expect(admin.DeleteOwnedProjects(ctx, burstProject)).To(Succeed())

	By("starting a local control plane")
	cp, err = controlplane.Start(controlplane.Options{})
	Expect(err).NotTo(HaveOccurred())
	kubeconfig, err = cp.WriteAdminKubeconfig(GinkgoT().TempDir())
	Expect(err).NotTo(HaveOccurred())
	k8s, err = cp.Client()
	Expect(err).NotTo(HaveOccurred())

	By("installing the chart with its default values")
	// But the NetworkPolicy, on by default, which needs the cluster's addresses: podman
	// enforces none, and the test chart suite checks it.
	out, err := exec.CommandContext(ctx, os.Getenv("HELM"), "install", release, filepath.Join(repoRoot, "charts", "whitehall-operator"),
		"--namespace", namespace, "--create-namespace", "--kubeconfig", kubeconfig, "--timeout", "60s",
		"--set", "networkPolicy.enabled=false").CombinedOutput()
	Expect(err).NotTo(HaveOccurred(), "helm install: %s", out)
	kubectl("wait", "--for=condition=Established", "crd", "--all", "--timeout=60s")
	deploy := &appsv1.Deployment{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: fullname}, deploy)).To(Succeed())
	pod = podSpecOf(deploy)

	By("giving the operator its admin Secret, the Cloud and the department namespaces")
	kubectl("-n", namespace, "create", "secret", "generic", "openstack-admin", "--from-file=clouds.yaml="+os.Getenv("OS_CLIENT_CONFIG_FILE"))
	kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "cloud_whitehall.yaml"))
	kubectl("apply", "-f", filepath.Join(repoRoot, "config", "samples", "namespaces.yaml"))

	By("mounting the chart's ServiceAccount token as kubelet would")
	saDir = serviceAccountMount(pod.serviceAccount)
})

var _ = AfterSuite(func() {
	for _, r := range replicaNames {
		_ = exec.Command("podman", "rm", "--force", "--time=0", r).Run()
	}
	if cp != nil {
		Expect(cp.Stop()).To(Succeed())
	}
	if cancel != nil {
		cancel()
	}
})

// serviceAccountMount writes what kubelet mounts at saMount for a Pod of ServiceAccount
// name: a bound token (TokenRequest), the API server's CA and the namespace. The
// manager finds them as in a cluster: its client, and the Lease's namespace.
func serviceAccountMount(name string) string {
	sa := &corev1.ServiceAccount{}
	Expect(k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, sa)).To(Succeed())
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](7200)}}
	Expect(k8s.SubResource("token").Create(ctx, sa, tr)).To(Succeed())
	dir := filepath.Join(GinkgoT().TempDir(), "serviceaccount")
	Expect(os.Mkdir(dir, 0o755)).To(Succeed())
	for file, content := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": cp.Config.CAData, "namespace": []byte(namespace)} {
		Expect(os.WriteFile(filepath.Join(dir, file), content, 0o644)).To(Succeed())
	}
	return dir
}

// kubectl runs kubectl against the local control plane as an admin and returns its
// output; it fails the test on error.
func kubectl(args ...string) string {
	out, err := tryKubectl(args...)
	Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

func tryKubectl(args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, kubectlBin, append([]string{"--kubeconfig", kubeconfig}, args...)...).CombinedOutput()
	return string(out), err
}

// apply applies a manifest with kubectl.
func apply(doc string) {
	path := filepath.Join(GinkgoT().TempDir(), "manifest.yaml")
	Expect(os.WriteFile(path, []byte(doc), 0o644)).To(Succeed())
	kubectl("apply", "-f", path)
}

// podman runs podman and returns its stdout; it fails the test on error.
func podman(args ...string) string {
	cmd := exec.CommandContext(ctx, "podman", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	Expect(err).NotTo(HaveOccurred(), "podman %s: %s", strings.Join(args, " "), stderr.String())
	return strings.TrimSpace(string(out))
}

func formatDuration(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }
