package shard

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
)

// sweep is how often the records this shard holds are looked over even without an
// event: a missed one costs at most this long a hand-over.
const sweep = 30 * time.Second

// SetupWithManager adds the hand-over to the manager, woken by every Namespace and
// Lease event of its cache. A RunnableFunc runs on the leader only: only the leader
// works, so only it hands over.
func (s *Shard) SetupWithManager(mgr ctrl.Manager) error {
	return mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		for _, obj := range []client.Object{&corev1.Namespace{}, &coordinationv1.Lease{}} {
			informer, err := mgr.GetCache().GetInformer(ctx, obj)
			if err != nil {
				return err
			}
			if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
				UpdateFunc: func(old, updated any) {
					if moves(old, updated) {
						s.poke()
					}
				},
			}); err != nil {
				return err
			}
		}
		return s.Start(ctx)
	}))
}

// moves: an update that may start a hand-over, a Namespace's shard label changed or a
// record written; not the leader Leases' renewals, every few seconds each.
func moves(old, updated any) bool {
	switch o := old.(type) {
	case *corev1.Namespace:
		n, ok := updated.(*corev1.Namespace)
		return !ok || Of(o) != Of(n)
	case *coordinationv1.Lease:
		return o.Labels[RecordLabel] != ""
	}
	return false
}

func (s *Shard) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Start hands over, until ctx ends, each namespace whose record this shard holds and
// whose label names another shard.
func (s *Shard) Start(ctx context.Context) error {
	ticker := time.NewTicker(sweep)
	defer ticker.Stop()
	for {
		s.handOver(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-s.wake:
		case <-ticker.C:
		}
	}
}

// handOver starts the hand-over of each namespace held here and labelled elsewhere.
func (s *Shard) handOver(ctx context.Context) {
	records := &coordinationv1.LeaseList{}
	if err := s.cache.List(ctx, records, client.InNamespace(s.operatorNamespace), client.HasLabels{RecordLabel}); err != nil {
		logf.FromContext(ctx).Error(err, "listing the namespaces' shard records", "shard", s.name)
		return
	}
	for i := range records.Items {
		record := &records.Items[i]
		namespace := namespaceOfRecord(record.Name)
		if namespace == "" || holder(record) != s.name {
			continue
		}
		if to, _, known := s.labelled(ctx, namespace); known && to != s.name && s.startLeaving(namespace) {
			go s.release(ctx, record.DeepCopy(), namespace)
		}
	}
}

// startLeaving marks namespace as being handed over, under the lock Enter takes, so no
// new work starts in it; false when it is already, or its label is back on this shard.
func (s *Shard) startLeaving(namespace string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.leaving[namespace] {
		return false
	}
	if to, _, _ := s.labelled(context.Background(), namespace); to == s.name {
		return false
	}
	s.leaving[namespace] = true
	return true
}

// release waits until no reconcile of namespace is in flight here, then gives its
// record to the shard its label names now. The namespace stays closed to new work
// here until the cache shows the record given away.
func (s *Shard) release(ctx context.Context, record *coordinationv1.Lease, namespace string) {
	log := logf.FromContext(ctx).WithValues("namespace", namespace, "shard", s.name)
	defer func() {
		s.mu.Lock()
		delete(s.leaving, namespace)
		s.mu.Unlock()
	}()
	if err := wait.PollUntilContextCancel(ctx, 20*time.Millisecond, true, func(context.Context) (bool, error) {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.inflight[namespace] == 0, nil
	}); err != nil {
		return
	}
	to, _, known := s.labelled(ctx, namespace)
	if !known || to == s.name {
		return // labelled back: it stays here
	}
	if ok, err := s.write(ctx, record, to); err != nil || !ok {
		// A conflict: the record changed, and its event brings the next look; an
		// error: the next sweep.
		log.Info("hand-over of a namespace to try again", "to", to, "error", err)
		return
	}
	log.Info("handed a namespace over", "to", to)
}
