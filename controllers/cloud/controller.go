package cloud

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Login is what the Cloud controller needs of OpenStack: that the login works, how the
// cloud is reached, and this cluster's record in it.
type Login interface {
	Endpoint() openstack.Endpoint
	openstack.ClusterRecords
}

var _ Login = (*openstack.Cloud)(nil)

// Reconciler reports whether the operator can log in with a Cloud's credentials.
type Reconciler struct {
	client.Client
	Recorder  recorder.EventRecorder
	Clouds    access.CloudConnector[Login]
	Access    access.Access
	Intervals frame.Intervals
	// ClusterID names this cluster in the cloud's cluster records; "" keeps none.
	ClusterID string
	// ClusterLease is how long the record lasts unrenewed; it is renewed three times
	// in each. Zero means access.DefaultClusterLease.
	ClusterLease time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds/finalizers,verbs=update
// +kubebuilder:rbac:groups=whitehall.cloud,resources=clouds/status,verbs=get;update;patch

// Reconcile logs in with the Cloud's credentials and writes status once.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	return frame.Reconcile(ctx, req, &whv1.Cloud{}, frame.Kind[*whv1.Cloud]{
		Client:    r.Client,
		Intervals: r.Intervals,
		// Kept while Tenants name the Cloud: their cleanup needs its credentials.
		Finalizer: whv1.CloudFinalizer,
		Reconcile: r.reconcile,
		Delete:    r.reconcileDelete,
	})
}

// reconcileDelete lets the Cloud go once no Tenant names it. A Tenant's cleanup (its
// project, service user and credential) logs in with the Cloud's credentials: a Cloud
// deleted under its Tenants would leave their projects behind, and every Tenant stuck.
// The Cloud and its Tenants are the platform team's view, so they are named.
func (r *Reconciler) reconcileDelete(ctx context.Context, cloud *whv1.Cloud) (frame.Step, error) {
	var tenants whv1.TenantList
	if err := r.List(ctx, &tenants, client.MatchingFields{lookups.CloudRefIndex: cloud.Name}); err != nil {
		return frame.Step{}, err
	}
	if n := len(tenants.Items); n > 0 {
		names := make([]string, 0, n)
		for _, t := range tenants.Items {
			names = append(names, t.Namespace+"/"+t.Name)
		}
		slices.Sort(names)
		more := ""
		if n > frame.MaxListed {
			names, more = names[:frame.MaxListed], fmt.Sprintf(" and %d more", n-frame.MaxListed)
		}
		msg := fmt.Sprintf("%d Tenant(s) still use this Cloud: %s%s; it is deleted once they are gone (their cleanup needs its credentials)",
			n, strings.Join(names, ", "), more)
		if ready := meta.FindStatusCondition(cloud.Status.Conditions, whv1.ConditionReady); ready == nil || ready.Message != msg {
			frame.Notify(ctx, r.Recorder, cloud, corev1.EventTypeWarning, whv1.ReasonDeletionBlocked, "DeleteCloud", "%s", msg)
		}
		return frame.Step{}, &frame.BlockedError{Message: msg}
	}
	r.leave(ctx, cloud)
	if _, err := frame.SetFinalizer(ctx, r.Client, cloud, whv1.CloudFinalizer, false); err != nil {
		return frame.Step{}, client.IgnoreNotFound(err)
	}
	return frame.Step{Released: true}, nil
}

func (r *Reconciler) reconcile(ctx context.Context, cloud *whv1.Cloud) (frame.Step, error) {
	login, err := r.Clouds.Cloud(ctx, r.Access.CloudRef(cloud))
	if err != nil {
		return frame.Step{}, err
	}
	r.reportEndpoint(ctx, cloud, login.Endpoint())
	msg := fmt.Sprintf("logged in to %s", r.Access.CloudRef(cloud))
	if r.ClusterID == "" {
		return frame.Step{Message: msg}, nil
	}
	// This cluster is alive: no other cluster takes its Tenants' projects.
	if err := login.RenewClusterRecord(ctx, r.ClusterID, r.now()); err != nil {
		return frame.Step{}, err
	}
	renew := r.lease() / 3
	return frame.Step{Message: fmt.Sprintf("%s; this cluster (%s) recorded as alive, renewed every %s", msg, r.ClusterID, renew), Wake: renew}, nil
}

