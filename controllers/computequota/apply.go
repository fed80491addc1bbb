package computequota

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// How a project's quota reaches OpenStack: observe what is known of it (remembered, or
// read when what is remembered will not do), plan the limits that differ (plan.go),
// write them. The services are handled at the same time.

// observation is what is known of a project's quota: the limits and usage OpenStack
// reported, and when every service was last read or written in full (zero: never, or
// not by this process), which says whether it is recent enough to go without a read.
type observation struct {
	project string
	openstack.QuotaReading
	readAt time.Time
}

// of is the part of o that is one service's, so each service is planned on its own.
func (o observation) of(service quota.Service) observation {
	return observation{project: o.project, readAt: o.readAt,
		QuotaReading: openstack.QuotaReading{Limits: o.Limits.Of(service), InUse: o.InUse.Of(service)}}
}

// appliedQuota is what apply or lower left in OpenStack, for status and events.
type appliedQuota struct {
	// usage of the managed fields, where known.
	usage quota.Limits
	// changes are the limits written.
	changes []quotaChange
	// keptAtUsage are limits a service refused to take below usage, by field: the limit
	// was kept at usage instead (the value), and comes down the rest of the way as usage
	// falls.
	keptAtUsage quota.Limits
	// wanted is, for lower, the limit each field was brought to (the target where it
	// comes down, what OpenStack has where the target is a raise).
	wanted quota.Limits
	// raises are, for lower, the raises withheld, by field (the value wanted): nothing
	// was written for them.
	raises quota.Limits
}

// quotaWrite is one reconcile's write of a project's quota: where it goes, and since
// when an observation is recent enough to skip a service whose limits did not move.
type quotaWrite struct {
	cloud      Cloud
	project    string
	trustSince time.Time
}

// fresh says whether o was read in full recently enough (within the resync period) that
// a service whose wanted limits did not move need not even be read.
func (w quotaWrite) fresh(o observation) bool { return o.readAt.After(w.trustSince) }

// apply makes each service's quota match effective, from last, what the last reconcile
// saw in OpenStack. A service with no managed field is neither read nor written.
//
// When the wanted limits moved away from last — a season opened or closed, or the spec
// changed — the difference is written straight away, without a read first: at a
// boundary the quota lands one round trip after the operator wakes. Otherwise the quota
// is read and only fields that differ (drift) are written. When last is fresh (as when
// the operator wakes at a season boundary), a service whose wanted limits did not move
// is not even read: a boundary costs one write per service it changes, nothing else.
func (w quotaWrite) apply(ctx context.Context, effective quota.Limits, last observation) (appliedQuota, error) {
	return perService(ctx, effective, func(ctx context.Context, service quota.Service, desired quota.Limits) (appliedQuota, error) {
		return w.applyService(ctx, service, desired, last.of(service))
	})
}

// applyService brings one service's quota to desired, choosing how from what is known
// of it. With nothing known (a new ComputeQuota, or one that never got Ready), every
// managed limit is written without a read: the answer makes the limits known, and usage
// is left unknown until the next full read at the resync period — usage changes without
// any event, so it is a periodic observation anyway. This keeps Nova's costly usage
// count off the path to a department's first Ready.
func (w quotaWrite) applyService(ctx context.Context, service quota.Service, desired quota.Limits, known observation) (appliedQuota, error) {
	unmoved := known.matches(desired)
	switch {
	case unmoved && w.fresh(known):
		return appliedQuota{usage: known.InUse}, nil
	case openstack.RefusesBelowUsage(service):
		return w.keepAtUsage(ctx, service, desired, known)
	case unmoved:
		return w.repair(ctx, service, desired, false, known.InUse)
	default:
		return w.writeMoved(ctx, service, desired, known)
	}
}

// keepAtUsage is the one branch for a service that refuses a limit below usage
// (Cinder): a write that lowers a known limit is read first, and a limit that would go
// below usage is kept at usage instead; each later reconcile lowers it as far as usage
// then allows. A write made without a read that the service refuses is read and made
// again the same way.
func (w quotaWrite) keepAtUsage(ctx context.Context, service quota.Service, desired quota.Limits, known observation) (appliedQuota, error) {
	if known.matches(desired) || known.lowers(desired) {
		return w.repair(ctx, service, desired, true, known.InUse)
	}
	applied, err := w.writeMoved(ctx, service, desired, known)
	if err != nil && openstack.StatusCode(err) == http.StatusBadRequest {
		return w.repair(ctx, service, desired, true, known.InUse) // a limit went below usage
	}
	return applied, err
}

