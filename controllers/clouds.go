package controllers

import (
	"context"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// CloudConnector returns the cloud a credentials reference names, as the narrow
// interface T a controller needs. Tests give controllers a fake connector.
type CloudConnector[T any] func(ctx context.Context, ref openstack.CredentialsRef) (T, error)

// FactoryConnector adapts the real client factory to a controller's interface T, which
// *openstack.Cloud must implement (checked where each interface is declared).
func FactoryConnector[T any](f *openstack.Factory) CloudConnector[T] {
	return func(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
		var zero T
		cloud, err := f.Cloud(ctx, ref)
		if err != nil {
			return zero, err
		}
		return any(cloud).(T), nil
	}
}
