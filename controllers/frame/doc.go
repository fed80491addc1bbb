// Package frame is the reconcile frame every kind runs in: get, finalizer, the kind's
// step, settle into conditions and requeue, one status patch; and what the kinds share
// around it: events, the fair queue, metric publishing hooks, watch predicates.
// It imports no kind, nor access or lookups: they build on it.
package frame
