package controllers

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	ctrl "sigs.k8s.io/controller-runtime"

	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/cloud"
	"github.com/whitehall-cloud/whitehall-operator/controllers/computequota"
	"github.com/whitehall-cloud/whitehall-operator/controllers/departmentpolicy"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/controllers/peakseason"
	"github.com/whitehall-cloud/whitehall-operator/controllers/shard"
	"github.com/whitehall-cloud/whitehall-operator/controllers/tenant"
	"github.com/whitehall-cloud/whitehall-operator/controllers/testenvironment"
	"github.com/whitehall-cloud/whitehall-operator/controllers/usage"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Options wire the controllers to their collaborators.
type Options struct {
	Recorder  recorder.EventRecorder
	Factory   *openstack.Factory
	Intervals frame.Intervals
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxConcurrentCreates bounds the servers one TestEnvironment boots at once.
	MaxConcurrentCreates int
	// BuildPoll is how often servers being built are looked at; zero means 2 s.
	BuildPoll time.Duration
	// ServerRetry is how long a TestEnvironment's index whose server went to ERROR waits
	// before its first new boot, doubling with each failure up to 20 times it; zero
	// means 30 s (up to 10 min).
	ServerRetry time.Duration
	// Concurrency is how many objects of one kind are reconciled at once; zero means 10.
	// OpenStack latency, not CPU, bounds a reconcile, so a season boundary touching 20
	// departments is applied in parallel.
	Concurrency int
	// OperatorNamespace holds the Clouds' credentials and the project identities.
	OperatorNamespace string
	// GrantableRoles are the only roles a Tenant may grant; nil means member and reader.
	GrantableRoles []string
	// UsageInterval is how often each Cloud's usage is read; zero means 1h.
	UsageInterval time.Duration
	// ClusterID names this cluster in the owner records of projects and in each cloud's
	// cluster records; "" means the UID of the kube-system namespace, the cluster's own
	// identity (as in KEP-2149's ClusterProperty id.k8s.io).
	ClusterID string
	// ClusterLease is how long this cluster's record in a cloud lasts unrenewed before
	// another cluster may take back its Tenants' projects; zero means
	// access.DefaultClusterLease.
	ClusterLease time.Duration
	// Shard names the namespaces this process works in (controllers/shard); "" is the
	// default shard, which alone also runs the cluster-wide work.
	Shard string
}

// DefaultClusterLease is the --cluster-lease the operator runs with unless told otherwise.
const DefaultClusterLease = access.DefaultClusterLease

// DefaultGrantableRoles are the roles a Tenant may grant unless --grantable-roles says
// otherwise: never admin.
var DefaultGrantableRoles = []string{"member", "reader"}

// Setup registers the field indexes and every controller with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	// Each Cloud's admin login observes in bulk, once per resync period.
	o.Factory.ObserveInBulk(o.Intervals.Resync)
	return SetupWith(ctx, mgr, o, Connectors{
		Views:    o.Factory.Views(),
		Cloud:    access.FactoryConnector[cloud.Login](o.Factory),
		Tenant:   access.FactoryConnector[tenant.Cloud](o.Factory),
		Quota:    access.FactoryConnector[computequota.Cloud](o.Factory),
		Capacity: access.FactoryConnector[peakseason.Cloud](o.Factory),
		Servers:  access.FactoryConnector[testenvironment.Cloud](o.Factory),
		Usage:    access.FactoryConnector[usage.Cloud](o.Factory),
	})
}

// Connectors hand each controller its cloud; tests pass fakes.
type Connectors struct {
	Cloud    access.CloudConnector[cloud.Login]
	Tenant   access.CloudConnector[tenant.Cloud]
	Quota    access.CloudConnector[computequota.Cloud]
	Capacity access.CloudConnector[peakseason.Cloud]
	Servers  access.CloudConnector[testenvironment.Cloud]
	// Usage, when set, runs the usage reader.
	Usage access.CloudConnector[usage.Cloud]
	// Views, when set, passes on what the clouds' bulk views find changed: the Tenants
	// and ComputeQuotas of those projects are reconciled at once.
	Views *openstack.ViewFeed
}

// SetupWith is Setup with explicit connectors.
func SetupWith(ctx context.Context, mgr ctrl.Manager, o Options, c Connectors) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 10
	}
	if o.GrantableRoles == nil {
		o.GrantableRoles = DefaultGrantableRoles
	}
	if err := lookups.SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	if o.ClusterID == "" {
		id, err := ClusterID(ctx, mgr.GetAPIReader())
		if err != nil {
			return err
		}
		o.ClusterID = id
	}
	if err := openstack.CheckClusterID(o.ClusterID); err != nil {
		return err
	}
	access := access.Access{Reader: mgr.GetClient(), OperatorNamespace: o.OperatorNamespace}
	gate, err := shard.FromManager(mgr, o.Shard, o.OperatorNamespace)
	if err != nil {
		return err
	}
	if err := gate.SetupWithManager(mgr); err != nil {
		return err
	}
	if gate.IsDefault() {
		if err := setupClusterWide(mgr, o, c, access); err != nil {
			return err
		}
	}
	if err := (&tenant.Reconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: o.Recorder, Clouds: c.Tenant, Access: access,
		GrantableRoles: o.GrantableRoles, Intervals: o.Intervals, Now: o.Now, Concurrency: o.Concurrency,
		ClusterID: o.ClusterID, ClusterLease: o.ClusterLease, Shard: gate, Views: c.Views,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&computequota.Reconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Quota, Access: access, Intervals: o.Intervals, Now: o.Now, Concurrency: o.Concurrency,
		Shard: gate, Views: c.Views}).SetupWithManager(mgr); err != nil {
		return err
	}
	return (&testenvironment.Reconciler{
		Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Servers, Access: access, APIReader: mgr.GetAPIReader(),
		Intervals: o.Intervals, Now: o.Now, MaxConcurrentCreates: o.MaxConcurrentCreates, BuildPoll: o.BuildPoll, Concurrency: o.Concurrency,
		ServerRetry: o.ServerRetry, Shard: gate,
	}).SetupWithManager(mgr)
}

// setupClusterWide registers what spans namespaces, run by the default shard alone: its
// cache holds every namespace's objects, so PeakSeason committed and DepartmentPolicy
// status count them all, each Cloud's usage is read once an interval, the UsageReport
// and a Cloud's cluster records have one writer.
func setupClusterWide(mgr ctrl.Manager, o Options, c Connectors, access access.Access) error {
	if err := (&cloud.Reconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Cloud, Access: access, Intervals: o.Intervals,
		ClusterID: o.ClusterID, ClusterLease: o.ClusterLease, Now: o.Now}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&departmentpolicy.Reconciler{Client: mgr.GetClient(), Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&peakseason.Reconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Capacity, Access: access, Intervals: o.Intervals, Now: o.Now}).SetupWithManager(mgr); err != nil {
		return err
	}
	if c.Usage == nil {
		return nil
	}
	return (&usage.Reconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Usage, Access: access, Interval: o.UsageInterval, Now: o.Now}).SetupWithManager(mgr)
}

// ClusterID is the UID of the kube-system namespace: it is made with the cluster and
// lives as long as it, so a cluster rebuilt from the same manifests has another.
func ClusterID(ctx context.Context, reader client.Reader) (string, error) {
	ns := &corev1.Namespace{}
	if err := reader.Get(ctx, client.ObjectKey{Name: metav1.NamespaceSystem}, ns); err != nil {
		return "", fmt.Errorf("reading the cluster's identity (the kube-system namespace): %w", err)
	}
	return string(ns.UID), nil
}
