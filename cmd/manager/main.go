// Command manager runs the whitehall-operator controllers.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/shard"
	"github.com/whitehall-cloud/whitehall-operator/controllers/usage"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// config is everything the flags set.
// shutdownMargin is how long a stopping manager waits beyond one OpenStack request for
// its workers to finish (status writes, events).
const shutdownMargin = 15 * time.Second

type config struct {
	metrics           metricsOptions
	probeAddr         string
	leaderElect       bool
	resyncPeriod      time.Duration
	openstackTimeout  time.Duration
	maxCreates        int
	concurrency       int
	rateLimit         openstack.RateLimit
	operatorNamespace string
	grantable         grantableFlags
	usageInterval     time.Duration
	clusterID         string
	clusterLease      time.Duration
	login             openstack.LoginPolicy
	allowedAuthURLs   string
	shard             string
}

func main() {
	var cfg config
	cfg.metrics.bindFlags(flag.CommandLine)
	flag.StringVar(&cfg.probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.BoolVar(&cfg.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.DurationVar(&cfg.resyncPeriod, "resync-period", 10*time.Minute, "How often an unchanged object is compared with OpenStack to repair drift.")
	flag.DurationVar(&cfg.openstackTimeout, "openstack-timeout", 60*time.Second, "Timeout of one OpenStack API request.")
	flag.IntVar(&cfg.maxCreates, "max-concurrent-server-creates", 10, "Servers one TestEnvironment boots at once.")
	flag.IntVar(&cfg.concurrency, "concurrency", 10, "Objects of one kind reconciled at once.")
	flag.Float64Var(&cfg.rateLimit.QPS, "openstack-qps", 50, "Steady rate of requests to one cloud (per auth URL); 0 means no limit.")
	flag.IntVar(&cfg.rateLimit.Burst, "openstack-burst", 100, "Requests to one cloud allowed at once above the steady rate.")
	flag.StringVar(&cfg.operatorNamespace, "operator-namespace", defaultOperatorNamespace(),
		"The operator's own namespace: every Cloud's credentials Secret and the project identities live there (default: $POD_NAMESPACE, else whitehall-system).")
	cfg.grantable.bind(flag.CommandLine)
	flag.StringVar(&cfg.clusterID, "cluster-id", "",
		"This cluster's name in the owner records of projects and in each cloud's cluster records; default the UID of the kube-system namespace. Give each cluster its own.")
	flag.DurationVar(&cfg.clusterLease, "cluster-lease", controllers.DefaultClusterLease,
		"How long this cluster's record in a cloud lasts unrenewed before another cluster may take back its Tenants' projects (a cluster rebuilt or moved).")
	flag.DurationVar(&cfg.usageInterval, "usage-interval", usage.DefaultInterval,
		"How often each Cloud's usage is read (one all-projects Nova call and one volume listing per read).")
	flag.DurationVar(&cfg.login.Timeout, "openstack-login-timeout", openstack.DefaultLoginTimeout, "Deadline of one Keystone login, all its requests included.")
	flag.BoolVar(&cfg.login.AllowHTTP, "allow-http-auth-url", false, "Let a department's own clouds.yaml (Tenant cloudCredentialsRef) use a plain http auth_url (a dev cloud); default https only.")
	flag.StringVar(&cfg.allowedAuthURLs, "allowed-auth-urls", "",
		"Comma-separated auth URL prefixes (https://keystone.example/v3) or hosts a department's own clouds.yaml may name; empty: any https URL.")
	flag.StringVar(&cfg.shard, "shard", "",
		"The shard this replica runs: it works only in namespaces labelled whitehall.cloud/shard=NAME, with its own leader Lease; empty (or default): the namespaces without the label, and the cluster-wide work.")
	showVersion := flag.Bool("version", false, "Print the version and git revision, then exit.")
	opts := zap.Options{Development: false, TimeEncoder: zapcore.RFC3339NanoTimeEncoder}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	if *showVersion {
		fmt.Printf("whitehall-operator %s (revision %s)\n", version, revision)
		return
	}

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	if err := run(cfg); err != nil {
		ctrl.Log.WithName("setup").Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

// defaultOperatorNamespace is the namespace the pod runs in (the chart sets
// POD_NAMESPACE from the downward API), else whitehall-system.
func defaultOperatorNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return "whitehall-system"
}

func run(cfg config) error {
	roles, err := cfg.grantable.grantableRoles()
	if err != nil {
		return err
	}
	if err := shard.Validate(cfg.shard); err != nil {
		return fmt.Errorf("--shard: %w", err)
	}
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(whv1.AddToScheme(scheme))

	metricsServer, err := cfg.metrics.serverOptions()
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsServer,
		HealthProbeBindAddress: cfg.probeAddr,
		LeaderElection:         cfg.leaderElect,
		// Each shard its own leader; the default shard keeps the ID it had before shards.
		// In the operator's namespace, where the other shards look for it.
		LeaderElectionID:        shard.LeaseID(cfg.shard),
		LeaderElectionNamespace: cfg.operatorNamespace,
		// Stop reconciling at once when leadership is lost, then exit.
		LeaderElectionReleaseOnCancel: true,
		// On SIGTERM no new server is booted, but a create already sent is waited for
		// (each request ends within --openstack-timeout) before the lease goes: Nova
		// lists a server only once its POST has returned, and a new leader that listed
		// before that would boot the same index again.
		GracefulShutdownTimeout: ptr.To(cfg.openstackTimeout + shutdownMargin),
		Cache:                   controllers.CacheOptions(cfg.operatorNamespace),
	})
	if err != nil {
		return err
	}

	ctx := ctrl.SetupSignalHandler()
	secrets := secretReader{cached: mgr.GetClient(), live: mgr.GetAPIReader(), namespace: cfg.operatorNamespace}
	factory := openstack.NewFactory(secrets, cfg.openstackTimeout, cfg.rateLimit)
	cfg.login.PlatformNamespace, cfg.login.AllowedAuthURLs = cfg.operatorNamespace, splitList(cfg.allowedAuthURLs)
	if err := factory.SetLoginPolicy(cfg.login); err != nil {
		return fmt.Errorf("--allowed-auth-urls: %w", err)
	}
	factory.ForgetUnusedAfter(3 * cfg.resyncPeriod) // every object in use asks at least once a period
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		Recorder:             mgr.GetEventRecorder("whitehall-operator"),
		Factory:              factory,
		Intervals:            frame.DefaultIntervals(cfg.resyncPeriod),
		MaxConcurrentCreates: cfg.maxCreates,
		Concurrency:          cfg.concurrency,
		OperatorNamespace:    cfg.operatorNamespace,
		GrantableRoles:       roles,
		UsageInterval:        cfg.usageInterval,
		ClusterID:            cfg.clusterID,
		ClusterLease:         cfg.clusterLease,
		Shard:                cfg.shard,
	}); err != nil {
		return err
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "version", version, "revision", revision, "resyncPeriod", cfg.resyncPeriod, "leaderElect", cfg.leaderElect, "shard", shard.Normalize(cfg.shard),
		"operatorNamespace", cfg.operatorNamespace, "grantableRoles", roles)
	return mgr.Start(ctx)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
