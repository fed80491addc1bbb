package e2e

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/test/faultproxy"
)

// The operator reaches the dev cloud through a fault-injecting proxy for the objects of
// one namespace only: its credentials Secret names the proxy's Keystone, and the proxy
// rewrites the catalog, so every service call of these objects goes through it.
var _ = Describe("under 10% faults on every service", Ordered, Label("faults"), func() {
	const (
		ns          = "faults"
		netTenant   = "net"
		envName     = "fenv"
		envReplicas = 5
		// Bounds of the whole Describe: converge, delete, and the checks between.
		convergeTimeout = 4 * time.Minute
		deleteTimeout   = 3 * time.Minute
		// faultsSecret holds the namespace's own clouds.yaml, pointing at the proxy.
		faultsSecret = "department-cloud"
	)
	tenants := []string{"alpha", "bravo", "charlie", "delta", "echo", netTenant}
	var (
		proxy    *faultproxy.Proxy
		watcher  *faultsWatcher
		started  time.Time
		projects = map[string]string{} // tenant → project ID
		envUID   string
	)

	BeforeAll(func() {
		started = time.Now()
		names := make([]string, 0, len(tenants))
		for _, t := range tenants {
			names = append(names, ns+"_"+t)
		}
		Expect(admin.DeleteOwnedProjects(ctx, names...)).To(Succeed(), "leftovers of an earlier run")

		By("starting the fault proxy in front of the dev cloud")
		devCloud := faultsReadCloudsYAML(cloudsYAML)
		seed := uint64(GinkgoRandomSeed())
		logFile, err := os.Create(filepath.Join(repoRoot, ".local", "e2e", "faultproxy.log"))
		Expect(err).NotTo(HaveOccurred())
		var logMu sync.Mutex
		proxy, err = faultproxy.Start(faultsAuthURL(devCloud, "dev"), faultproxy.Config{
			Default:          faultproxy.Uniform(0.10), // 4% 5xx, 2% 429, 2% resets, 2% token expiry; 10% latency
			TokenCreationMax: 0.05,
			AfterUpstream:    0.5,
			MidBodyResets:    0.5,
			RetryAfter:       time.Second,
			LatencyMin:       50 * time.Millisecond,
			LatencyMax:       500 * time.Millisecond,
			MinTokenAge:      2 * time.Second,
			Seed:             seed,
			CoverEveryKind:   true,
			Log: func(line string) {
				logMu.Lock()
				defer logMu.Unlock()
				_, _ = fmt.Fprintln(logFile, line)
			},
		})
		Expect(err).NotTo(HaveOccurred())
		AddReportEntry("fault proxy seed", seed)
		DeferCleanup(func() {
			s := proxy.Stats()
			AddReportEntry("faults injected", s.String())
			AddReportEntry("fault proxy upstreams", fmt.Sprint(proxy.Upstreams()))
			Expect(proxy.Close()).To(Succeed())
			Expect(logFile.Close()).To(Succeed())
		})

		// The department brings its own credentials (spec.cloudCredentialsRef), the one way
		// a Tenant reaches a cloud other than through a Cloud: the namespace needs no
		// department label, and these credentials serve its Tenants only.
		By("creating namespace " + ns + " with its own credentials, which point at the proxy")
		kubectl("create", "namespace", ns)
		proxied := filepath.Join(GinkgoT().TempDir(), "clouds.yaml")
		Expect(os.WriteFile(proxied, faultsWithAuthURL(devCloud, "dev", proxy.AuthURL()), 0o600)).To(Succeed())
		kubectl("-n", ns, "create", "secret", "generic", faultsSecret, "--from-file=clouds.yaml="+proxied)

		watcher = faultsWatch(ns, netTenant, envName+"-")
		DeferCleanup(func() {
			watcher.stop()
			AddReportEntry("Ready reasons seen", watcher.summary())
		})
	})

	AfterAll(func() {
		if proxy == nil {
			return
		}
		// After a failure, let the operator remove what it made, without faults, so
		// the dev cloud stays clean for the next run.
		if out, _ := tryKubectl("-n", ns, "get", "tenants,testenvironments,computequotas", "-o", "name"); strings.TrimSpace(out) != "" {
			proxy.SetEnabled(false)
			_, _ = tryKubectl("-n", ns, "delete", "testenvironments,computequotas,tenants", "--all", "--timeout=120s")
		}
		AddReportEntry("faults spec runtime", time.Since(started).Round(time.Second).String())
	})

	It("converges every Tenant, ComputeQuota and TestEnvironment to Ready", func() {
		var docs []string
		for _, t := range tenants {
			extra := "roleAssignments: [{group: whitehall-devops, roles: [member]}]"
			if t == netTenant {
				extra += "\n  network: {cidr: 10.70.0.0/24}"
			}
			docs = append(docs, tenantWithCredentialsYAML(ns, t, faultsSecret, "dev", extra), fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: ComputeQuota
metadata: {name: %[1]s, namespace: %[2]s}
spec:
  tenantRef: {name: %[1]s}
  baseline:
    compute: {cores: 20, instances: 10, ramMiB: 20480}
    network: {ports: 60, networks: 5}
    blockStorage: {gigabytes: 100}
`, t, ns))
		}
		docs = append(docs, fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: TestEnvironment
metadata: {name: %s, namespace: %s}
spec:
  tenantRef: {name: %s}
  replicas: %d
  template: {flavor: m1.tiny, image: cirros, metadata: {purpose: faults}}
`, envName, ns, netTenant, envReplicas))
		start := time.Now()
		apply(strings.Join(docs, "---\n"))

		// Faults go on while we wait, so an object may drop out of Ready for a moment
		// on a resync; every one must be Ready, for its current generation, at once.
		Eventually(func(g Gomega) {
			for _, o := range watcher.list(g) {
				c := meta.FindStatusCondition(o.conditions, whv1.ConditionReady)
				g.Expect(c).NotTo(BeNil(), o.key)
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue), "%s: %s %s", o.key, c.Reason, c.Message)
				g.Expect(c.ObservedGeneration).To(Equal(o.generation), o.key)
			}
		}).WithTimeout(convergeTimeout).WithPolling(250 * time.Millisecond).Should(Succeed())
		AddReportEntry("all objects Ready under faults after", time.Since(start).Round(time.Second).String())

		for _, t := range tenants {
			tn := &whv1.Tenant{}
			Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: t}, tn)).To(Succeed())
			Expect(tn.Status.ProjectID).NotTo(BeEmpty())
			projects[t] = tn.Status.ProjectID
			p, err := admin.GetProject(ctx, tn.Status.ProjectID)
			Expect(err).NotTo(HaveOccurred())
			Expect(p).NotTo(BeNil())
			Expect(p.Name).To(Equal(ns + "_" + t))
			Expect(admin.Assignments(ctx, p.ID)).To(ContainElement("group:whitehall-devops:member"))
			q, err := admin.GetQuota(ctx, p.ID)
			Expect(err).NotTo(HaveOccurred())
			Expect(q).To(And(HaveField("Cores", 20), HaveField("Instances", 10), HaveField("RAM", 20480),
				HaveField("Ports", 60), HaveField("Networks", 5), HaveField("Gigabytes", 100)), "quota of %s", t)
		}
		byName, err := admin.ProjectsNamed(ctx, ns+"_")
		Expect(err).NotTo(HaveOccurred())
		Expect(byName).To(HaveLen(len(tenants)), "one project per Tenant, no duplicate: %v", byName)

		te := &whv1.TestEnvironment{}
		Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: envName}, te)).To(Succeed())
		envUID = string(te.UID)
		Expect(te.Status.ReadyReplicas).To(BeEquivalentTo(envReplicas))

		// Neutron: exactly the bundle, no second network or subnet from a retried create.
		res, err := admin.NetworkResources(ctx, projects[netTenant])
		Expect(err).NotTo(HaveOccurred())
		Expect(faultsWithPrefix(res, "network ")).To(HaveLen(1), "%v", res)
		Expect(faultsWithPrefix(res, "subnet ")).To(HaveLen(1), "%v", res)
		for _, t := range tenants[:len(tenants)-1] {
			res, err := admin.NetworkResources(ctx, projects[t])
			Expect(err).NotTo(HaveOccurred())
			Expect(faultsWithPrefix(res, "network ")).To(BeEmpty(), "%s has no network in its spec: %v", t, res)
		}
	})

	It("boots exactly the 5 servers, with no duplicate at any time", func() {
		list, err := admin.ProjectServers(ctx, projects[netTenant])
		Expect(err).NotTo(HaveOccurred())
		names := map[string]int{}
		for _, s := range list {
			names[s.Name]++
			Expect(s.Status).To(Equal("ACTIVE"), s.Name)
			Expect(s.Metadata).To(HaveKeyWithValue("whitehall_environment_uid", envUID), s.Name)
		}
		want := map[string]int{}
		for i := range envReplicas {
			want[fmt.Sprintf("%s-%d", envName, i)] = 1
		}
		Expect(names).To(Equal(want), "names unique, exactly %d", envReplicas)
		all, err := admin.ServersNamed(ctx, envName+"-")
		Expect(err).NotTo(HaveOccurred())
		Expect(all).To(HaveLen(envReplicas), "no server of the environment in another project")
		// Over the whole run, not only at the end: a lost answer to a boot must not make
		// the operator boot the index again (and delete the extra later).
		ids, dups := watcher.servers()
		Expect(dups).To(BeEmpty(), "names held by two servers at once over the run")
		Expect(ids).To(HaveLen(envReplicas), "Nova held %d distinct servers for %d names over the run: %v", len(ids), envReplicas, ids)
	})

	It("showed the transient errors in the conditions while they lasted, and no reason a fault cannot cause", func() {
		Expect(watcher.reasons()).To(HaveKey(whv1.ReasonTransientError), "no object ever reported TransientError: %s", watcher.summary())
		Expect(unexpectedReasons(watcher)).To(BeEmpty(), "reasons a transient fault must not produce")
		Expect(proxy.Stats().Failures()).To(BeNumerically(">", 0))
	})

	It("deletes everything and leaves no project, network or server in OpenStack", func() {
		start := time.Now()
		kubectl("-n", ns, "delete", "testenvironments,computequotas,tenants", "--all", "--wait=false")
		Eventually(func(g Gomega) []string {
			out, err := tryKubectl("-n", ns, "get", "tenants,testenvironments,computequotas", "-o", "name")
			g.Expect(err).NotTo(HaveOccurred(), out)
			return strings.Fields(out)
		}).WithTimeout(deleteTimeout).WithPolling(time.Second).Should(BeEmpty())
		AddReportEntry("everything deleted under faults after", time.Since(start).Round(time.Second).String())

		for t, id := range projects {
			p, err := admin.GetProject(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(p).To(BeNil(), "project of %s", t)
			res, err := admin.NetworkResources(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(res).To(BeEmpty(), "Neutron resources left in the project of %s", t)
			list, err := admin.ProjectServers(ctx, id)
			Expect(err).NotTo(HaveOccurred())
			Expect(list).To(BeEmpty(), "servers left in the project of %s", t)
		}
		left, err := admin.ProjectsNamed(ctx, ns+"_")
		Expect(err).NotTo(HaveOccurred())
		Expect(left).To(BeEmpty())
		servers, err := admin.ServersNamed(ctx, envName+"-")
		Expect(err).NotTo(HaveOccurred())
		Expect(servers).To(BeEmpty())

		Expect(unexpectedReasons(watcher)).To(BeEmpty(), "reasons a transient fault must not produce, while deleting")
		stats := proxy.Stats()
		for _, k := range faultproxy.Kinds {
			Expect(stats.Total(k)).To(BeNumerically(">", 0), "the run saw no fault of kind %s: %s", k, stats)
		}
	})
})

