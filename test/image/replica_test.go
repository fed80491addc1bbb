package image

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// replicaNames are the containers' names (and hostnames, as a Pod's name is its
// hostname): the Lease's holderIdentity starts with one of them.
var replicaNames = []string{"whitehall-operator-image-test-a", "whitehall-operator-image-test-b"}

// podSpec is what the chart's Deployment says about the manager container, as podman
// needs it.
type podSpec struct {
	image          string
	args           []string
	env            []string // NAME=value, resolved as kubelet resolves them
	user           string   // uid:gid
	flags          []string // podman run flags for the security context, volumes and limits
	grace          time.Duration
	serviceAccount string
	metricsPort    int
	healthPort     int
}

// podSpecOf translates the Deployment's Pod template into podman terms. Anything in
// it that has no translation here fails the test, so the chart cannot drift from what
// is proven.
func podSpecOf(d *appsv1.Deployment) podSpec {
	tpl := d.Spec.Template.Spec
	Expect(tpl.Containers).To(HaveLen(1))
	c := tpl.Containers[0]
	sc, psc := c.SecurityContext, tpl.SecurityContext
	Expect(sc).NotTo(BeNil())
	Expect(psc).NotTo(BeNil())
	p := podSpec{image: c.Image, args: c.Args, serviceAccount: tpl.ServiceAccountName,
		grace: time.Duration(*tpl.TerminationGracePeriodSeconds) * time.Second}
	Expect(c.Command).To(BeEmpty(), "the chart runs the image's entrypoint")

	Expect(sc.RunAsUser).NotTo(BeNil())
	Expect(sc.RunAsGroup).NotTo(BeNil())
	p.user = fmt.Sprintf("%d:%d", *sc.RunAsUser, *sc.RunAsGroup)
	Expect(*sc.RunAsNonRoot).To(BeTrue())
	Expect(*sc.ReadOnlyRootFilesystem).To(BeTrue())
	Expect(*sc.AllowPrivilegeEscalation).To(BeFalse())
	Expect(*sc.Privileged).To(BeFalse())
	Expect(sc.Capabilities.Drop).To(ConsistOf(corev1.Capability("ALL")))
	Expect(sc.Capabilities.Add).To(BeEmpty())
	Expect(sc.SeccompProfile.Type).To(Equal(corev1.SeccompProfileTypeRuntimeDefault)) // podman's default profile
	p.flags = []string{"--user", p.user, "--read-only", "--read-only-tmpfs=false", "--cap-drop=ALL",
		"--security-opt", "no-new-privileges", "--group-add", strconv.FormatInt(*psc.FSGroup, 10)}
	if mem, ok := c.Resources.Limits[corev1.ResourceMemory]; ok {
		p.flags = append(p.flags, "--memory", strconv.FormatInt(mem.Value(), 10))
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range tpl.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		v := volumes[m.Name]
		Expect(v.EmptyDir).NotTo(BeNil(), "volume %s: only emptyDir volumes are translated", m.Name)
		opts := "rw,mode=1777"
		if v.EmptyDir.SizeLimit != nil {
			opts += ",size=" + strconv.FormatInt(v.EmptyDir.SizeLimit.Value(), 10)
		}
		p.flags = append(p.flags, "--tmpfs", m.MountPath+":"+opts)
	}

	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			p.env = append(p.env, e.Name+"="+e.Value)
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace":
			p.env = append(p.env, e.Name+"="+d.Namespace)
		case e.ValueFrom.ResourceFieldRef != nil && e.ValueFrom.ResourceFieldRef.Resource == "limits.memory":
			mem := c.Resources.Limits[corev1.ResourceMemory]
			p.env = append(p.env, e.Name+"="+strconv.FormatInt(mem.Value(), 10))
		default:
			Fail(fmt.Sprintf("env %s: no translation for %+v", e.Name, e.ValueFrom))
		}
	}
	for _, port := range c.Ports {
		switch port.Name {
		case "https":
			p.metricsPort = int(port.ContainerPort)
		case "health":
			p.healthPort = int(port.ContainerPort)
		}
	}
	Expect(p.metricsPort).NotTo(BeZero())
	Expect(p.healthPort).NotTo(BeZero())
	Expect(p.args).To(ContainElements("--leader-elect",
		"--metrics-bind-address=:"+strconv.Itoa(p.metricsPort), "--health-probe-bind-address=:"+strconv.Itoa(p.healthPort)))
	return p
}