// repair reads the service and writes only what differs from desired (drift), keeping a
// limit at usage where keepAtUsage says the service refuses it below. The read is at
// rest: the cloud's bulk view may serve it (Neutron's limits), and then the usage last
// read (lastUsage) is kept, as the view lists no usage.
func (w quotaWrite) repair(ctx context.Context, service quota.Service, desired quota.Limits, keepAtUsage bool,
	lastUsage quota.Limits) (appliedQuota, error) {
	reading, err := readAtRest(ctx, w.cloud, service, w.project, desired, lastUsage)
	if err != nil {
		return appliedQuota{}, err
	}
	p := planWrite(desired, reading, keepAtUsage)
	if err := w.write(ctx, service, p.diff); err != nil {
		return appliedQuota{}, err
	}
	return appliedQuota{usage: reading.InUse.Within(desired), changes: p.changes, keptAtUsage: p.keptAtUsage}, nil
}

// readAtRest reads a service's quota at rest. The cloud's bulk view may serve it
// (Neutron's limits, listed without usage): then the usage last read (lastUsage) stands
// in for it, unless some field of desired has none yet, and then the read is live.
func readAtRest(ctx context.Context, cloud Cloud, service quota.Service, project string, desired, lastUsage quota.Limits) (openstack.QuotaReading, error) {
	reading, err := cloud.GetQuota(openstack.AtRest(ctx), service, project)
	if err != nil || !reading.FromView {
		return reading, err
	}
	for f := range desired {
		if _, known := lastUsage[f]; !known {
			return cloud.GetQuota(ctx, service, project)
		}
	}
	reading.InUse = maps.Clone(lastUsage)
	return reading, nil
}

// writeMoved writes, without a read first, what differs from known. A write that lowers
// a known limit is followed by one read, so a limit that lands below usage (Nova forces
// it, Neutron takes it) is flagged in the same status update.
func (w quotaWrite) writeMoved(ctx context.Context, service quota.Service, desired quota.Limits, known observation) (appliedQuota, error) {
	p := planWrite(desired, known.QuotaReading, false)
	if err := w.write(ctx, service, p.diff); err != nil {
		return appliedQuota{}, err
	}
	reading := known.QuotaReading
	if known.lowers(desired) {
		var err error
		if reading, err = w.cloud.GetQuota(ctx, service, w.project); err != nil {
			return appliedQuota{}, err
		}
	}
	return appliedQuota{usage: reading.InUse.Within(desired), changes: p.changes, keptAtUsage: p.keptAtUsage}, nil
}

// lower reads each service with a field of target and writes only the limits that
// come down to it; a raise target would make is withheld (raises). It is how a peak
// still comes down while a DepartmentPolicy is breached, and how a deleted ComputeQuota
// returns its project to the baseline.
func (w quotaWrite) lower(ctx context.Context, target quota.Limits) (appliedQuota, error) {
	return perService(ctx, target, func(ctx context.Context, service quota.Service, target quota.Limits) (appliedQuota, error) {
		reading, err := w.cloud.GetQuota(ctx, service, w.project)
		if err != nil {
			return appliedQuota{}, err
		}
		p, wanted, raises := planLower(target, reading, openstack.RefusesBelowUsage(service))
		if err := w.write(ctx, service, p.diff); err != nil {
			return appliedQuota{}, err
		}
		return appliedQuota{usage: reading.InUse.Within(target), changes: p.changes, keptAtUsage: p.keptAtUsage,
			wanted: wanted, raises: raises}, nil
	})
}

// write sends one service's limits, and counts the write when it changed any.
func (w quotaWrite) write(ctx context.Context, service quota.Service, limits quota.Limits) error {
	if err := w.cloud.SetQuota(ctx, service, w.project, limits); err != nil {
		return err
	}
	if len(limits) > 0 {
		quotaWrites.WithLabelValues(string(service)).Inc()
	}
	return nil
}

// perService runs one step per quota service with a field of limits, given that
// service's fields, all at the same time, and merges what they left.
func perService(ctx context.Context, limits quota.Limits,
	run func(context.Context, quota.Service, quota.Limits) (appliedQuota, error)) (appliedQuota, error) {
	var mu sync.Mutex
	out := appliedQuota{usage: quota.Limits{}, keptAtUsage: quota.Limits{}, wanted: quota.Limits{}, raises: quota.Limits{}}
	g, gctx := errgroup.WithContext(ctx)
	for _, service := range quota.Services {
		desired := limits.Of(service)
		if len(desired) == 0 {
			continue
		}
		g.Go(func() error {
			res, err := run(gctx, service, desired)
			mu.Lock()
			defer mu.Unlock()
			maps.Copy(out.usage, res.usage)
			maps.Copy(out.keptAtUsage, res.keptAtUsage)
			maps.Copy(out.wanted, res.wanted)
			maps.Copy(out.raises, res.raises)
			out.changes = append(out.changes, res.changes...)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return appliedQuota{}, err
	}
	slices.SortFunc(out.changes, func(a, b quotaChange) int { return byName(a.field, b.field) })
	return out, nil
}