// unexpectedReasons returns the Ready reasons seen that a transient fault must not
// produce — a fault must never look like a bad spec or bad credentials — with samples.
func unexpectedReasons(w *faultsWatcher) []string {
	allowed := []string{whv1.ReasonReady, whv1.ReasonTransientError, whv1.ReasonServersBuilding,
		whv1.ReasonTenantNotReady, whv1.ReasonDeleting, whv1.ReasonDeletionBlocked}
	var unexpected []string
	for reason, samples := range w.reasons() {
		if slices.Contains(allowed, reason) {
			continue
		}
		for _, sample := range samples {
			unexpected = append(unexpected, reason+": "+sample)
		}
	}
	return unexpected
}

// faultsReadCloudsYAML parses a clouds.yaml.
func faultsReadCloudsYAML(path string) map[string]any {
	data, err := os.ReadFile(path)
	Expect(err).NotTo(HaveOccurred())
	doc := map[string]any{}
	Expect(yaml.Unmarshal(data, &doc)).To(Succeed())
	return doc
}

func faultsAuth(doc map[string]any, cloud string) map[string]any {
	clouds, _ := doc["clouds"].(map[string]any)
	c, _ := clouds[cloud].(map[string]any)
	auth, _ := c["auth"].(map[string]any)
	Expect(auth).NotTo(BeNil(), "cloud %q has no auth section", cloud)
	return auth
}