// lease is the cluster lease in force.
func (r *Reconciler) lease() time.Duration { return access.ClusterLease(r.ClusterLease) }

// now reads the clock.
func (r *Reconciler) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

// leave marks this cluster's record in the cloud as left, once the Cloud's last Tenant
// is gone: another cluster may take at once the projects recorded as this one's. A
// cloud that cannot be reached does not keep the Cloud: the record then expires.
func (r *Reconciler) leave(ctx context.Context, cloud *whv1.Cloud) {
	if r.ClusterID == "" {
		return
	}
	login, err := r.Clouds.Cloud(ctx, r.Access.CloudRef(cloud))
	if err == nil {
		err = login.LeaveCloud(ctx, r.ClusterID)
	}
	if err != nil {
		frame.Notify(ctx, r.Recorder, cloud, corev1.EventTypeWarning, frame.Reason(err, r.Intervals), "LeaveCloud",
			"This cluster's record in the cloud was not marked as left (%s); it expires after %s", openstack.Message(err), r.lease())
	}
}

// reportEndpoint records where the cloud is, and warns when TLS is not verified.
func (r *Reconciler) reportEndpoint(ctx context.Context, cloud *whv1.Cloud, e openstack.Endpoint) {
	cloud.Status.AuthURL, cloud.Status.Region = e.AuthURL, e.Region
	cond := metav1.Condition{Type: whv1.ConditionInsecureTLS, Status: metav1.ConditionFalse, Reason: whv1.ReasonVerified,
		Message: "TLS certificates are verified", ObservedGeneration: cloud.Generation}
	if e.Insecure {
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonVerifyDisabled
		cond.Message = "clouds.yaml sets verify: false: the operator does not check the cloud's TLS certificate, so anyone on the path can read its admin credentials; give the Secret a cacert instead"
		if !meta.IsStatusConditionTrue(cloud.Status.Conditions, whv1.ConditionInsecureTLS) {
			frame.Notify(ctx, r.Recorder, cloud, corev1.EventTypeWarning, whv1.ReasonVerifyDisabled, "Login", "%s", cond.Message)
		}
	}
	meta.SetStatusCondition(&cloud.Status.Conditions, cond)
}

// SetupWithManager registers the controller: Clouds, the Secrets of the operator's
// namespace they name, and the Tenants that keep a Cloud being deleted.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	return ctrl.NewControllerManagedBy(mgr).
		For(&whv1.Cloud{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, frame.DeletionPredicate()))).
		Watches(&corev1.Secret{}, handler.EnqueueRequestsFromMapFunc(r.cloudsOfSecret)).
		// The last Tenant gone lets a Cloud being deleted go at once.
		Watches(&whv1.Tenant{}, handler.EnqueueRequestsFromMapFunc(r.cloudOfTenant), builder.WithPredicates(tenantGone)).
		Named("cloud").
		Complete(r)
}

func (r *Reconciler) cloudsOfSecret(ctx context.Context, secret client.Object) []reconcile.Request {
	if secret.GetNamespace() != r.Access.OperatorNamespace {
		return nil
	}
	return lookups.ListRequests(ctx, r.Client, &whv1.CloudList{}, client.MatchingFields{lookups.CloudSecretIndex: secret.GetName()})
}

// tenantGone passes only the deletion of a Tenant: nothing else of a Tenant matters to
// its Cloud.
var tenantGone = predicate.Funcs{
	CreateFunc:  func(event.CreateEvent) bool { return false },
	UpdateFunc:  func(event.UpdateEvent) bool { return false },
	DeleteFunc:  func(event.DeleteEvent) bool { return true },
	GenericFunc: func(event.GenericEvent) bool { return false },
}

// cloudOfTenant enqueues the Cloud a Tenant named, when that Cloud is being deleted.
func (r *Reconciler) cloudOfTenant(ctx context.Context, o client.Object) []reconcile.Request {
	t, ok := o.(*whv1.Tenant)
	if !ok || t.Spec.CloudRef == nil {
		return nil
	}
	cloud := &whv1.Cloud{}
	if err := r.Get(ctx, client.ObjectKey{Name: t.Spec.CloudRef.Name}, cloud); err != nil || cloud.DeletionTimestamp.IsZero() {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: cloud.Name}}}
}
