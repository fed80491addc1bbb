package main

import (
	"fmt"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

type breakdown struct {
	title   string
	total   int
	perDept int // departments to divide by (0: none)
	rows    []endpointCount
}

type report struct {
	cfg        config
	build      string
	started    time.Time
	converge   []*convergeResult
	steady     *steadyResult
	peaks      []*peakResult
	usage      *usageResult
	burst      *burstResult
	mem        *memResult
	shards     *shardResult
	idleRSS    int
	breakdowns []breakdown
	failures   []string
	total      time.Duration
}

func newReport(cfg config) *report {
	build := os.Getenv("BENCH_BUILD") // set by hack/bench.sh when it builds the operator
	if build == "" {
		build = gitDescribe(cfg.repoRoot)
	}
	return &report{cfg: cfg, started: time.Now(), build: build}
}

func (r *report) addBreakdown(title string, events []event, perDept int) {
	r.breakdowns = append(r.breakdowns, breakdown{title: title, total: len(events), perDept: perDept, rows: byEndpoint(events)})
}

func secs(d time.Duration) string {
	if d == 0 {
		return "–"
	}
	if d < 0 {
		return "-" + secs(-d)
	}
	if d < time.Second {
		return fmt.Sprintf("%d ms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

func ratio(a, b time.Duration) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func ratioInt(a, b int) string {
	if a <= 0 || b <= 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", float64(a)/float64(b))
}

func mib(kib int) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

func num(f float64) string {
	switch {
	case math.IsNaN(f):
		return "–"
	case math.IsInf(f, 1):
		return "∞"
	}
	return fmt.Sprintf("%.2f", f)
}

// services are the OpenStack services a department's objects use, in report order.
var services = []string{"identity", "compute", "network", "block-storage"}

// markdown renders the whole report.
func (r *report) markdown() string {
	var sb strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&sb, format+"\n", args...) }
	c := r.cfg
	w("# whitehall-operator benchmark, %s", r.started.Format("2006-01-02 15:04:05 MST"))
	w("")
	w("Operator %s. %d CPUs. Concurrency %d (operator `--concurrency` and `--max-concurrent-server-creates`; baseline workers). "+
		"Operator defaults otherwise (`--openstack-qps`/`--openstack-burst` included). "+
		"Departments spread over %d namespaces (one credentials Secret each). Calls %s. Total bench time %s.",
		r.build, runtime.NumCPU(), c.concurrency, c.namespaces,
		map[bool]string{true: "recorded per endpoint by a proxy between every client and the cloud", false: "counted from the operator's metrics only (-no-proxy)"}[c.proxy],
		r.total.Round(time.Second))
	w("")
	w("## Summary")
	w("")
	w("| measurement | operator | plain gophercloud | operator ÷ baseline | target |")
	w("|---|---|---|---|---|")
	for _, cr := range r.converge {
		o, b := cr.op, cr.base
		if o.incomplete != "" || b.incomplete != "" {
			w("| a. converge %d departments: DID NOT FINISH (see Failures) | %s | %s | | |", cr.n, secs(o.wall), secs(b.wall))
			continue
		}
		w("| a. converge %d departments: wall until all Ready | %s | %s | %s | ≤ 1.05× |", cr.n, secs(o.wall), secs(b.wall), ratio(o.wall, b.wall))
		w("| a. converge %d: OpenStack API calls | %d (%.1f per dept) | %d (%.1f per dept) | %s | |", cr.n,
			o.calls, float64(o.calls)/float64(cr.n), b.calls, float64(b.calls)/float64(cr.n), ratioInt(o.calls, b.calls))
		oi, bi := identityCalls(o.byService), identityCalls(b.byService)
		w("| a. converge %d: Keystone (identity) calls, the cloud's bottleneck | %d (%.1f per dept) | %d (%.1f per dept) | %s | |", cr.n,
			oi, float64(oi)/float64(cr.n), bi, float64(bi)/float64(cr.n), ratioInt(oi, bi))
		w("| a. converge %d: median call latency | %s | %s | | |", cr.n, secs(o.median), secs(b.median))
		w("| a. converge %d: floor = calls × median ÷ %d | %s (wall = %s floor) | %s (wall = %s floor) | %s | |", cr.n, c.concurrency,
			secs(o.floor(c.concurrency)), ratio(o.wall, o.floor(c.concurrency)), secs(b.floor(c.concurrency)), ratio(b.wall, b.floor(c.concurrency)),
			ratio(o.floor(c.concurrency), b.floor(c.concurrency)))
		w("| a. delete %d departments | %s, %d calls, %d projects left | %s, %d calls | %s | |", cr.n,
			secs(o.deleteWall), o.deleteCalls, o.leftover, secs(b.deleteWall), b.deleteCalls, ratio(o.deleteWall, b.deleteWall))
	}
	if s := r.steady; s != nil {
		var reads, writes []string
		total, cloud := 0.0, 0
		for _, svc := range services {
			rd, wr := s.perDepartment(svc)
			reads = append(reads, num(rd))
			writes = append(writes, num(wr))
			total += rd
			cloud += s.cloudReads()[svc]
		}
		w("| b. steady state, %d depts, resync %s: writes per department per resync (identity / compute / network / block-storage) | %s | | | 0 |",
			s.n, s.resync, strings.Join(writes, " / "))
		w("| b. reads per department per resync (identity / compute / network / block-storage), and the listings of the whole cloud per resync | %s = %s per department, + %s per cloud | | | ≤ 2 + a constant |",
			strings.Join(reads, " / "), num(total), num(float64(cloud)/s.periods()))
		if rs := s.restart; rs.window > 0 {
			w("| b. after a restart, %d depts: calls in the first resync period (%s), and the most in one second | %d, peak %d/s | | | peak ≤ --openstack-qps (50) |",
				s.n, rs.window.Round(time.Second), rs.calls, rs.peak)
		}
		if rs := s.restartBefore; rs.window > 0 {
			w("| b. the same restart with the earlier build (-restart-before %s) | %d, peak %d/s | | | |",
				filepath.Base(r.cfg.restartBefore), rs.calls, rs.peak)
		}
	}
	for _, p := range r.peaks {
		w("| c. peak switch, %d quotas: boundary → Nova acknowledged the last project's peak write (proxy); plain gophercloud: start → its last of the same writes | %s (median %s, %d writes; sent from %s to %s) | %s | %s | ≤ 1.15× |",
			p.n, secs(p.ackLast), secs(p.ackMedian), p.acks, secs(p.sentFirst), secs(p.sentLast), secs(p.floor), ratio(p.ackLast, p.floor))
		w("| c. peak switch, %d quotas: boundary → the harness read every project's Nova cores at the peak | %s (median %s, first %s; one read pass %s) | | | |",
			p.n, secs(p.allVisible), secs(p.medianSeen), secs(p.firstSeen), secs(p.passTime))
		w("| c. peak switch %d: operator-side transition lag (boundary → its quota written), mean / max (histogram bucket) | %s s / ≤ %s s (%.0f observations) | | | |",
			p.n, num(p.lagMean), num(p.lagMax), p.lagCount)
	}
	if u := r.usage; u != nil {
		w("| u. one usage read, %d departments metered: every operator OpenStack call from before the read to %s after it | %d (the reader's own: %d os-simple-tenant-usage + %d volume listing; %s; reconciles %s) | | | the reader's 1 + 1, whatever the number of departments |",
			u.n, afterRead, u.total, u.usage, u.volumes, countsOf(u.byService), countsOf(u.reconciles))
	}
	if sh := r.shards; sh != nil {
		if sh.incomplete != "" {
			w("| s. converge %d departments on two shards: DID NOT FINISH (see Failures) | %s | | | |", sh.n, secs(sh.wall))
		} else {
			one := r.oneReplica(sh.n)
			w("| s. converge %d departments on two shards (default and %s, half the namespaces each) against one replica (a) | %s (%d calls: %d + %d) | one replica %s | %s | ≤ 1.00× |",
				sh.n, otherShard, secs(sh.wall), sh.calls, sh.perShard[0], sh.perShard[1], secs(one), ratio(sh.wall, one))
		}
		w("| s. delete %d departments on two shards | %s, %d projects left | | | |", sh.n, secs(sh.deleteWall), sh.leftover)
	}
	if bu := r.burst; bu != nil && bu.op.wall > 0 && bu.base.wall > 0 {
		w("| d. burst 0→%d servers ACTIVE (Nova) | %s | %s | %s | ≤ 1.1× |", bu.servers, secs(bu.op.wall), secs(bu.base.wall), ratio(bu.op.wall, bu.base.wall))
	}
	if m := r.mem; m != nil && m.rssKiB > 0 {
		w("| e. manager RSS with %d objects (%d Tenants with CredentialsError, %d ComputeQuotas and %d TestEnvironments with TenantNotReady: no cloud calls) | %s (VmHWM %s) | | | ≤ 150 MiB |",
			m.objects, m.tenants, m.quota, m.envs, mib(m.rssKiB), mib(m.hwmKiB))
	}
	if r.idleRSS > 0 {
		w("| manager RSS idle (no objects, just started) | %s | | | |", mib(r.idleRSS))
	}
	w("")
	if len(r.failures) > 0 {
		w("## Failures")
		w("")
		for _, f := range r.failures {
			w("- %s", f)
		}
		w("")
	}

	if len(r.converge) > 0 {
		w("## a. Converge N departments")
		w("")
		w("Each department: a Tenant (project, group whitehall-devops with role member) and a ComputeQuota " +
			"(compute cores/instances/ramMiB, network ports/floatingIPs, blockStorage gigabytes, and a peak for the season of c). " +
			"The baseline (test/benchbaseline) logs in, looks the group and role up once, then per department: " +
			"create project, assign role, set Nova, Neutron and Cinder quota. Baseline first, then the operator freshly started; " +
			"the baseline's projects are deleted after the operator's (each deleted project leaves Keystone a revocation event " +
			"that every later token validation scans, so both sides converge on the same cloud state); " +
			"wall time starts before the first object is created (creation included) and ends when all are Ready. " +
			"The floor (calls × median latency ÷ concurrency) assumes latency does not grow with concurrency; on this cloud it does " +
			"(Keystone serialises, so latency at 10 workers is mostly queueing), and wall ÷ floor below 1 means exactly that: " +
			"the baseline measured beside it is the bound that holds. " +
			"CPU: busy time of the whole 2-core machine over the wall time (OpenStack, Kubernetes and the clients share it), and " +
			"the part used by the Kubernetes side — the kube-apiserver and etcd and the manager — which the baseline does not have, " +
			"and the harness's own (for the baseline side that includes the baseline program, which runs inside it).")
		w("")
		w("| N | who | wall | created in | calls | calls by service and method | median latency | floor | CPU: machine / Kubernetes side / harness | delete |")
		w("|---|---|---|---|---|---|---|---|---|---|")
		for _, cr := range r.converge {
			for _, side := range []struct {
				who string
				m   measure
			}{{"operator", cr.op}, {"baseline", cr.base}} {
				m := side.m
				w("| %d | %s | %s | %s | %d | %s | %s (%s) | %s | %s / %s / %s | %s |", cr.n, side.who, secs(m.wall), secs(m.created), m.calls,
					countList(m.byService), secs(m.median), m.medianSource, secs(m.floor(c.concurrency)),
					secs(m.cpu.machine), secs(m.cpu.kube), secs(m.cpu.harness), secs(m.deleteWall))
			}
		}
		w("")
	}
	if s := r.steady; s != nil {
		w("## b. Steady state")
		w("")
		w("The operator restarted with `--resync-period=%s`; after its first pass, %s watched. Reconciles in the window: %s. "+
			"Quota writes: %.0f. OpenStack calls: %d (%s).",
			s.resync, s.window.Round(time.Second), countList(s.reconciles), s.quotaWrites, s.calls, countList(s.byService))
		w("")
		w("| service | reads per department per resync | writes per department per resync | listings of the whole cloud per resync |")
		w("|---|---|---|---|")
		for _, svc := range services {
			rd, wr := s.perDepartment(svc)
			w("| %s | %s | %s | %s |", svc, num(rd), num(wr), num(float64(s.cloudReads()[svc])/s.periods()))
		}
		w("")
		w("Per department: the calls of the window ÷ departments ÷ resync periods in the window (%.2f); a listing of the whole cloud "+
			"(an endpoint that names no project) is counted apart, per resync period: its cost does not grow with departments.", s.periods())
		w("")
	}
	if len(r.peaks) > 0 {
		w("## c. Peak switch")
		w("")
		w("The PeakSeason every ComputeQuota names gets a one-off window (Europe/London local time) opening `lead` after convergence; " +
			"the harness reads each project's Nova cores, one call at a time, until all show the peak. " +
			"Reading is slow next to the switch (a pass over 20 projects takes seconds) and would compete with the writes for Nova, so " +
			"the recording proxy times when Nova answered each of the operator's peak writes — the quota is in OpenStack from that " +
			"instant (column \"Nova acked\") — and the harness reads only after every write was answered, to check the result.")
		w("")
		w("| N | lead | quotas knew the boundary | Nova acked, last / median | last at peak (read) | median | first | early | one read pass | lag mean / max (operator) | quota writes | calls |")
		w("|---|---|---|---|---|---|---|---|---|---|---|---|")
		for _, p := range r.peaks {
			w("| %d | %s | %s before | %s / %s | %s | %s | %s | %d | %s | %s / ≤ %s s | %.0f | %d (%s) |", p.n, secs(p.lead), secs(p.settled),
				secs(p.ackLast), secs(p.ackMedian), secs(p.allVisible), secs(p.medianSeen), secs(p.firstSeen), p.early, secs(p.passTime), num(p.lagMean), num(p.lagMax),
				p.quotaWrites, p.calls, countList(p.byService))
		}
		w("")
	}
	if bu := r.burst; bu != nil {
		w("## d. Burst")
		w("")
		w("Operator: a Tenant with `network: {cidr: 10.60.0.0/24}` and a ComputeQuota raising instances, cores, RAM and ports, both Ready first; " +
			"the clock runs from creating the TestEnvironment until Nova lists every server ACTIVE (the harness lists once a second). " +
			"Baseline: a project with a network, subnet and raised quota prepared untimed, then the servers booted with as many workers, same clock.")
		w("")
		w("Operator reconciles of the TestEnvironment during the burst: %.0f.", bu.opReconciles)
		w("")
		w("| who | 0→%d ACTIVE | calls | median latency | servers seen in ERROR | deleting them |", bu.servers)
		w("|---|---|---|---|---|---|")
		w("| operator | %s (TestEnvironment Ready after %s) | %d (%s) | %s | %d | %s, %d projects left |", secs(bu.op.wall), secs(bu.opReady),
			bu.op.calls, countList(bu.op.byService), secs(bu.op.median), bu.opErrors, secs(bu.op.deleteWall), bu.op.leftover)
		w("| baseline | %s | %d | %s | %d | %s |", secs(bu.base.wall), bu.base.calls, secs(bu.base.median), bu.baseErr, secs(bu.base.deleteWall))
		w("")
	}
	if m := r.mem; m != nil {
		w("## e. Memory")
		w("")
		w("%d Tenants whose Secret names no such cloud, %d ComputeQuotas and %d TestEnvironments naming a missing Tenant, in 10 namespaces; the operator "+
			"was restarted with them in place, reconciled every one in %s with %d OpenStack calls, then settled 20 s. "+
			"VmRSS %s, VmHWM %s (idle, no objects: %s).", m.tenants, m.quota, m.envs, secs(m.settle), m.calls, mib(m.rssKiB), mib(m.hwmKiB), mib(r.idleRSS))
		w("")
	}
	if len(r.breakdowns) > 0 {
		w("## Calls by endpoint")
		w("")
		w("From the recording proxy: IDs shown as {id}, query values dropped. Errors are 4xx/5xx answers.")
		for _, bd := range r.breakdowns {
			w("")
			w("### %s: %d calls", bd.title, bd.total)
			w("")
			if bd.perDept > 0 {
				w("| calls | per dept | median | errors | endpoint |")
				w("|---|---|---|---|---|")
			} else {
				w("| calls | median | errors | endpoint |")
				w("|---|---|---|---|")
			}
			for _, row := range bd.rows {
				if bd.perDept > 0 {
					w("| %d | %.2f | %s | %d | `%s` |", row.Count, float64(row.Count)/float64(bd.perDept), secs(row.Median), row.Errors, row.Key)
				} else {
					w("| %d | %s | %d | `%s` |", row.Count, secs(row.Median), row.Errors, row.Key)
				}
			}
		}
		w("")
	}
	return sb.String()
}

func identityCalls(m map[string]int) int {
	n := 0
	for k, v := range m {
		if strings.HasPrefix(k, "identity ") {
			n += v
		}
	}
	return n
}

// countList writes counts as "key n, key n" in key order.
func countList[V int | float64](m map[string]V) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %.0f", k, float64(m[k])))
	}
	return strings.Join(parts, ", ")
}

func gitDescribe(root string) string {
	out, err := exec.Command("git", "-C", root, "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// write prints the report and saves it as <timestamp>.md and latest.md in dir, naming
// the previous run's file for comparison.
func (r *report) write(dir string) error {
	md := r.markdown()
	fmt.Println(md)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	previous := ""
	if entries, err := filepath.Glob(filepath.Join(dir, "2*.md")); err == nil && len(entries) > 0 {
		slices.Sort(entries)
		previous = entries[len(entries)-1]
	}
	path := filepath.Join(dir, r.started.Format("20060102-150405")+".md")
	if err := os.WriteFile(path, []byte(md), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "latest.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Printf("Results: %s (also %s)\n", path, filepath.Join(dir, "latest.md"))
	if previous != "" {
		fmt.Printf("Previous run (the latest.md before this one): %s\nCompare: diff %s %s\n", previous, previous, path)
	} else {
		fmt.Println("No previous run in", dir)
	}
	return nil
}

// countsOf writes a map of counts as "key n, key n" in key order, leaving zeros out.
func countsOf[V int | float64](m map[string]V) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if m[k] != 0 {
			parts = append(parts, fmt.Sprintf("%s %v", k, m[k]))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
