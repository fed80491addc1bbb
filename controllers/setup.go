package controllers

import (
	"context"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Options wire the controllers to their collaborators.
type Options struct {
	Recorder  recorder.EventRecorder
	Factory   *openstack.Factory
	Intervals Intervals
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
}

// DefaultGrantableRoles are the roles a Tenant may grant unless --grantable-roles says
// otherwise: never admin.
var DefaultGrantableRoles = []string{"member", "reader"}

// Setup registers the field indexes and every controller with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, o Options) error {
	return SetupWith(ctx, mgr, o, Connectors{
		Cloud:    FactoryConnector[CloudLogin](o.Factory),
		Tenant:   FactoryConnector[TenantCloud](o.Factory),
		Quota:    FactoryConnector[QuotaCloud](o.Factory),
		Capacity: FactoryConnector[CapacityCloud](o.Factory),
		Servers:  FactoryConnector[EnvironmentCloud](o.Factory),
		Usage:    FactoryConnector[UsageCloud](o.Factory),
	})
}

// Connectors hand each controller its cloud; tests pass fakes.
type Connectors struct {
	Cloud    CloudConnector[CloudLogin]
	Tenant   CloudConnector[TenantCloud]
	Quota    CloudConnector[QuotaCloud]
	Capacity CloudConnector[CapacityCloud]
	Servers  CloudConnector[EnvironmentCloud]
	// Usage, when set, runs the usage reader.
	Usage CloudConnector[UsageCloud]
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
	if err := SetupIndexes(ctx, mgr); err != nil {
		return err
	}
	access := Access{Reader: mgr.GetClient(), OperatorNamespace: o.OperatorNamespace}
	if err := (&CloudReconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Cloud, Access: access, Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&TenantReconciler{
		Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Recorder: o.Recorder, Clouds: c.Tenant, Access: access,
		GrantableRoles: o.GrantableRoles, Intervals: o.Intervals, Now: o.Now, Concurrency: o.Concurrency,
	}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&ComputeQuotaReconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Quota, Access: access, Intervals: o.Intervals, Now: o.Now, Concurrency: o.Concurrency}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&DepartmentPolicyReconciler{Client: mgr.GetClient(), Intervals: o.Intervals}).SetupWithManager(mgr); err != nil {
		return err
	}
	if err := (&PeakSeasonReconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Capacity, Access: access, Intervals: o.Intervals, Now: o.Now}).SetupWithManager(mgr); err != nil {
		return err
	}
	if c.Usage != nil {
		if err := (&UsageReconciler{Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Usage, Access: access, Interval: o.UsageInterval, Now: o.Now}).SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return (&TestEnvironmentReconciler{
		Client: mgr.GetClient(), Recorder: o.Recorder, Clouds: c.Servers, Access: access, APIReader: mgr.GetAPIReader(),
		Intervals: o.Intervals, Now: o.Now, MaxConcurrentCreates: o.MaxConcurrentCreates, BuildPoll: o.BuildPoll, Concurrency: o.Concurrency,
		ServerRetry: o.ServerRetry,
	}).SetupWithManager(mgr)
}
