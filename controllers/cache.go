package controllers

import (
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// lastAppliedAnnotation is kubectl's copy of the whole object: never read, often the
// biggest part of it.
const lastAppliedAnnotation = corev1.LastAppliedConfigAnnotation

// CacheOptions keep in memory only what the operator reads, whatever other namespaces
// create: Secrets of its own namespace alone (the Clouds' credentials, the identity
// stores), since a label on a department's Secret is the department's to set; every
// other Secret is read live. Leases of its own namespace alone (shards' leaders and
// records). Nothing cached keeps managedFields or kubectl's
// last-applied copy.
func CacheOptions(operatorNamespace string) cache.Options {
	return cache.Options{
		DefaultTransform: stripUnread,
		ByObject: map[client.Object]cache.ByObject{
			// The Secret config inherits DefaultTransform (cache.Options defaults it).
			&corev1.Secret{}: {Namespaces: map[string]cache.Config{operatorNamespace: {}}},
			// The shards' leader Leases and the namespaces' shard records (controllers/shard).
			&coordinationv1.Lease{}: {Namespaces: map[string]cache.Config{operatorNamespace: {}}},
		},
	}
}

// stripUnread drops the parts of an object the operator never reads.
func stripUnread(in any) (any, error) {
	obj, err := meta.Accessor(in)
	if err != nil {
		return in, nil // a tombstone: already stripped when it was stored
	}
	obj.SetManagedFields(nil)
	if a := obj.GetAnnotations(); a[lastAppliedAnnotation] != "" {
		delete(a, lastAppliedAnnotation)
		obj.SetAnnotations(a)
	}
	return in, nil
}
