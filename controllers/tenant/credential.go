package tenant

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// cacertPath is where the department's clouds.yaml expects the CA bundle: mount the
// Secret at /etc/openstack, where openstackclient looks for clouds.yaml too.
const cacertPath = "/etc/openstack/cacert"

// reconcileCredential keeps the department's application credential: made when missing,
// rotated on schedule, at once when the rotate annotation or the roles change, the old
// one deleted after the grace period, and the department's Secret rewritten whenever it
// differs. It returns how long until the next rotation or deletion.
func (r *Reconciler) reconcileCredential(ctx context.Context, acc access.CloudAccess, admin Cloud, t *whv1.Tenant, now time.Time) (time.Duration, error) {
	spec := t.Spec.ApplicationCredential
	if spec == nil && t.Status.ApplicationCredential == nil {
		return 0, nil
	}
	// Live, like the Tenant: the store is what a rotation writes first.
	user, store, err := r.Access.ProjectUser(ctx, r.APIReader, t)
	if err != nil {
		return 0, err
	}
	cloud, err := r.Clouds.ProjectCloud(ctx, acc.Ref, user)
	if err != nil {
		return 0, err
	}
	if spec == nil {
		// No longer asked for: every credential goes, and the Secret with them.
		if err := r.retire(ctx, cloud, t, now, true); err != nil {
			return 0, err
		}
		t.Status.ApplicationCredential = nil
		return 0, r.deleteCredentialSecret(ctx, t, "")
	}

	st := t.Status.ApplicationCredential
	if st == nil {
		st = &whv1.ApplicationCredentialStatus{}
		t.Status.ApplicationCredential = st
	}
	secret, err := r.credentialSecret(ctx, t)
	if err != nil {
		return 0, err
	}
	requested := rotationRequested(t, secret)
	adoptStored(t, st, store, requested, now)
	if reason := rotationReason(t, st, store, requested, now); reason != "" {
		if err := r.rotate(ctx, cloud, t, st, store, requested, now, reason); err != nil {
			return 0, err
		}
	}
	if err := r.retire(ctx, cloud, t, now, false); err != nil {
		return 0, err
	}
	if err := r.keepRetiringBounded(ctx, cloud, t, st); err != nil {
		return 0, err
	}
	if err := r.writeCredentialSecret(ctx, acc, admin, t, store, secret); err != nil {
		return 0, err
	}
	wake := st.RotateAt.Sub(now)
	for _, old := range st.Retiring {
		wake = min(wake, old.DeleteAt.Sub(now))
	}
	return max(wake, time.Second), nil
}

// adoptStored takes into status a credential the identity store has and status does
// not: the store is written first, so after a crash between the two writes the store's
// credential is the newest, and the department may already have it. It is kept, not
// made again; the one status named starts its grace period.
func adoptStored(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, store *corev1.Secret, requested string, now time.Time) {
	id := string(store.Data[access.StoreAppCredIDKey])
	if id == "" || id == st.ID || len(store.Data[access.StoreAppCredKey]) == 0 {
		return
	}
	// Its real expiry is at most the one recorded: it was made no later than now.
	switchTo(t, st, id, requested, now)
}

// switchTo records id, made at now, as the current credential, and the rotation requests
// it answers; the one it replaces starts its grace period.
func switchTo(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, id, requested string, now time.Time) {
	spec := t.Spec.ApplicationCredential
	if st.ID != "" {
		st.Retiring = append(st.Retiring, whv1.RetiringCredential{ID: st.ID, DeleteAt: metav1.NewTime(now.Add(spec.GracePeriod.Duration))})
	}
	expires := now.Add(spec.ExpiresAfter.Duration)
	st.ID = id
	st.CreatedAt = &metav1.Time{Time: now}
	st.ExpiresAt = &metav1.Time{Time: expires}
	st.RotateAt = &metav1.Time{Time: expires.Add(-spec.RotateBefore.Duration)}
	st.Rotation = t.Annotations[whv1.RotateAnnotation]
	if requested != "" {
		st.SecretRotation = requested
	}
	st.Roles = slices.Clone(spec.Roles)
}

