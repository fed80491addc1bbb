package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// cluster is the local control plane (envtest: kube-apiserver and etcd) the operator
// runs against.
type cluster struct {
	env        *envtest.Environment
	k8s        client.WithWatch
	kubeconfig string
	kubectlBin string
	repoRoot   string
}

func startCluster(ctx context.Context, repoRoot, workDir string) (*cluster, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	if assets == "" {
		return nil, fmt.Errorf("KUBEBUILDER_ASSETS must name the control-plane binaries; run through make bench")
	}
	c := &cluster{env: &envtest.Environment{}, kubectlBin: filepath.Join(assets, "kubectl"), repoRoot: repoRoot}
	cfg, err := c.env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting the control plane: %w", err)
	}
	// Bulk creation and status polling of hundreds of objects: no client-side throttling.
	cfg.QPS, cfg.Burst = 500, 1000
	user, err := c.env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, err
	}
	data, err := user.KubeConfig()
	if err != nil {
		return c, err
	}
	c.kubeconfig = filepath.Join(workDir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, data, 0o600); err != nil {
		return c, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return c, err
	}
	if err := whv1.AddToScheme(scheme); err != nil {
		return c, err
	}
	if c.k8s, err = client.NewWithWatch(cfg, client.Options{Scheme: scheme}); err != nil {
		return c, err
	}
	if _, err := c.kubectl(ctx, "apply", "--server-side", "-f", filepath.Join(repoRoot, "config", "crd", "bases")); err != nil {
		return c, err
	}
	if _, err := c.kubectl(ctx, "wait", "--for=condition=Established", "crd", "--all", "--timeout=60s"); err != nil {
		return c, err
	}
	return c, nil
}

func (c *cluster) stop() {
	if c != nil && c.env != nil {
		_ = c.env.Stop()
	}
}

func (c *cluster) kubectl(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, c.kubectlBin, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// namespace creates a namespace with a Secret named secretName holding cloudsYAML.
func (c *cluster) namespace(ctx context.Context, name, secretName string, cloudsYAML []byte) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{benchLabel: "true"}}}
	if err := c.k8s.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	s := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: name, Name: secretName},
		Data:       map[string][]byte{"clouds.yaml": cloudsYAML},
	}
	if err := c.k8s.Create(ctx, s); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return nil
}

// manager is one run of the operator binary.
type manager struct {
	cmd         *exec.Cmd
	log         *os.File
	metricsAddr string
	done        chan struct{}
}

type managerOpts struct {
	bin, kubeconfig, logPath string
	resync                   time.Duration
	concurrency, creates     int
	usageInterval            time.Duration // zero: the operator's default
	shard                    string        // --shard; empty: the default shard
	leaderElect              bool          // --leader-elect: shards hand namespaces over only between live leaders
}

func startManager(o managerOpts) (*manager, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	log, err := os.Create(o.logPath)
	if err != nil {
		return nil, err
	}
	m := &manager{log: log, metricsAddr: fmt.Sprintf("127.0.0.1:%d", port), done: make(chan struct{})}
	m.cmd = exec.Command(o.bin, "--kubeconfig", o.kubeconfig,
		"--resync-period", o.resync.String(),
		// Plain HTTP: the benchmark reads its own loopback operator, and a TokenReview and
		// SubjectAccessReview per scrape would add to the API-server load it measures.
		"--metrics-bind-address", m.metricsAddr, "--metrics-secure=false", "--health-probe-bind-address", "0",
		"--concurrency", fmt.Sprint(o.concurrency),
		"--max-concurrent-server-creates", fmt.Sprint(o.creates),
		// The dev cloud's Keystone is plain http, and the departments bring their own clouds.yaml.
		"--allow-http-auth-url")
	if o.usageInterval > 0 {
		m.cmd.Args = append(m.cmd.Args, "--usage-interval", o.usageInterval.String())
	}
	if o.shard != "" {
		m.cmd.Args = append(m.cmd.Args, "--shard", o.shard)
	}
	if o.leaderElect {
		m.cmd.Args = append(m.cmd.Args, "--leader-elect")
	}
	m.cmd.Stdout, m.cmd.Stderr = log, log
	m.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := m.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = m.cmd.Wait(); close(m.done) }()
	// Ready when /metrics answers.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := m.scrape(); err == nil {
			return m, nil
		}
		select {
		case <-m.done:
			return nil, fmt.Errorf("the operator exited at start; see %s", o.logPath)
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			m.stop()
			return nil, fmt.Errorf("the operator's /metrics did not answer within 60 s; see %s", o.logPath)
		}
	}
}

func (m *manager) pid() int { return m.cmd.Process.Pid }

func (m *manager) scrape() (scrape, error) {
	return scrapeURL("http://" + m.metricsAddr + "/metrics")
}

// stop interrupts the operator and waits for it (killing it after 30 s).
func (m *manager) stop() {
	if m == nil || m.cmd == nil || m.cmd.Process == nil {
		return
	}
	_ = m.cmd.Process.Signal(os.Interrupt)
	select {
	case <-m.done:
	case <-time.After(30 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
	}
	_ = m.log.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
