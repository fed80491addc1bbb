package shard

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
)

const (
	// Label on a Namespace names the shard that handles everything in it.
	Label = "whitehall.cloud/shard"
	// Default is the shard of every namespace without the label (or with it empty).
	Default = "default"
	// RecordLabel marks the per-namespace records among the operator namespace's Leases.
	RecordLabel = "whitehall.cloud/shard-record"
	// leaseSuffix ends every shard's leader Lease; the default shard's is the suffix
	// alone, as it was before shards.
	leaseSuffix = "whitehall-operator.whitehall.cloud"
	// recordSuffix ends a namespace's record: a namespace name has no dot, so no record
	// is ever named as a leader Lease.
	recordSuffix = ".shard.whitehall.cloud"
	// defaultRetry is how soon an object whose namespace is not yet this shard's is
	// looked at again.
	defaultRetry = 2 * time.Second
)

// Validate checks a --shard name: a DNS-1123 label, as a label value and a Lease name
// part must be; "" is the default shard.
func Validate(name string) error {
	if name == "" {
		return nil
	}
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("shard name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// Normalize is the shard a --shard value or a namespace label names: "" is Default.
func Normalize(name string) string {
	if name == "" {
		return Default
	}
	return name
}

// LeaseID is the leader election Lease of a shard: the default shard keeps the ID the
// operator had before shards, so an upgrade keeps its leader.
func LeaseID(name string) string {
	if name = Normalize(name); name == Default {
		return leaseSuffix
	}
	return name + "." + leaseSuffix
}

// RecordName is the name of namespace's record in the operator namespace.
func RecordName(namespace string) string { return namespace + recordSuffix }

// namespaceOfRecord is the namespace a record stands for; "" when name is no record's.
func namespaceOfRecord(name string) string {
	ns, ok := strings.CutSuffix(name, recordSuffix)
	if !ok || strings.Contains(ns, ".") {
		return ""
	}
	return ns
}

// Of is the shard a Namespace's label gives it.
func Of(ns *corev1.Namespace) string { return Normalize(ns.Labels[Label]) }

// Shard is one process's share of the namespaces: the gate every namespaced reconcile
// passes (Enter) and, as a manager Runnable, the hand-over of the namespaces whose
// label moved away.
type Shard struct {
	name              string
	operatorNamespace string
	// cache reads Namespaces and the operator namespace's Leases; client writes records.
	cache  client.Reader
	client client.Client
	now    func() time.Time
	// Retry is how soon work in a namespace this shard waits for is looked at again.
	Retry time.Duration

	mu       sync.Mutex
	inflight map[string]int  // reconciles under way, by namespace
	leaving  map[string]bool // namespaces being handed over: no new work
	wake     chan struct{}
}

// New is the shard named name ("" or "default": the default shard) of an operator whose
// own namespace is operatorNamespace. c writes the records; cache reads Namespaces and
// the operator namespace's Leases.
func New(name, operatorNamespace string, cache client.Reader, c client.Client) (*Shard, error) {
	if err := Validate(name); err != nil {
		return nil, err
	}
	return &Shard{
		name: Normalize(name), operatorNamespace: operatorNamespace, cache: cache, client: c, now: time.Now,
		Retry: defaultRetry, inflight: map[string]int{}, leaving: map[string]bool{}, wake: make(chan struct{}, 1),
	}, nil
}

// FromManager is New with the manager's cache and client.
func FromManager(mgr ctrl.Manager, name, operatorNamespace string) (*Shard, error) {
	return New(name, operatorNamespace, mgr.GetCache(), mgr.GetClient())
}

// Name is the shard's name; Default for the default shard.
func (s *Shard) Name() string {
	if s == nil {
		return Default
	}
	return s.name
}

// IsDefault: this process runs the default shard, and with it the cluster-wide work.
func (s *Shard) IsDefault() bool { return s.Name() == Default }

// labelled is the shard namespace's label names, and whether the namespace is known.
func (s *Shard) labelled(ctx context.Context, namespace string) (string, *corev1.Namespace, bool) {
	ns := &corev1.Namespace{}
	if err := s.cache.Get(ctx, client.ObjectKey{Name: namespace}, ns); err != nil {
		return "", nil, false
	}
	return Of(ns), ns, true
}

// Predicate passes the events of objects in namespaces labelled for this shard (and of
// objects whose namespace is not yet in the cache: Enter decides for those), so another
// shard's objects never reach this one's work queue. A nil Shard passes everything.
func (s *Shard) Predicate() predicate.Predicate {
	mine := func(o client.Object) bool {
		if s == nil || o.GetNamespace() == "" {
			return true
		}
		shard, _, known := s.labelled(context.Background(), o.GetNamespace())
		return !known || shard == s.name
	}
	return predicate.Funcs{
		CreateFunc:  func(e event.CreateEvent) bool { return mine(e.Object) },
		UpdateFunc:  func(e event.UpdateEvent) bool { return mine(e.ObjectNew) },
		DeleteFunc:  func(e event.DeleteEvent) bool { return mine(e.Object) },
		GenericFunc: func(e event.GenericEvent) bool { return mine(e.Object) },
	}
}

// live: the shard's leader Lease is held and was renewed within its duration, so a
// replica of it is running (and would stop before the Lease ran out).
func live(lease *coordinationv1.Lease, now time.Time) bool {
	spec := lease.Spec
	if spec.HolderIdentity == nil || *spec.HolderIdentity == "" || spec.RenewTime == nil || spec.LeaseDurationSeconds == nil {
		return false
	}
	return now.Before(spec.RenewTime.Add(time.Duration(*spec.LeaseDurationSeconds) * time.Second))
}

// holder is the shard holding a record.
func holder(record *coordinationv1.Lease) string {
	if record.Spec.HolderIdentity == nil {
		return ""
	}
	return *record.Spec.HolderIdentity
}
