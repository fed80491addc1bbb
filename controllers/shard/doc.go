// Package shard splits the departments' namespaces between operator processes, on
// Kubernetes' own machinery: the label whitehall.cloud/shard on a Namespace says which
// shard handles everything in it (none, empty or "default": the default shard), each
// shard elects its own leader with its own Lease, and one small record per namespace
// (a Lease in the operator's namespace, held by the shard that works there) hands a
// namespace over from one shard to another without a gap and without two writers.
//
// A shard S works in namespace N only when N's label says S and N's record is held by
// S. When the label moves from A to B, A stops taking work in N, waits until none of
// its reconciles of N is in flight, and gives the record to B; B waits until the record
// is its own, or until A is gone (no replica of A holds A's leader Lease), and never
// takes it while A lives and holds N. Cluster-wide work (Clouds, PeakSeasons,
// DepartmentPolicies, the usage reader) runs in the default shard only: every shard's
// cache holds every namespace's objects, so what it counts spans them all.
//
// The package imports no kind; the namespaced kinds call Enter through the frame
// (frame.Kind.Gate) and filter their watches with Predicate.
package shard
