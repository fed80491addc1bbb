package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// TenantCloud is what the Tenant controller needs of OpenStack.
type TenantCloud interface {
	openstack.Projects
	openstack.Directory
	openstack.RoleAssignments
	openstack.ProjectContents
	openstack.Networks
}

var _ TenantCloud = (*openstack.Cloud)(nil)

// TenantReconciler keeps a department's Keystone project, its people and its lifecycle
// in line with a Tenant.
type TenantReconciler struct {
	client.Client
	Recorder recorder.EventRecorder
	Clouds   CloudConnector[TenantCloud]
	// Intervals of resync and of retries that no watch can trigger.
	Intervals Intervals
	// Concurrency is how many objects are reconciled at once.
	Concurrency int
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=testenvironments,verbs=get;list;watch;delete

// Reconcile reads the Tenant, acts on OpenStack, and writes status once.
func (r *TenantReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	tenant := &whv1.Tenant{}
	if err := r.Get(ctx, req.NamespacedName, tenant); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if tenant.DeletionTimestamp.IsZero() && controllerutil.AddFinalizer(tenant, whv1.TenantFinalizer) {
		// Before anything exists in OpenStack, so nothing can be created that the
		// operator would not clean up.
		if err := r.Update(ctx, tenant); err != nil {
			return ctrl.Result{}, err
		}
	}
	orig := tenant.DeepCopy()

	deleting := !tenant.DeletionTimestamp.IsZero()
	var err error
	if deleting {
		var done bool
		if done, err = r.reconcileDelete(ctx, tenant); done {
			return ctrl.Result{}, nil
		}
	} else {
		err = r.reconcile(ctx, tenant)
	}

	o := classify(err, fmt.Sprintf("project %s (%s) is up to date", tenant.Status.ProjectName, tenant.Status.ProjectID), r.Intervals)
	if deleting && err == nil {
		o = outcome{reason: whv1.ReasonDeleting, progressing: true, retry: true}
	}
	o.apply(&tenant.Status.Conditions, tenant.Generation)
	tenant.Status.ObservedGeneration = tenant.Generation
	if !equality.Semantic.DeepEqual(orig.Status, tenant.Status) {
		if perr := r.Status().Patch(ctx, tenant, client.MergeFrom(orig)); perr != nil {
			return ctrl.Result{}, client.IgnoreNotFound(perr) // gone while we worked
		}
	}
	return o.result(err)
}

func (r *TenantReconciler) reconcile(ctx context.Context, t *whv1.Tenant) error {
	cloud, err := r.Clouds.Cloud(ctx, credentialsRef(t.Namespace, t.Spec.CloudCredentialsRef))
	if err != nil {
		return err
	}
	created, err := r.reconcileProject(ctx, cloud, t)
	if err != nil {
		return err
	}
	if err := r.reconcileAssignments(ctx, cloud, t, created); err != nil {
		return err
	}
	return r.reconcileNetwork(ctx, cloud, t)
}

// credentialsRef resolves a reference in the object's own namespace: a Tenant can never
// name another namespace's Secret.
func credentialsRef(namespace string, ref whv1.CloudCredentialsReference) openstack.CredentialsRef {
	return openstack.CredentialsRef{Namespace: namespace, SecretName: ref.SecretName, CloudName: ref.CloudName}
}

// SetupWithManager registers the controller: Tenants, and the Secrets they use.
func (r *TenantReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.Tenant{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, deletionPredicate()))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.tenantsUsingSecret)).
		// A Tenant being deleted waits for its TestEnvironments: each one gone wakes it.
		Watches(&whv1.TestEnvironment{}, handler.EnqueueRequestsFromMapFunc(tenantOfEnvironment),
			builder.WithPredicates(predicate.Funcs{
				CreateFunc: func(event.CreateEvent) bool { return false },
				UpdateFunc: func(event.UpdateEvent) bool { return false },
			})).
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Named("tenant").
		Complete(r)
}

func tenantOfEnvironment(_ context.Context, o client.Object) []reconcile.Request {
	env := o.(*whv1.TestEnvironment)
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: env.Namespace, Name: env.Spec.TenantRef.Name}}}
}

func (r *TenantReconciler) tenantsUsingSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	return listRequests(ctx, r.Client, &whv1.TenantList{}, client.InNamespace(secret.GetNamespace()), client.MatchingFields{credentialsSecretIndex: secret.GetName()})
}
