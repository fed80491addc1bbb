package frame

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
)

// SetFinalizer adds (present) or removes the operator's finalizer with a patch of
// metadata.finalizers alone, under an optimistic lock. An Update would send the whole
// spec back in Go's canonical form (a ttl of 72h as 72h0m0s): the user's spec is never
// written by the operator. It reports whether anything was patched.
func SetFinalizer(ctx context.Context, c client.Writer, obj client.Object, finalizer string, present bool) (bool, error) {
	orig, ok := obj.DeepCopyObject().(client.Object)
	if !ok {
		return false, nil
	}
	changed := controllerutil.RemoveFinalizer(obj, finalizer)
	if present {
		changed = controllerutil.AddFinalizer(obj, finalizer)
	}
	if !changed {
		return false, nil
	}
	return true, c.Patch(ctx, obj, client.MergeFromWithOptions(orig, client.MergeFromWithOptimisticLock{}))
}
