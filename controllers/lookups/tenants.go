package lookups

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
)

// ReadyTenant returns the named Tenant once it has a project and is not being deleted:
// a Tenant on its way out gets no new servers and no quota. Otherwise it returns a
// TenantNotReady error, as progress (frame.WaitingError): GitOps applies a Tenant and its
// dependents together, and they wait for it. The Tenant watch brings the object back.
func ReadyTenant(ctx context.Context, c client.Reader, namespace, name string) (*whv1.Tenant, error) {
	tenant := &whv1.Tenant{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, tenant); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, frame.NewWaitingError(whv1.ReasonTenantNotReady, fmt.Sprintf("Tenant %q does not exist in namespace %s", name, namespace))
		}
		return nil, err
	}
	switch {
	case !tenant.DeletionTimestamp.IsZero():
		return nil, frame.NewWaitingError(whv1.ReasonTenantNotReady, fmt.Sprintf("Tenant %q is being deleted: nothing new is made for it", tenant.Name))
	case tenant.Status.ProjectID == "":
		return nil, frame.NewWaitingError(whv1.ReasonTenantNotReady, fmt.Sprintf("Tenant %q has no project yet", tenant.Name))
	}
	return tenant, nil
}
