package main

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers"
)

// cacheOptions keep only the Secrets the operator needs in memory: every Secret of its
// own namespace (the Clouds' credentials, the project identities) and, elsewhere, only
// the Secrets it wrote itself. A department's other Secrets are never cached; the few it
// names (its own credentials, user data) are read live, when named.
func cacheOptions(operatorNamespace string) cache.Options {
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.Secret{}: {Namespaces: map[string]cache.Config{
			operatorNamespace: {},
			cache.AllNamespaces: {LabelSelector: labels.SelectorFromSet(labels.Set{
				controllers.ManagedByLabel: controllers.ManagedByValue,
			})},
		}},
	}}
}

// secretReader reads Secrets of the operator's namespace from the cache and any other
// Secret live from the API server, since the cache does not hold it.
type secretReader struct {
	cached, live client.Reader
	namespace    string
}

func (s secretReader) Get(ctx context.Context, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
	if key.Namespace == s.namespace {
		return s.cached.Get(ctx, key, obj, opts...)
	}
	return s.live.Get(ctx, key, obj, opts...)
}

func (s secretReader) List(ctx context.Context, list client.ObjectList, opts ...client.ListOption) error {
	return s.live.List(ctx, list, opts...)
}