// rotationReason says why a new credential is needed now, or "" when none is.
func rotationReason(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, store *corev1.Secret, requested string, now time.Time) string {
	switch {
	case st.ID == "" || string(store.Data[access.StoreAppCredIDKey]) != st.ID || len(store.Data[access.StoreAppCredKey]) == 0:
		return "created"
	case requested != "" && requested != st.SecretRotation:
		return fmt.Sprintf("rotated on request (annotation %s on Secret %s)", whv1.RotateAnnotation, t.Spec.ApplicationCredential.SecretName)
	case st.Rotation != t.Annotations[whv1.RotateAnnotation]:
		return fmt.Sprintf("rotated on request (annotation %s)", whv1.RotateAnnotation)
	case !sameSet(st.Roles, t.Spec.ApplicationCredential.Roles):
		return "rotated because its roles changed"
	case st.RotateAt == nil || !now.Before(st.RotateAt.Time):
		return "rotated on schedule"
	}
	return ""
}

// rotate makes a new credential and records its secret in the identity store at once,
// before anything else can fail; the one it replaces starts its grace period.
func (r *Reconciler) rotate(ctx context.Context, cloud Cloud, t *whv1.Tenant, st *whv1.ApplicationCredentialStatus,
	store *corev1.Secret, requested string, now time.Time, reason string) error {
	spec := t.Spec.ApplicationCredential
	expires := now.Add(spec.ExpiresAfter.Duration)
	created, err := cloud.CreateApplicationCredential(ctx, openstack.ApplicationCredentialCreate{
		Name:        fmt.Sprintf("whitehall-%s-%d", t.UID, now.UnixNano()), // fits Keystone's 255 characters whatever the names
		Description: fmt.Sprintf("whitehall-operator: Secret %s/%s", t.Namespace, spec.SecretName),
		Roles:       spec.Roles,
		ExpiresAt:   expires,
	})
	if err != nil {
		return err
	}
	patch := client.MergeFrom(store.DeepCopy())
	store.Data[access.StoreAppCredIDKey] = []byte(created.ID)
	store.Data[access.StoreAppCredKey] = []byte(created.Secret)
	if err := r.Patch(ctx, store, patch); err != nil {
		// Unrecorded, it is an orphan: the next rotation deletes it (see retire).
		return err
	}
	switchTo(t, st, created.ID, requested, now)
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "CredentialRotated", "CreateApplicationCredential",
		"Application credential %s %s; it expires at %s", created.ID, reason, expires.UTC().Format(time.RFC3339))
	return nil
}

// retire deletes replaced credentials whose grace period is over (all of them with
// everything set), and any credential of the service user that nothing records: one
// made just before a crash, whose secret was never stored.
func (r *Reconciler) retire(ctx context.Context, cloud Cloud, t *whv1.Tenant, now time.Time, everything bool) error {
	st := t.Status.ApplicationCredential
	if st == nil {
		return nil
	}
	keep := map[string]bool{}
	var retiring []whv1.RetiringCredential
	for _, old := range st.Retiring {
		if everything || !now.Before(old.DeleteAt.Time) {
			if err := cloud.DeleteApplicationCredential(ctx, old.ID); err != nil {
				return err
			}
			frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "CredentialDeleted", "DeleteApplicationCredential",
				"Deleted replaced application credential %s", old.ID)
			continue
		}
		keep[old.ID] = true
		retiring = append(retiring, old)
	}
	st.Retiring = retiring
	if everything {
		if st.ID != "" {
			if err := cloud.DeleteApplicationCredential(ctx, st.ID); err != nil {
				return err
			}
		}
		return nil
	}
	if st.CreatedAt == nil || now.Sub(st.CreatedAt.Time) > time.Minute {
		return nil // orphans can only appear when a credential was just made
	}
	keep[st.ID] = true
	all, err := cloud.ListApplicationCredentials(ctx)
	if err != nil {
		return err
	}
	for _, ac := range all {
		if !keep[ac.ID] {
			if err := cloud.DeleteApplicationCredential(ctx, ac.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

// credentialSecret reads the department's credential Secret live (the cache has no
// department Secret); nil when there is none.
func (r *Reconciler) credentialSecret(ctx context.Context, t *whv1.Tenant) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: t.Spec.ApplicationCredential.SecretName}, secret)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return secret, err
}

// rotationRequested is the department's own request to rotate: the rotate annotation on
// the credential Secret this Tenant wrote (anyone who may edit Secrets in the namespace
// may set it). A long value is kept as its digest, so status stays small.
func rotationRequested(t *whv1.Tenant, secret *corev1.Secret) string {
	if secret == nil || !metav1.IsControlledBy(secret, t) {
		return ""
	}
	v := secret.Annotations[whv1.RotateAnnotation]
	if len(v) > 63 {
		return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(v)))
	}
	return v
}

