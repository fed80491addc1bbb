package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// nbTask is work that runs in the background while other work goes on: one attack of
// the noisy department, or one piece of the calm department's work. Its own Gomega
// records the first failure instead of failing whichever spec runs at the time; an It
// reports it with expect.
type nbTask struct {
	name string
	done chan struct{}

	mu      sync.Mutex
	failure string
	notes   []string
}

// nbStop unwinds a task at its first failure.
type nbStop struct{}

// nbGo starts work in the background as a task.
func nbGo(name string, work func(g Gomega, t *nbTask)) *nbTask {
	t := &nbTask{name: name, done: make(chan struct{})}
	g := NewGomega(func(message string, _ ...int) {
		t.fail(message)
		panic(nbStop{})
	})
	g.SetDefaultEventuallyTimeout(2 * time.Minute)
	g.SetDefaultEventuallyPollingInterval(500 * time.Millisecond)
	g.SetDefaultConsistentlyDuration(2 * resyncPeriod)
	g.SetDefaultConsistentlyPollingInterval(time.Second)
	go func() {
		defer close(t.done)
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(nbStop); !ok {
					t.fail(fmt.Sprintf("panic: %v\n%s", r, debug.Stack()))
				}
			}
		}()
		work(g, t)
	}()
	return t
}

func (t *nbTask) fail(message string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.failure == "" {
		t.failure = message
	}
}

// note records a measurement, printed when the task is reported.
func (t *nbTask) note(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.notes = append(t.notes, fmt.Sprintf(format, args...))
}

// finished reports whether the task is over, waiting at most timeout.
func (t *nbTask) finished(timeout time.Duration) bool {
	select {
	case <-t.done:
		return true
	case <-time.After(timeout):
		return false
	}
}

// expect waits for the task, at most timeout, prints its notes, and fails the spec with
// the task's failure.
func (t *nbTask) expect(timeout time.Duration) {
	over := t.finished(timeout)
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, n := range t.notes {
		GinkgoWriter.Printf("%s: %s\n", t.name, n)
		AddReportEntry(t.name, n)
	}
	Expect(over).To(BeTrue(), "%s did not finish within %s", t.name, timeout)
	Expect(t.failure).To(BeEmpty(), "%s", t.name)
}

// nbTryApply applies a manifest with kubectl, safely from any goroutine.
func nbTryApply(dir, doc string) (string, error) {
	f, err := os.CreateTemp(dir, "manifest-*.yaml")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.Remove(f.Name()) }()
	if _, err := f.WriteString(doc); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	return tryKubectl("apply", "-f", f.Name())
}

// nbKubectl runs kubectl and fails g on error.
func nbKubectl(g Gomega, args ...string) string {
	out, err := tryKubectl(args...)
	g.Expect(err).NotTo(HaveOccurred(), "kubectl %s: %s", strings.Join(args, " "), out)
	return out
}

// nbMemory reads the resident memory of a running process from /proc, now and at its
// peak.
func nbMemory(g Gomega, pid int) (rss, peak resource.Quantity) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	g.Expect(err).NotTo(HaveOccurred())
	for _, line := range strings.Split(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 1 && fields[0] == "State:" {
			g.Expect(fields[1]).NotTo(Equal("Z"), "the manager (PID %d) has exited", pid)
		}
		if len(fields) != 3 || fields[2] != "kB" {
			continue
		}
		kb, err := strconv.ParseInt(fields[1], 10, 64)
		g.Expect(err).NotTo(HaveOccurred())
		switch fields[0] {
		case "VmRSS:":
			rss = *resource.NewQuantity(kb*1024, resource.BinarySI)
		case "VmHWM:":
			peak = *resource.NewQuantity(kb*1024, resource.BinarySI)
		}
	}
	g.Expect(rss.IsZero() || peak.IsZero()).To(BeFalse(), "no VmRSS or VmHWM in /proc/%d/status", pid)
	return rss, peak
}

// nbChartMemoryLimit is the manager's memory limit as the chart's values set it.
func nbChartMemoryLimit() resource.Quantity {
	data, err := os.ReadFile(filepath.Join(repoRoot, "charts", "whitehall-operator", "values.yaml"))
	Expect(err).NotTo(HaveOccurred())
	var values struct {
		Resources struct {
			Limits struct {
				Memory string `json:"memory"`
			} `json:"limits"`
		} `json:"resources"`
	}
	Expect(yaml.Unmarshal(data, &values)).To(Succeed())
	limit, err := resource.ParseQuantity(values.Resources.Limits.Memory)
	Expect(err).NotTo(HaveOccurred(), "resources.limits.memory of the chart's values")
	return limit
}

// nbMiB formats a quantity of bytes in MiB.
func nbMiB(q resource.Quantity) string {
	return fmt.Sprintf("%.1f MiB", float64(q.Value())/(1<<20))
}
