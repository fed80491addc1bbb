package controllers

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// cacertPath is where the department's clouds.yaml expects the CA bundle: mount the
// Secret at /etc/openstack, where openstackclient looks for clouds.yaml too.
const cacertPath = "/etc/openstack/cacert"

// reconcileCredential keeps the department's application credential: made when missing,
// rotated on schedule, at once when the rotate annotation or the roles change, the old
// one deleted after the grace period, and the department's Secret rewritten whenever it
// differs. It returns how long until the next rotation or deletion.
func (r *TenantReconciler) reconcileCredential(ctx context.Context, acc cloudAccess, admin TenantCloud, t *whv1.Tenant, now time.Time) (time.Duration, error) {
	spec := t.Spec.ApplicationCredential
	if spec == nil && t.Status.ApplicationCredential == nil {
		return 0, nil
	}
	// Live, like the Tenant: the store is what a rotation writes first.
	user, store, err := r.Access.projectUser(ctx, r.APIReader, t)
	if err != nil {
		return 0, err
	}
	cloud, err := r.Clouds.ProjectCloud(ctx, acc.ref, user)
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
	adoptStored(t, st, store, now)
	if reason := rotationReason(t, st, store, now); reason != "" {
		if err := r.rotate(ctx, cloud, t, st, store, now, reason); err != nil {
			return 0, err
		}
	}
	if err := r.retire(ctx, cloud, t, now, false); err != nil {
		return 0, err
	}
	if err := r.writeCredentialSecret(ctx, acc, admin, t, store); err != nil {
		return 0, err
	}
	wake := st.RotateAt.Sub(now)
	for _, old := range st.Retiring {
		wake = min(wake, old.DeleteAt.Sub(now))
	}
	return max(wake, time.Second), nil
}

// adoptStored takes into status a credential the identity store holds and status does
// not: the store is written first, so after a crash between the two writes the store's
// credential is the newest, and the department may already have it. It is kept, not
// made again; the one status named starts its grace period.
func adoptStored(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, store *corev1.Secret, now time.Time) {
	id := string(store.Data[storeAppCredIDKey])
	if id == "" || id == st.ID || len(store.Data[storeAppCredKey]) == 0 {
		return
	}
	// Its real expiry is at most the one recorded: it was made no later than now.
	switchTo(t, st, id, now)
}

// switchTo records id, made at now, as the current credential; the one it replaces
// starts its grace period.
func switchTo(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, id string, now time.Time) {
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
	st.Roles = slices.Clone(spec.Roles)
}

// rotationReason says why a new credential is needed now, or "" when none is.
func rotationReason(t *whv1.Tenant, st *whv1.ApplicationCredentialStatus, store *corev1.Secret, now time.Time) string {
	switch {
	case st.ID == "" || string(store.Data[storeAppCredIDKey]) != st.ID || len(store.Data[storeAppCredKey]) == 0:
		return "created"
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
func (r *TenantReconciler) rotate(ctx context.Context, cloud TenantCloud, t *whv1.Tenant, st *whv1.ApplicationCredentialStatus,
	store *corev1.Secret, now time.Time, reason string) error {
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
	store.Data[storeAppCredIDKey] = []byte(created.ID)
	store.Data[storeAppCredKey] = []byte(created.Secret)
	if err := r.Patch(ctx, store, patch); err != nil {
		// Unrecorded, it is an orphan: the next rotation deletes it (see retire).
		return err
	}
	switchTo(t, st, created.ID, now)
	notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "CredentialRotated", "CreateApplicationCredential",
		"Application credential %s %s; it expires at %s", created.ID, reason, expires.UTC().Format(time.RFC3339))
	return nil
}

// retire deletes replaced credentials whose grace period is over (all of them with
// everything set), and any credential of the service user that nothing records: one
// made just before a crash, whose secret was never stored.
func (r *TenantReconciler) retire(ctx context.Context, cloud TenantCloud, t *whv1.Tenant, now time.Time, everything bool) error {
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
			notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "CredentialDeleted", "DeleteApplicationCredential",
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

// writeCredentialSecret makes the department's Secret hold the current credential as a
// ready clouds.yaml, repairing it when edited or deleted by hand. A Secret of that name
// that the operator did not write is never overwritten.
func (r *TenantReconciler) writeCredentialSecret(ctx context.Context, acc cloudAccess, admin TenantCloud, t *whv1.Tenant, store *corev1.Secret) error {
	endpoint := admin.Endpoint()
	cloudsYAML, err := openstack.ApplicationCredentialCloudsYAML(endpoint, acc.cloudName,
		string(store.Data[storeAppCredIDKey]), string(store.Data[storeAppCredKey]), cacertPath)
	if err != nil {
		return err
	}
	want := map[string][]byte{openstack.CloudsYAMLKey: cloudsYAML}
	if len(endpoint.CACert) > 0 {
		want[openstack.CACertKey] = endpoint.CACert
	}
	name := t.Spec.ApplicationCredential.SecretName
	secret := &corev1.Secret{}
	err = r.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, secret)
	switch {
	case apierrors.IsNotFound(err):
		secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace, Name: name}}
		if err := r.ownSecret(t, secret); err != nil {
			return err
		}
		secret.Data = want
		err := r.Create(ctx, secret)
		if err == nil {
			notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "SecretWritten", "WriteSecret", "Wrote Secret %s with a clouds.yaml for cloud %q", name, acc.cloudName)
			return r.deleteCredentialSecret(ctx, t, name)
		}
		if !apierrors.IsAlreadyExists(err) {
			return err
		}
		// Not in the cache does not mean absent: the cache holds only Secrets the
		// operator labelled. Look at the real one (ours with its label removed by hand,
		// or the department's own).
		secret = &corev1.Secret{}
		if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: name}, secret); err != nil {
			return err
		}
		if !metav1.IsControlledBy(secret, t) {
			return secretConflict(t, name)
		}
	case err != nil:
		return err
	case !metav1.IsControlledBy(secret, t):
		return secretConflict(t, name)
	}
	if maps.EqualFunc(secret.Data, want, bytes.Equal) && secret.Labels[ManagedByLabel] == ManagedByValue {
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
	notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "SecretWritten", "WriteSecret", "Rewrote Secret %s with the current application credential", name)
	return nil
}

// ownSecret labels the Secret as the operator's and makes the Tenant its controller, so
// it goes with the Tenant.
func (r *TenantReconciler) ownSecret(t *whv1.Tenant, secret *corev1.Secret) error {
	if secret.Labels == nil {
		secret.Labels = map[string]string{}
	}
	secret.Labels[ManagedByLabel] = ManagedByValue
	secret.Labels[tenantNameLabel] = t.Name
	return controllerutil.SetControllerReference(t, secret, r.Scheme())
}

// deleteCredentialSecret deletes the credential Secrets this Tenant wrote, except keep:
// a renamed spec.applicationCredential.secretName leaves no stale copy behind.
func (r *TenantReconciler) deleteCredentialSecret(ctx context.Context, t *whv1.Tenant, keep string) error {
	var list corev1.SecretList
	if err := r.List(ctx, &list, client.InNamespace(t.Namespace), client.MatchingLabels{ManagedByLabel: ManagedByValue, tenantNameLabel: t.Name}); err != nil {
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

func secretConflict(t *whv1.Tenant, name string) error {
	return newSpecError(whv1.ReasonSecretConflict, fmt.Sprintf(
		"Secret %s/%s exists and was not written for this Tenant; it is left alone: choose another spec.applicationCredential.secretName, or delete it", t.Namespace, name))
}
