// Command manager runs the whitehall-operator controllers.
package main

import (
	"flag"
	"os"
	"time"

	"go.uber.org/zap/zapcore"
	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/controllers"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

func main() {
	var (
		metricsAddr      string
		probeAddr        string
		leaderElect      bool
		resyncPeriod     time.Duration
		openstackTimeout time.Duration
		maxCreates       int
		concurrency      int
		rateLimit        openstack.RateLimit
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "Address the Prometheus metrics endpoint binds to; 0 disables it.")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.DurationVar(&resyncPeriod, "resync-period", 10*time.Minute, "How often an unchanged object is compared with OpenStack to repair drift.")
	flag.DurationVar(&openstackTimeout, "openstack-timeout", 60*time.Second, "Timeout of one OpenStack API request.")
	flag.IntVar(&maxCreates, "max-concurrent-server-creates", 10, "Servers one TestEnvironment boots at once.")
	flag.IntVar(&concurrency, "concurrency", 10, "Objects of one kind reconciled at once.")
	flag.Float64Var(&rateLimit.QPS, "openstack-qps", 50, "Steady rate of requests to one cloud (per auth URL); 0 means no limit.")
	flag.IntVar(&rateLimit.Burst, "openstack-burst", 100, "Requests to one cloud allowed at once above the steady rate.")
	opts := zap.Options{Development: false, TimeEncoder: zapcore.RFC3339NanoTimeEncoder}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()

	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("setup")

	if err := run(metricsAddr, probeAddr, leaderElect, resyncPeriod, openstackTimeout, maxCreates, concurrency, rateLimit); err != nil {
		log.Error(err, "manager exited with an error")
		os.Exit(1)
	}
}

func run(metricsAddr, probeAddr string, leaderElect bool, resyncPeriod, openstackTimeout time.Duration, maxCreates, concurrency int, rateLimit openstack.RateLimit) error {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(whv1.AddToScheme(scheme))

	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "whitehall-operator.whitehall.cloud",
		// Stop reconciling at once when leadership is lost, then exit.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return err
	}

	ctx := ctrl.SetupSignalHandler()
	factory := openstack.NewFactory(mgr.GetClient(), openstackTimeout, rateLimit)
	if err := controllers.Setup(ctx, mgr, controllers.Options{
		Recorder:             mgr.GetEventRecorder("whitehall-operator"),
		Factory:              factory,
		Intervals:            controllers.DefaultIntervals(resyncPeriod),
		MaxConcurrentCreates: maxCreates,
		Concurrency:          concurrency,
	}); err != nil {
		return err
	}

	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return err
	}
	ctrl.Log.WithName("setup").Info("starting manager", "resyncPeriod", resyncPeriod, "leaderElect", leaderElect)
	return mgr.Start(ctx)
}
