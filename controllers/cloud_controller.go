package controllers

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// CloudLogin is what the Cloud controller needs of OpenStack: that the login works, and
// how the cloud is reached.
type CloudLogin interface {
	Endpoint() openstack.Endpoint
}

var _ CloudLogin = (*openstack.Cloud)(nil)

// CloudReconciler reports whether the operator can log in with a Cloud's credentials.
type CloudReconciler struct {
	client.Client
	Recorder  recorder.EventRecorder
	Clouds    CloudConnector[CloudLogin]
	Access    Access
	Intervals Intervals
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds,verbs=get;list;watch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds/status,verbs=get;update;patch

// Reconcile logs in with the Cloud's credentials and writes status once.
func (r *CloudReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return reconcileKind(ctx, req, &whv1.Cloud{}, kind[*whv1.Cloud]{
		client:    r.Client,
		intervals: r.Intervals,
		status: func(c *whv1.Cloud) statusFields {
			return statusFields{&c.Status, &c.Status.Conditions, &c.Status.ObservedGeneration}
		},
		reconcile: r.reconcile,
	})
}

func (r *CloudReconciler) reconcile(ctx context.Context, cloud *whv1.Cloud) (step, error) {
	login, err := r.Clouds.Cloud(ctx, r.Access.cloudRef(cloud))
	if err != nil {
		return step{}, err
	}
	r.reportEndpoint(ctx, cloud, login.Endpoint())
	return step{message: fmt.Sprintf("logged in to %s", r.Access.cloudRef(cloud))}, nil
}

// reportEndpoint records where the cloud is, and warns when TLS is not verified.
func (r *CloudReconciler) reportEndpoint(ctx context.Context, cloud *whv1.Cloud, e openstack.Endpoint) {
	cloud.Status.AuthURL, cloud.Status.Region = e.AuthURL, e.Region
	cond := metav1.Condition{Type: whv1.ConditionInsecureTLS, Status: metav1.ConditionFalse, Reason: whv1.ReasonVerified,
		Message: "TLS certificates are verified", ObservedGeneration: cloud.Generation}
	if e.Insecure {
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonVerifyDisabled
		cond.Message = "clouds.yaml sets verify: false: the operator does not check the cloud's TLS certificate, so anyone on the path can read its admin credentials; give the Secret a cacert instead"
		if !meta.IsStatusConditionTrue(cloud.Status.Conditions, whv1.ConditionInsecureTLS) {
			notify(ctx, r.Recorder, cloud, corev1.EventTypeWarning, whv1.ReasonVerifyDisabled, "Login", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&cloud.Status.Conditions, cond)
}

// SetupWithManager registers the controller: Clouds, and the Secrets of the operator's
// namespace they name.
func (r *CloudReconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.Cloud{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.cloudsOfSecret)).
		Named("cloud").
		Complete(r)
}

func (r *CloudReconciler) cloudsOfSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	if secret.GetNamespace() != r.Access.OperatorNamespace {
		return nil
	}
	return listRequests(ctx, r.Client, &whv1.CloudList{}, client.MatchingFields{cloudSecretIndex: secret.GetName()})
}
