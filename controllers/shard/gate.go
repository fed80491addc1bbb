package shard

import (
	"context"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// Enter is asked before any work in namespace. ok: this shard may work there now, and
// leave must be called when the work is done (the hand-over waits for it). Not ok with
// a zero retry: the namespace is another shard's, the request is dropped (that shard
// has it too). Not ok with a retry: the namespace is labelled for this shard but not
// yet handed to it; look again then. A nil Shard, or a cluster-scoped object, always
// enters.
func (s *Shard) Enter(ctx context.Context, namespace string) (leave func(), retry time.Duration, ok bool) {
	if s == nil || namespace == "" {
		return func() {}, 0, true
	}
	shard, ns, known := s.labelled(ctx, namespace)
	if !known || shard != s.name {
		// Another shard's; or a namespace not in the cache: gone, or not seen yet (its
		// create event enqueues its objects again).
		return nil, 0, false
	}
	held, err := s.hold(ctx, ns)
	if err != nil {
		logf.FromContext(ctx).Error(err, "reading or writing the namespace's shard record", "namespace", namespace, "shard", s.name)
	}
	if !held {
		return nil, s.Retry, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// Under the lock the hand-over also takes: once it has seen the label move away, no
	// new work starts here.
	if s.leaving[namespace] {
		return nil, 0, false
	}
	if shard, _, _ := s.labelled(ctx, namespace); shard != s.name {
		return nil, 0, false
	}
	s.inflight[namespace]++
	return func() { s.leave(namespace) }, 0, true
}

func (s *Shard) leave(namespace string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.inflight[namespace]--; s.inflight[namespace] <= 0 {
		delete(s.inflight, namespace)
	}
}

// hold makes sure this shard holds ns's record: it creates the record when there is
// none, and takes it from a holder that is gone (its leader Lease is not live). It
// reports false while another shard that is running holds it.
func (s *Shard) hold(ctx context.Context, ns *corev1.Namespace) (bool, error) {
	record := &coordinationv1.Lease{}
	err := s.cache.Get(ctx, client.ObjectKey{Namespace: s.operatorNamespace, Name: RecordName(ns.Name)}, record)
	switch {
	case apierrors.IsNotFound(err):
		return s.create(ctx, ns)
	case err != nil:
		return false, err
	case holder(record) == s.name:
		return true, nil
	}
	if gone, err := s.gone(ctx, holder(record)); err != nil || !gone {
		return false, err
	}
	logf.FromContext(ctx).Info("taking over a namespace whose shard is gone", "namespace", ns.Name, "from", holder(record), "shard", s.name)
	return s.write(ctx, record, s.name)
}

// create writes ns's first record, held by this shard. The Namespace owns it, so it
// goes with the namespace.
func (s *Shard) create(ctx context.Context, ns *corev1.Namespace) (bool, error) {
	now := metav1.NewMicroTime(s.now())
	record := &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: s.operatorNamespace, Name: RecordName(ns.Name), Labels: map[string]string{RecordLabel: "true"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "Namespace", Name: ns.Name, UID: ns.UID}},
		},
		Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To(s.name), AcquireTime: &now},
	}
	if err := s.client.Create(ctx, record); apierrors.IsAlreadyExists(err) {
		// Another kind's reconcile of the same namespace (or another shard) was first:
		// once the cache has its record, it says whose the namespace is.
		return s.heldOnceCached(ctx, record)
	} else if err != nil {
		return false, err
	}
	logf.FromContext(ctx).Info("holding a namespace: the first shard to work there", "namespace", ns.Name, "shard", s.name)
	return true, s.cached(ctx, record)
}

// write gives the record to shard to, with optimistic concurrency (record's
// resourceVersion): a conflict means someone else wrote first; look again.
func (s *Shard) write(ctx context.Context, record *coordinationv1.Lease, to string) (bool, error) {
	updated := record.DeepCopy()
	now := metav1.NewMicroTime(s.now())
	updated.Spec.HolderIdentity, updated.Spec.AcquireTime = ptr.To(to), &now
	updated.Spec.LeaseTransitions = ptr.To(ptr.Deref(record.Spec.LeaseTransitions, 0) + 1)
	if err := s.client.Update(ctx, updated); err != nil {
		return false, client.IgnoreNotFound(ignoreConflict(err))
	}
	return true, s.cached(ctx, updated)
}

func ignoreConflict(err error) error {
	if apierrors.IsConflict(err) {
		return nil
	}
	return err
}

// cached waits until the cache shows the record as written, so a later look reads what
// this shard wrote and not what it replaced.
func (s *Shard) cached(ctx context.Context, written *coordinationv1.Lease) error {
	return wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		seen := &coordinationv1.Lease{}
		if err := s.cache.Get(ctx, client.ObjectKeyFromObject(written), seen); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return holder(seen) == holder(written), nil
	})
}

// heldOnceCached waits until the cache has the record that exists, and reports whether
// this shard holds it.
func (s *Shard) heldOnceCached(ctx context.Context, record *coordinationv1.Lease) (bool, error) {
	seen := &coordinationv1.Lease{}
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		return client.IgnoreNotFound(s.cache.Get(ctx, client.ObjectKeyFromObject(record), seen)) == nil && seen.Name != "", nil
	})
	return err == nil && holder(seen) == s.name, err
}

// gone: no replica of shard runs, so nothing it started can still be writing. A shard
// that runs without leader election has no Lease and counts as gone: run shards with
// --leader-elect.
func (s *Shard) gone(ctx context.Context, shard string) (bool, error) {
	if shard == "" {
		return true, nil
	}
	lease := &coordinationv1.Lease{}
	err := s.cache.Get(ctx, client.ObjectKey{Namespace: s.operatorNamespace, Name: LeaseID(shard)}, lease)
	if apierrors.IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return !live(lease, s.now()), nil
}