// writeCredentialSecret makes the department's Secret (secret, as read; nil when absent)
// contain the current credential as a ready clouds.yaml, repairing it when edited or
// deleted by hand. A Secret of that name that the operator did not write is never
// overwritten.
func (r *Reconciler) writeCredentialSecret(ctx context.Context, acc access.CloudAccess, admin Cloud, t *whv1.Tenant, store, secret *corev1.Secret) error {
	endpoint := admin.Endpoint()
	cloudsYAML, err := openstack.ApplicationCredentialCloudsYAML(endpoint, acc.CloudName,
		string(store.Data[access.StoreAppCredIDKey]), string(store.Data[access.StoreAppCredKey]), cacertPath)
	if err != nil {
		return err
	}
	want := map[string][]byte{openstack.CloudsYAMLKey: cloudsYAML}
	if len(endpoint.CACert) > 0 {
		want[openstack.CACertKey] = endpoint.CACert
	}
	name := t.Spec.ApplicationCredential.SecretName
	if secret == nil {
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace, Name: name}}
		if err := r.ownSecret(t, secret); err != nil {
			return err
		}
		secret.Data = want
		if err := r.Create(ctx, secret); err != nil {
			return err // made meanwhile by someone: read again on the retry
		}
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "SecretWritten", "WriteSecret", "Wrote Secret %s with a clouds.yaml for cloud %q", name, acc.CloudName)
		return r.deleteCredentialSecret(ctx, t, name)
	}
	if !metav1.IsControlledBy(secret, t) {
		return secretConflict(t, name)
	}
	if maps.EqualFunc(secret.Data, want, bytes.Equal) && secret.Labels[access.ManagedByLabel] == access.ManagedByValue && secret.Labels[access.TenantNameLabel] == t.Name {
		return nil
	}
	patch := client.MergeFrom(secret.DeepCopy())
	if err := r.ownSecret(t, secret); err != nil {
		return err
	}
	secret.Data = want
	if err := r.Patch(ctx, secret, patch); err != nil {
		return err
	}
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "SecretWritten", "WriteSecret", "Rewrote Secret %s with the current application credential", name)
	return nil
}

// ownSecret labels the Secret as the operator's and makes the Tenant its controller, so
// it goes with the Tenant.
func (r *Reconciler) ownSecret(t *whv1.Tenant, secret *corev1.Secret) error {
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[access.ManagedByLabel] = access.ManagedByValue
	secret.Labels[access.TenantNameLabel] = t.Name
	return controllerutil.SetControllerReference(t, secret, r.Scheme())
}

// deleteCredentialSecret deletes the credential Secrets this Tenant wrote, except keep:
// a renamed spec.applicationCredential.secretName leaves no stale copy behind.
func (r *Reconciler) deleteCredentialSecret(ctx context.Context, t *whv1.Tenant, keep string) error {
	var list corev1.SecretList
	if err := r.APIReader.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingLabels{access.ManagedByLabel: access.ManagedByValue, access.TenantNameLabel: t.Name}); err != nil {
		return err
	}
	for i := range list.Items {
		s := &list.Items[i]
		if s.Name == keep || !metav1.IsControlledBy(s, t) {
			continue
		}
		if err := r.Delete(ctx, s); client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

// maxRetiring is the MaxItems of status.applicationCredential.retiring.
const maxRetiring = 4

// keepRetiringBounded deletes in Keystone the replaced credentials that have waited
// longest, before their grace period ends, while more than maxRetiring remain: only
// rotations asked for faster than the grace period get there. A credential leaves status
// only once deleted, so none is leaked.
func (r *Reconciler) keepRetiringBounded(ctx context.Context, cloud Cloud, t *whv1.Tenant, st *whv1.ApplicationCredentialStatus) error {
	for len(st.Retiring) > maxRetiring {
		oldest := 0
		for i, c := range st.Retiring {
			if c.DeleteAt.Before(&st.Retiring[oldest].DeleteAt) {
				oldest = i
			}
		}
		id := st.Retiring[oldest].ID
		if err := cloud.DeleteApplicationCredential(ctx, id); err != nil {
			return err
		}
		st.Retiring = slices.Delete(st.Retiring, oldest, oldest+1)
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeWarning, "CredentialDeleted", "DeleteApplicationCredential",
			"Deleted replaced application credential %s before its grace period ended: at most %d replaced credentials are kept", id, maxRetiring)
	}
	return nil
}

func secretConflict(t *whv1.Tenant, name string) error {
	return frame.NewSpecError(whv1.ReasonSecretConflict, fmt.Sprintf(
		"Secret %s/%s exists and was not written for this Tenant; it is left alone: choose another spec.applicationCredential.secretName, or delete it", t.Namespace, name))
}