func faultsAuthURL(doc map[string]any, cloud string) string {
	u, _ := faultsAuth(doc, cloud)["auth_url"].(string)
	Expect(u).NotTo(BeEmpty())
	return u
}

// faultsWithAuthURL returns the clouds.yaml with cloud's auth_url replaced; doc is unchanged.
func faultsWithAuthURL(doc map[string]any, cloud, authURL string) []byte {
	data, err := yaml.Marshal(doc)
	Expect(err).NotTo(HaveOccurred())
	cp := map[string]any{}
	Expect(yaml.Unmarshal(data, &cp)).To(Succeed())
	faultsAuth(cp, cloud)["auth_url"] = authURL
	out, err := yaml.Marshal(cp)
	Expect(err).NotTo(HaveOccurred())
	return out
}

func faultsWithPrefix(list []string, prefix string) []string {
	var out []string
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			out = append(out, s)
		}
	}
	return out
}

// watchedObject is the part of a Tenant, ComputeQuota or TestEnvironment the watcher reads.
type watchedObject struct {
	key        string
	generation int64
	conditions []metav1.Condition
	projectID  string // of a Tenant
}

// faultsWatcher polls the objects of a namespace and records every Ready reason each
// one passes through, so a test can tell what the conditions showed while faults
// lasted, even when they cleared before anyone looked. It also lists, straight from
// Nova, the servers of one Tenant's project whose names have a prefix, and remembers
// every server ID it saw and any name held by two servers at once.
type faultsWatcher struct {
	ns, serverTenant, serverPrefix string
	cancel                         context.CancelFunc
	done                           chan struct{}

	mu       sync.Mutex
	last     map[string]string              // object → last Ready reason
	seen     map[string]map[string][]string // reason → object → sample messages
	serverID map[string]string              // ID → name of every server seen
	dups     []string
}

