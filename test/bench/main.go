// Command bench measures the operator against the dev cloud, beside a plain gophercloud
// program doing the same work (test/benchbaseline), and prints a table that
// it also writes to test/bench/results/<timestamp>.md and results/latest.md.
//
// It starts its own control plane (envtest), runs the operator binary, and puts a
// recording proxy between every client and the cloud so it can say which calls the
// operator makes. Run it through `make bench` (hack/bench.sh), which builds what it
// needs and brings the dev cloud up. It is not part of `make test`: it reports numbers,
// it does not pass or fail on them.
//
// Measurements (see -h for the knobs):
//
//	a  converge N departments (Tenant with a group role assignment + ComputeQuota with
//	   compute, network and block-storage fields): wall time until all Ready, OpenStack
//	   calls, median call latency, floor = calls × median ÷ concurrency; the baseline
//	   does the same work with as many workers, in the same run.
//	b  steady state: calls per object per resync with a short resync period.
//	c  peak switch: a one-off PeakSeason window opening shortly after convergence; time
//	   from the boundary until Nova shows the peak for every project.
//	d  burst: a TestEnvironment 0→B servers ACTIVE, and the baseline booting B servers
//	   at the same concurrency.
//	e  the operator's RSS with 10,000 objects (Tenants, ComputeQuotas and
//	   TestEnvironments) that make no cloud calls.
//	s  shards: the largest N departments converged by two operator processes (the
//	   default shard and shard b, half the namespaces labelled whitehall.cloud/shard=b),
//	   against one replica in a, while a's departments are still there (after a).
//	u  one usage read (showback) with the largest N departments of a in the cloud: the
//	   OpenStack calls it costs (one all-projects Nova usage call and one volume listing).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/test/benchbaseline"
	"github.com/whitehall-cloud/whitehall-operator/test/cloudtest"
)

const (
	benchLabel = "whitehall.cloud/bench"
	// Every project a run creates starts with this, so a run that died can be cleaned up
	// by the next one.
	projectPrefix = "whbench-"
	secretName    = "openstack-admin"
)

type config struct {
	sizes     []int
	peakSizes []int
	steadyN   int
	// restartBefore is an earlier operator binary whose restart is measured beside this
	// one's in b (the herd before and after); empty: not measured.
	restartBefore string
	burst         int
	rssObjects    int
	concurrency   int
	resync        time.Duration
	peakLead      time.Duration
	namespaces    int
	phases        string
	outDir        string
	proxy         bool
	cloudsYAML    string
	cloud         string
	managerBin    string
	repoRoot      string
	workDir       string
}

