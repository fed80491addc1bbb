package access

import (
	"context"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// CloudConnector hands a controller the cloud a credentials reference names, as the
// narrow interface T it needs. Tests give controllers a fake connector.
type CloudConnector[T any] interface {
	// Cloud returns the cloud for ref.
	Cloud(ctx context.Context, ref openstack.CredentialsRef) (T, error)
	// CloudForCleanup returns the cloud for deleting what the operator created, even
	// when the Secret went first (as when a namespace is deleted), if it can.
	CloudForCleanup(ctx context.Context, ref openstack.CredentialsRef) (T, error)
	// ProjectCloud returns the cloud ref reaches, logged in as a project's service user.
	ProjectCloud(ctx context.Context, ref openstack.CredentialsRef, user openstack.ProjectUser) (T, error)
}

// FactoryConnector adapts the real client factory to a controller's interface T, which
// *openstack.Cloud must implement (checked where each interface is declared).
func FactoryConnector[T any](f *openstack.Factory) CloudConnector[T] {
	return factoryConnector[T]{f}
}

type factoryConnector[T any] struct{ f *openstack.Factory }

func (c factoryConnector[T]) Cloud(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
	return as[T](c.f.Cloud(ctx, ref))
}

func (c factoryConnector[T]) CloudForCleanup(ctx context.Context, ref openstack.CredentialsRef) (T, error) {
	return as[T](c.f.CloudForCleanup(ctx, ref))
}

func (c factoryConnector[T]) ProjectCloud(ctx context.Context, ref openstack.CredentialsRef, user openstack.ProjectUser) (T, error) {
	return as[T](c.f.ProjectCloud(ctx, ref, user))
}

func as[T any](cloud *openstack.Cloud, err error) (T, error) {
	var zero T
	if err != nil {
		return zero, err
	}
	return any(cloud).(T), nil
}
