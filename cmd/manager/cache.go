package main

import (
	"context"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// secretReader reads Secrets of the operator's namespace from the cache and any other
// Secret live from the API server, since the cache holds no other (controllers.CacheOptions).
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