func main() {
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	failed, err := run(ctx, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	if failed {
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("bad number %q in %q", f, s)
		}
		if n > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

func parseFlags() (config, error) {
	var (
		cfg                config
		sizes, peaks       string
		steadyN            int
		burst, rssN, conc  int
		resync, peakLead   string
		namespaces         int
		noProxy            bool
		defaultRoot, _     = filepath.Abs(".")
		defaultResultsPath = filepath.Join("test", "bench", "results")
	)
	flag.StringVar(&sizes, "n", envOr("BENCH_N", "20,200"), "departments to converge, comma-separated (env BENCH_N)")
	flag.StringVar(&peaks, "peak-n", envOr("BENCH_PEAK_N", ""), "sizes among -n that also run the peak switch; default the smallest (20,200 adds ~2 min) (env BENCH_PEAK_N)")
	flag.IntVar(&steadyN, "steady-n", atoiOr(os.Getenv("BENCH_STEADY_N"), 0), "the size among -n that runs the steady state (b); default the smallest (env BENCH_STEADY_N)")
	flag.StringVar(&cfg.restartBefore, "restart-before", os.Getenv("BENCH_RESTART_BEFORE"), "an earlier operator binary: b also measures its restart, after this one's, for the herd before and after (env BENCH_RESTART_BEFORE)")
	flag.IntVar(&burst, "burst", atoiOr(os.Getenv("BENCH_BURST"), 50), "servers in the burst; 0 skips it (env BENCH_BURST)")
	flag.IntVar(&rssN, "rss-objects", atoiOr(os.Getenv("BENCH_RSS_OBJECTS"), 10000), "objects for the RSS measurement; 0 skips it (env BENCH_RSS_OBJECTS)")
	flag.IntVar(&conc, "concurrency", atoiOr(os.Getenv("BENCH_CONCURRENCY"), 10), "operator --concurrency and --max-concurrent-server-creates, and baseline workers (env BENCH_CONCURRENCY)")
	flag.StringVar(&resync, "resync", envOr("BENCH_RESYNC", "20s"), "operator --resync-period for the steady-state measurement (env BENCH_RESYNC)")
	flag.StringVar(&peakLead, "peak-lead", envOr("BENCH_PEAK_LEAD", "20s"), "how long after convergence the peak window opens, plus 150 ms per quota for the reconcile the season edit causes (env BENCH_PEAK_LEAD)")
	flag.IntVar(&namespaces, "namespaces", atoiOr(os.Getenv("BENCH_NAMESPACES"), 10), "namespaces (each with its own credentials Secret) the departments are spread over (env BENCH_NAMESPACES)")
	flag.StringVar(&cfg.phases, "phases", envOr("BENCH_PHASES", "abcdesu"), "measurements to run: any of a (converge), b (steady), c (peak), d (burst), e (RSS), s (two shards, the largest -n, after a), u (one usage read with the largest -n, after a) (env BENCH_PHASES)")
	flag.StringVar(&cfg.outDir, "out", envOr("BENCH_OUT", defaultResultsPath), "directory for <timestamp>.md and latest.md")
	flag.BoolVar(&noProxy, "no-proxy", os.Getenv("BENCH_NO_PROXY") != "", "talk to the cloud directly: no per-endpoint call breakdown (env BENCH_NO_PROXY)")
	flag.StringVar(&cfg.cloudsYAML, "clouds-yaml", os.Getenv("OS_CLIENT_CONFIG_FILE"), "the dev cloud's clouds.yaml (env OS_CLIENT_CONFIG_FILE)")
	flag.StringVar(&cfg.cloud, "cloud", envOr("OS_CLOUD", "dev"), "cloud in clouds.yaml")
	flag.StringVar(&cfg.managerBin, "manager", os.Getenv("MANAGER_BIN"), "the operator binary (env MANAGER_BIN)")
	flag.StringVar(&cfg.repoRoot, "repo", envOr("REPO_ROOT", defaultRoot), "the repository root (CRDs are read from config/crd/bases)")
	flag.Parse()

	var err error
	if cfg.sizes, err = parseInts(sizes); err != nil {
		return cfg, err
	}
	if len(cfg.sizes) > 0 {
		cfg.steadyN = slices.Min(cfg.sizes)
	}
	if peaks == "" {
		cfg.peakSizes = []int{cfg.steadyN}
	} else if cfg.peakSizes, err = parseInts(peaks); err != nil {
		return cfg, err
	}
	if steadyN > 0 {
		if !slices.Contains(cfg.sizes, steadyN) {
			return cfg, fmt.Errorf("-steady-n %d is not one of -n %v", steadyN, cfg.sizes)
		}
		cfg.steadyN = steadyN
	}
	cfg.burst, cfg.rssObjects, cfg.concurrency, cfg.namespaces = burst, rssN, max(conc, 1), max(namespaces, 1)
	cfg.proxy = !noProxy
	if cfg.resync, err = time.ParseDuration(resync); err != nil {
		return cfg, err
	}
	if cfg.peakLead, err = time.ParseDuration(peakLead); err != nil {
		return cfg, err
	}
	for _, p := range cfg.phases {
		if !strings.ContainsRune("abcdesu", p) {
			return cfg, fmt.Errorf("unknown phase %q in -phases", p)
		}
	}
	if cfg.cloudsYAML == "" {
		return cfg, errors.New("no clouds.yaml: set OS_CLIENT_CONFIG_FILE or -clouds-yaml (run through make bench)")
	}
	if cfg.managerBin == "" {
		return cfg, errors.New("no operator binary: set MANAGER_BIN or -manager (run through make bench)")
	}
	if !filepath.IsAbs(cfg.outDir) {
		cfg.outDir = filepath.Join(cfg.repoRoot, cfg.outDir)
	}
	return cfg, nil
}

func atoiOr(s string, def int) int {
	if n, err := strconv.Atoi(s); err == nil {
		return n
	}
	return def
}

func (c config) has(phase byte) bool { return strings.IndexByte(c.phases, phase) >= 0 }

// bench holds what every measurement shares.
type bench struct {
	cfg        config
	cl         *cluster
	rec        *recorder
	probe      *benchbaseline.Client // the harness's own reads and clean-ups
	admin      *cloudtest.Admin
	cloudsPath string // the clouds.yaml clients use (through the proxy when it runs)
	cloudsData []byte
	mgr        *manager
	mgrRuns    int
	rep        *report
	started    time.Time
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func run(ctx context.Context, cfg config) (failed bool, err error) {
	b := &bench{cfg: cfg, started: time.Now(), rep: newReport(cfg)}
	if cfg.workDir, err = os.MkdirTemp("", "whitehall-bench-"); err != nil {
		return false, err
	}
	b.cfg.workDir = cfg.workDir
	defer func() { _ = os.RemoveAll(cfg.workDir) }()
	logDir := filepath.Join(cfg.repoRoot, ".local", "bench")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return false, err
	}

	if err := b.setupCloud(ctx); err != nil {
		return false, err
	}
	defer b.rec.closeIfAny()
	defer b.finalCleanup()

	logf("starting a local control plane")
	if b.cl, err = startCluster(ctx, cfg.repoRoot, cfg.workDir); err != nil {
		b.cl.stop()
		return false, err
	}
	defer b.cl.stop()
	defer b.stopManager()
	if err := b.setupNamespaces(ctx); err != nil {
		return false, err
	}

	phase := func(name string, fn func() error) {
		if ctx.Err() != nil {
			return
		}
		logf("── %s", name)
		if err := fn(); err != nil {
			failed = true
			logf("%s FAILED: %v", name, err)
			b.rep.failures = append(b.rep.failures, fmt.Sprintf("%s: %v", name, err))
		}
	}

	for _, n := range cfg.sizes {
		if !cfg.has('a') {
			break
		}
		phase(fmt.Sprintf("a: converge %d departments", n), func() error { return b.converge(ctx, n) })
	}
	if cfg.burst > 0 && cfg.has('d') {
		phase(fmt.Sprintf("d: burst of %d servers", cfg.burst), func() error { return b.burst(ctx, cfg.burst) })
	}
	if cfg.rssObjects > 0 && cfg.has('e') {
		phase(fmt.Sprintf("e: RSS with %d objects", cfg.rssObjects), func() error { return b.memory(ctx, cfg.rssObjects) })
	}
	b.stopManager()
	if ctx.Err() != nil {
		failed = true
		b.rep.failures = append(b.rep.failures, "interrupted: "+ctx.Err().Error())
	}
	b.rep.total = time.Since(b.started)
	return failed, b.rep.write(cfg.outDir)
}

// restartManager (re)starts the operator with a resync period.
func (b *bench) restartManager(resync time.Duration) error {
	return b.restartManagerReading(resync, 0)
}

// restartManagerReading (re)starts the operator with a resync period and a usage
// interval (zero: the operator's default).
func (b *bench) restartManagerReading(resync, usage time.Duration) error {
	return b.restartManagerWith(managerOpts{resync: resync, usageInterval: usage})
}

// restartManagerWith (re)starts the operator with o's resync period, usage interval,
// shard and leader election, and the bench's binary, cluster and concurrency.
func (b *bench) restartManagerWith(o managerOpts) error {
	b.stopManager()
	b.mgrRuns++
	if o.bin == "" {
		o.bin = b.cfg.managerBin
	}
	o.kubeconfig = b.cl.kubeconfig
	o.logPath = filepath.Join(b.cfg.repoRoot, ".local", "bench", fmt.Sprintf("manager-%d.log", b.mgrRuns))
	o.concurrency, o.creates = b.cfg.concurrency, b.cfg.concurrency
	m, err := startManager(o)
	if err != nil {
		return err
	}
	b.mgr = m
	return nil
}

func (b *bench) stopManager() {
	if b.mgr != nil {
		b.mgr.stop()
		b.mgr = nil
	}
}