func faultsWatch(ns, serverTenant, serverPrefix string) *faultsWatcher {
	wctx, cancel := context.WithCancel(ctx)
	w := &faultsWatcher{ns: ns, serverTenant: serverTenant, serverPrefix: serverPrefix,
		cancel: cancel, done: make(chan struct{}),
		last: map[string]string{}, seen: map[string]map[string][]string{}, serverID: map[string]string{}}
	go func() {
		defer GinkgoRecover()
		defer close(w.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for tick := 0; ; tick++ {
			select {
			case <-wctx.Done():
				return
			case <-t.C:
			}
			for _, o := range w.read(wctx) {
				if c := meta.FindStatusCondition(o.conditions, whv1.ConditionReady); c != nil {
					w.record(o.key, c.Reason, c.Message)
				}
				if o.key == "Tenant/"+w.serverTenant && o.projectID != "" && tick%5 == 0 {
					w.listServers(wctx, o.projectID)
				}
			}
		}
	}()
	return w
}

func (w *faultsWatcher) listServers(ctx context.Context, projectID string) {
	list, err := admin.ProjectServers(ctx, projectID)
	if err != nil {
		return
	}
	names := map[string][]string{}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range list {
		if strings.HasPrefix(s.Name, w.serverPrefix) {
			w.serverID[s.ID] = s.Name
			names[s.Name] = append(names[s.Name], s.ID)
		}
	}
	for name, ids := range names {
		slices.Sort(ids)
		if dup := fmt.Sprintf("%s: %v", name, ids); len(ids) > 1 && !slices.Contains(w.dups, dup) {
			w.dups = append(w.dups, dup)
		}
	}
}

// servers returns ID → name of every server seen, and the duplicates seen.
func (w *faultsWatcher) servers() (map[string]string, []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return maps.Clone(w.serverID), slices.Clone(w.dups)
}

func (w *faultsWatcher) read(ctx context.Context) []watchedObject {
	var out []watchedObject
	var tl whv1.TenantList
	if k8s.List(ctx, &tl, client.InNamespace(w.ns)) == nil {
		for _, o := range tl.Items {
			out = append(out, watchedObject{"Tenant/" + o.Name, o.Generation, o.Status.Conditions, o.Status.ProjectID})
		}
	}
	var ql whv1.ComputeQuotaList
	if k8s.List(ctx, &ql, client.InNamespace(w.ns)) == nil {
		for _, o := range ql.Items {
			out = append(out, watchedObject{"ComputeQuota/" + o.Name, o.Generation, o.Status.Conditions, ""})
		}
	}
	var el whv1.TestEnvironmentList
	if k8s.List(ctx, &el, client.InNamespace(w.ns)) == nil {
		for _, o := range el.Items {
			out = append(out, watchedObject{"TestEnvironment/" + o.Name, o.Generation, o.Status.Conditions, ""})
		}
	}
	return out
}

// list reads every object now, failing g if a list fails or nothing is there yet.
func (w *faultsWatcher) list(g Gomega) []watchedObject {
	var tl whv1.TenantList
	var ql whv1.ComputeQuotaList
	var el whv1.TestEnvironmentList
	g.Expect(k8s.List(ctx, &tl, client.InNamespace(w.ns))).To(Succeed())
	g.Expect(k8s.List(ctx, &ql, client.InNamespace(w.ns))).To(Succeed())
	g.Expect(k8s.List(ctx, &el, client.InNamespace(w.ns))).To(Succeed())
	g.Expect(tl.Items).NotTo(BeEmpty())
	g.Expect(ql.Items).To(HaveLen(len(tl.Items)))
	g.Expect(el.Items).NotTo(BeEmpty())
	return w.read(ctx)
}

func (w *faultsWatcher) record(key, reason, message string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.last[key] == reason {
		return
	}
	w.last[key] = reason
	byObject := w.seen[reason]
	if byObject == nil {
		byObject = map[string][]string{}
		w.seen[reason] = byObject
	}
	if len(byObject[key]) < 3 {
		byObject[key] = append(byObject[key], message)
	}
}

// reasons returns reason → "object: message" samples.
func (w *faultsWatcher) reasons() map[string][]string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := map[string][]string{}
	for reason, byObject := range w.seen {
		for _, key := range slices.Sorted(maps.Keys(byObject)) {
			for _, msg := range byObject[key] {
				out[reason] = append(out[reason], key+": "+msg)
			}
		}
	}
	return out
}

func (w *faultsWatcher) summary() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for _, reason := range slices.Sorted(maps.Keys(w.seen)) {
		objs := slices.Sorted(maps.Keys(w.seen[reason]))
		fmt.Fprintf(&b, "%s (%d objects): %s\n", reason, len(objs), strings.Join(objs, ", "))
		if reason != whv1.ReasonReady {
			shown := 0
			for _, o := range objs {
				for _, m := range w.seen[reason][o] {
					if shown < 6 {
						fmt.Fprintf(&b, "    %s: %s\n", o, m)
						shown++
					}
				}
			}
		}
	}
	return strings.TrimSpace(b.String())
}

func (w *faultsWatcher) stop() {
	w.cancel()
	<-w.done
}
