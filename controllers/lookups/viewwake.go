package lookups

import (
	"context"

	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// ProjectIDIndex: Tenants and ComputeQuotas by the project their status records.
const ProjectIDIndex = "status.projectID"

// setupProjectIndexes registers ProjectIDIndex: how a change a bulk view finds in a
// project reaches the objects of that project.
func setupProjectIndexes(ctx context.Context, mgr ctrl.Manager) error {
	idx := mgr.GetFieldIndexer()
	if err := idx.IndexField(ctx, &whv1.Tenant{}, ProjectIDIndex, func(o client.Object) []string {
		return nonEmpty(o.(*whv1.Tenant).Status.ProjectID)
	}); err != nil {
		return err
	}
	return idx.IndexField(ctx, &whv1.ComputeQuota{}, ProjectIDIndex, func(o client.Object) []string {
		return nonEmpty(o.(*whv1.ComputeQuota).Status.ProjectID)
	})
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// ViewChanges is the source that reconciles at once the objects whose project a bulk
// view refresh found changed behind the operator's back (objects maps a project ID to
// their requests; ObjectsOfProject for most kinds): a difference found in bulk is
// repaired by the object's own reconcile, which the view serves. Only the project ID
// passes: each object still reads its own project, through its own cloud, by the ID in
// its own status.
func ViewChanges(mgr ctrl.Manager, feed *openstack.ViewFeed, objects func(ctx context.Context, projectID string) []reconcile.Request) (source.Source, error) {
	changes := feed.Subscribe()
	events := make(chan event.TypedGenericEvent[string], 256)
	// Started with the manager, stopped with it; it only turns batches into events.
	err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case ids := <-changes:
				for _, id := range ids {
					select {
					case events <- event.TypedGenericEvent[string]{Object: id}:
					case <-ctx.Done():
						return nil
					}
				}
			}
		}
	}))
	if err != nil {
		return nil, err
	}
	return source.Channel(events, handler.TypedEnqueueRequestsFromMapFunc(objects)), nil
}

// ObjectsOfProject maps a project ID to the requests of the objects newList lists whose
// status records it.
func ObjectsOfProject(reader client.Reader, newList func() client.ObjectList) func(context.Context, string) []reconcile.Request {
	return func(ctx context.Context, projectID string) []reconcile.Request {
		return ListRequests(ctx, reader, newList(), client.MatchingFields{ProjectIDIndex: projectID})
	}
}