// replica is one manager container, as one Pod of the Deployment.
type replica struct {
	name        string
	metricsPort int
	healthPort  int
	logPath     string
	cmd         *exec.Cmd
	exited      chan struct{}
	started     time.Time
}

// startReplica runs the image as the chart's Pod: podman run in the foreground, its
// output in .local/image-test/<name>-<n>.log. The host network is shared, where each
// Pod would have its own: replica i serves metrics and probes on the chart's ports
// plus i.
func startReplica(i int) *replica {
	r := &replica{name: replicaNames[i], metricsPort: pod.metricsPort + i, healthPort: pod.healthPort + i, exited: make(chan struct{})}
	for _, port := range []int{r.metricsPort, r.healthPort} {
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		Expect(err).NotTo(HaveOccurred(), "port %d is taken: the container could not bind it", port)
		Expect(l.Close()).To(Succeed())
	}
	_ = exec.Command("podman", "rm", "--force", "--time=0", r.name).Run()
	args := []string{"run", "--name", r.name, "--hostname", r.name, "--network=host", "--stop-timeout", strconv.Itoa(int(pod.grace.Seconds())),
		"--volume", saDir + ":" + saMount + ":ro"}
	args = append(args, pod.flags...)
	apiserver, err := url.Parse(cp.Config.Host)
	Expect(err).NotTo(HaveOccurred())
	host, port := apiserver.Hostname(), apiserver.Port()
	// What kubelet sets for the kubernetes Service; here the API server itself.
	for _, e := range append([]string{"KUBERNETES_SERVICE_HOST=" + host, "KUBERNETES_SERVICE_PORT=" + port}, pod.env...) {
		args = append(args, "--env", e)
	}
	args = append(args, pod.image)
	for _, a := range pod.args {
		switch {
		case strings.HasPrefix(a, "--metrics-bind-address="):
			a = fmt.Sprintf("--metrics-bind-address=:%d", r.metricsPort)
		case strings.HasPrefix(a, "--health-probe-bind-address="):
			a = fmt.Sprintf("--health-probe-bind-address=:%d", r.healthPort)
		}
		args = append(args, a)
	}
	n, _ := filepath.Glob(filepath.Join(logDir, r.name+"-*.log"))
	r.logPath = filepath.Join(logDir, fmt.Sprintf("%s-%d.log", r.name, len(n)+1))
	logFile, err := os.Create(r.logPath)
	Expect(err).NotTo(HaveOccurred())
	r.cmd = exec.Command("podman", args...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	GinkgoWriter.Printf("podman %s\n", strings.Join(args, " "))
	r.started = time.Now()
	Expect(r.cmd.Start()).To(Succeed())
	go func() {
		defer close(r.exited)
		_ = r.cmd.Wait()
		_ = logFile.Close()
	}()
	return r
}

// signal sends sig to the manager (podman kill, as kubelet signals a container).
func (r *replica) signal(sig string) time.Time {
	Eventually(func() error { return exec.Command("podman", "kill", "--signal", sig, r.name).Run() }).WithTimeout(10 * time.Second).Should(Succeed())
	return time.Now()
}

// waitExit waits at most timeout for the container to end and returns its exit code.
func (r *replica) waitExit(timeout time.Duration) (int, error) {
	select {
	case <-r.exited:
		return r.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		return -1, errors.New(r.name + " still runs")
	}
}

func (r *replica) running() bool {
	select {
	case <-r.exited:
		return false
	default:
		return true
	}
}

func (r *replica) log() string {
	data, err := os.ReadFile(r.logPath)
	Expect(err).NotTo(HaveOccurred())
	return string(data)
}

// leaseHolder returns the holderIdentity of the manager's Lease ("" when released or
// missing) and the Lease's duration.
func leaseHolder(g Gomega) (string, time.Duration) {
	lease := &coordinationv1.Lease{}
	err := k8s.Get(ctx, client.ObjectKey{Namespace: namespace, Name: leaseName}, lease)
	if client.IgnoreNotFound(err) != nil {
		g.Expect(err).NotTo(HaveOccurred())
	}
	var holder string
	var duration time.Duration
	if lease.Spec.HolderIdentity != nil {
		holder = *lease.Spec.HolderIdentity
	}
	if lease.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return holder, duration
}

// leader returns the replica whose name the Lease's holder starts with, or nil.
func leader(g Gomega, replicas ...*replica) *replica {
	holder, _ := leaseHolder(g)
	for _, r := range replicas {
		if r != nil && strings.HasPrefix(holder, r.name+"_") {
			return r
		}
	}
	return nil
}
