package tenant

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	ctrl "sigs.k8s.io/controller-runtime"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// reconcileProject finds, adopts or creates the project, repairs any drift in it, and
// records it in status. It reports whether it created the project just now. It never
// touches a project that does not record this Tenant as its owner, nor a protected one.
func (r *Reconciler) reconcileProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant) (*openstack.Project, bool, error) {
	domainID, err := cloud.DomainID(ctx, t.Spec.Project.Domain)
	if err != nil {
		return nil, false, err
	}
	project, err := r.observeProject(ctx, cloud, acc, t, domainID)
	if err != nil {
		return nil, false, err
	}
	created := false
	if project == nil {
		if project, created, err = r.createProject(ctx, cloud, acc, t, domainID); err != nil {
			return nil, false, err
		}
	}
	if project, err = r.stampCluster(ctx, cloud, t, project); err != nil {
		return nil, false, err
	}
	t.Status.ProjectID, t.Status.DomainID = project.ID, project.DomainID
	if t.Status.ProjectName == "" {
		// The name an imported project had when it was adopted is the name it keeps.
		t.Status.ProjectName = project.Name
	}

	update, changed := projectDrift(t, project)
	if update.IsEmpty() {
		return project, created, nil
	}
	if _, err := cloud.UpdateProject(ctx, project.ID, update); err != nil {
		return nil, false, err
	}
	t.Status.ProjectName = t.ProjectName()
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Updated", "UpdateProject",
		"Set %s of project %s to match the spec", strings.Join(changed, ", "), project.ID)
	return project, created, nil
}

// observeProject returns the project this Tenant owns, adopting an imported one, or nil
// when the project is still to be created.
func (r *Reconciler) observeProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, domainID string) (*openstack.Project, error) {
	if t.Status.ProjectID != "" && !observedImport(t) {
		// At rest the cloud's bulk view serves it, unless the operator wrote to it since.
		p, err := cloud.GetProject(openstack.AtRest(ctx), t.Status.ProjectID)
		switch {
		case err == nil:
			return p, ownedBy(acc, t, p)
		case !openstack.IsNotFound(err):
			return nil, err
		case t.Status.Adopted:
			return nil, frame.NewSpecError(whv1.ReasonDependencyNotFound,
				fmt.Sprintf("the imported project %s no longer exists in OpenStack", t.Status.ProjectID))
		}
		// Deleted by hand: it is recreated, like any other drift.
		ctrl.LoggerFrom(ctx).Info("project deleted outside the operator; recreating it", "projectID", t.Status.ProjectID)
		t.Status.ProjectID, t.Status.RoleAssignments, t.Status.ServiceUserID = "", nil, ""
	}
	if imp := t.Spec.Import; imp != nil {
		return r.adoptProject(ctx, cloud, acc, t, domainID)
	}
	// Nothing recorded: the project is created, unless this Tenant made one under the
	// old default name before a crash lost its ID. If one by the name exists already,
	// Keystone refuses (409) and createProject looks at whose it is.
	p, back, err := r.legacyProject(ctx, cloud, acc, t, domainID)
	if back {
		return r.takeBack(ctx, cloud, t, p)
	}
	return p, err
}

// observedImport reports whether status names a project to import that was only
// observed (managementPolicy Observe) and never adopted: it is adopted now, its handover
// checked, not taken for this Tenant's own.
func observedImport(t *whv1.Tenant) bool { return t.Spec.Import != nil && !t.Status.Adopted }

// legacyProject is the project this Tenant made under the old default name
// (<namespace>-<name>) and never recorded: found by that name and taken only if it
// records this Tenant as its owner, so it keeps its name. The old default could name
// another namespace's project, which is never taken. Nil when there is none; back when
// this Tenant takes it back from its former self (mayTakeBack).
func (r *Reconciler) legacyProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, domainID string) (_ *openstack.Project, back bool, _ error) {
	if t.Spec.Project.Name != nil {
		return nil, false, nil
	}
	p, err := cloud.FindProject(ctx, domainID, t.LegacyProjectName())
	switch {
	case openstack.IsNotFound(err):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case p.Owner != string(t.UID):
		if back, err := r.mayTakeBack(ctx, cloud, acc, t, p); back || err != nil {
			return p, back, err
		}
		return nil, false, nil
	}
	return p, false, ownedBy(acc, t, p)
}

// ownedBy refuses a project that is protected or does not record t as its owner: two
// Tenants never manage one project, whatever their status or spec says.
func ownedBy(acc access.CloudAccess, t *whv1.Tenant, p *openstack.Project) error {
	switch {
	case acc.IsProtected(p):
		return frame.NewSpecError(whv1.ReasonProjectProtected, fmt.Sprintf("project %s is protected by the Cloud: no Tenant may import, change or delete it", p.ID))
	case p.Owner != string(t.UID):
		return frame.NewSpecError(whv1.ReasonAlreadyOwned, fmt.Sprintf("project %s does not record this Tenant as its owner; it is left alone", p.ID))
	}
	return nil
}

// existingProject is the project that bears this Tenant's project name: its own, made
// before a crash lost the ID (a create that failed with 409, or a deletion with no ID in
// status), its own from a cluster that is gone (back: mayTakeBack), or a stranger's,
// which is never taken over nor deleted.
func (r *Reconciler) existingProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, domainID string) (_ *openstack.Project, back bool, _ error) {
	p, err := cloud.FindProject(ctx, domainID, t.ProjectName())
	if err != nil {
		return nil, false, err
	}
	switch p.Owner {
	case string(t.UID):
		return p, false, nil
	case "":
		return nil, false, frame.NewSpecError(whv1.ReasonAlreadyExists, fmt.Sprintf(
			"project %q already exists in domain %s (%s) and was not created by this Tenant; to adopt it, have the cloud admin hand it over (tag %s%s) and set spec.import, or choose another spec.project.name",
			p.Name, domainID, p.ID, whv1.HandoverTagPrefix, t.Namespace))
	}
	if back, err := r.mayTakeBack(ctx, cloud, acc, t, p); back || err != nil {
		return p, back, err
	}
	// Which Tenant is not said: that would tell one department about another.
	return nil, false, frame.NewSpecError(whv1.ReasonAlreadyOwned, fmt.Sprintf(
		"project name %q in domain %s belongs to another Tenant; choose another spec.project.name", p.Name, domainID))
}

// adoptProject takes over a project the cloud admin handed over to this namespace, and
// records this Tenant as its owner, so no other Tenant can import it after.
func (r *Reconciler) adoptProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, domainID string) (*openstack.Project, error) {
	p, err := findImported(ctx, cloud, t.Spec.Import, domainID)
	if err != nil {
		return nil, err
	}
	if p.Owner == string(t.UID) {
		return p, ownedBy(acc, t, p) // adopted before a crash lost the status
	}
	if back, err := r.mayTakeBack(ctx, cloud, acc, t, p); err != nil {
		return nil, err
	} else if back {
		// Adopted in a cluster that is gone: taken back, no new handover needed.
		t.Status.Adopted = true
		return r.takeBack(ctx, cloud, t, p)
	}
	if err := r.mayAdopt(ctx, cloud, acc, t, p, domainID); err != nil {
		return nil, err
	}
	owner := r.ownerRecord(t)
	if p, err = cloud.UpdateProject(ctx, p.ID, openstack.ProjectUpdate{Owner: &owner}); err != nil {
		return nil, err
	}
	t.Status.Adopted = true
	t.Status.ProjectName = p.Name
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Adopted", "AdoptProject", "Adopted project %s (%s), handed over to namespace %s", p.Name, p.ID, t.Namespace)
	return p, nil
}

// mayAdopt says why a project cannot be imported, or nil when it was handed over to the
// Tenant's namespace and belongs to no live Tenant.
func (r *Reconciler) mayAdopt(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, p *openstack.Project, domainID string) error {
	if acc.IsProtected(p) {
		return frame.NewSpecError(whv1.ReasonProjectProtected, fmt.Sprintf("project %s is protected by the Cloud: no Tenant may import it", p.ID))
	}
	if p.DomainID != domainID {
		return frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf(
			"project %s to import is in domain %s, not in spec.project.domain %q (%s)", p.ID, p.DomainID, t.Spec.Project.Domain, domainID))
	}
	if p.Owner != "" {
		gone, err := r.ownerGone(ctx, cloud, t, p)
		if err != nil {
			return err
		}
		if !gone {
			return frame.NewSpecError(whv1.ReasonAlreadyOwned, fmt.Sprintf("project %s belongs to another Tenant; it cannot be imported", p.ID))
		}
	}
	handedTo := ""
	for _, tag := range p.Tags {
		if ns, ok := strings.CutPrefix(tag, whv1.HandoverTagPrefix); ok {
			if ns == t.Namespace {
				return nil
			}
			handedTo = ns
		}
	}
	if handedTo != "" {
		return frame.NewSpecError(whv1.ReasonAlreadyOwned, fmt.Sprintf("project %s was handed over to another namespace, not %s", p.ID, t.Namespace))
	}
	return frame.NewSpecError(whv1.ReasonImportNotAllowed, fmt.Sprintf(
		"project %s was not handed over to namespace %s: the cloud admin tags it %s%s to allow the import; nothing was changed",
		p.ID, t.Namespace, whv1.HandoverTagPrefix, t.Namespace))
}

// liveOwner reports whether the Tenant a project records as its owner still exists.
func (r *Reconciler) liveOwner(ctx context.Context, p *openstack.Project) (bool, error) {
	if p.OwnerNamespace == "" || p.OwnerName == "" {
		return true, nil // an owner we cannot look up is presumed alive
	}
	owner := &whv1.Tenant{}
	err := r.Get(ctx, client.ObjectKey{Namespace: p.OwnerNamespace, Name: p.OwnerName}, owner)
	switch {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, err
	}
	return string(owner.UID) == p.Owner, nil
}

// createProject creates the project, or finds this Tenant's own when Keystone says it
// exists; created tells which.
func (r *Reconciler) createProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant, domainID string) (*openstack.Project, bool, error) {
	name := t.ProjectName()
	if slices.Contains(acc.Protected, name) {
		return nil, false, frame.NewSpecError(whv1.ReasonProjectProtected, fmt.Sprintf("project name %q is protected by the Cloud", name))
	}
	p, err := cloud.CreateProject(ctx, openstack.ProjectCreate{
		Name:           name,
		DomainID:       domainID,
		Description:    ptr.Deref(t.Spec.Project.Description, ""),
		Tags:           t.Spec.Project.Tags,
		Enabled:        t.Spec.Project.IsEnabled(),
		Owner:          string(t.UID),
		OwnerNamespace: t.Namespace,
		OwnerName:      t.Name,
		OwnerCluster:   r.ClusterID,
	})
	if openstack.StatusCode(err) == http.StatusConflict {
		p, back, err := r.existingProject(ctx, cloud, acc, t, domainID)
		if back {
			p, err = r.takeBack(ctx, cloud, t, p)
		}
		return p, false, err
	}
	if err != nil {
		return nil, false, err
	}
	t.Status.ProjectName = p.Name
	frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "Created", "CreateProject", "Created project %s (%s)", p.Name, p.ID)
	return p, true, nil
}

// projectDrift returns the update that brings the project back to the spec, and the
// names of the fields it changes. Fields the spec leaves out are not managed.
func projectDrift(t *whv1.Tenant, p *openstack.Project) (openstack.ProjectUpdate, []string) {
	var (
		u       openstack.ProjectUpdate
		changed []string
	)
	if name := t.ProjectName(); p.Name != name {
		u.Name, changed = &name, append(changed, "name")
	}
	if d := t.Spec.Project.Description; d != nil && p.Description != *d {
		u.Description, changed = d, append(changed, "description")
	}
	if tags := t.Spec.Project.Tags; tags != nil && !sameSet(p.Tags, tags) {
		u.Tags, changed = &tags, append(changed, "tags")
	}
	if enabled := t.Spec.Project.IsEnabled(); p.Enabled != enabled {
		u.Enabled, changed = &enabled, append(changed, "enabled")
	}
	return u, changed
}

// sameSet reports whether a and b contain the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// findImported finds the project spec.import names, by ID or by name in the domain.
func findImported(ctx context.Context, cloud Cloud, imp *whv1.ProjectImport, domainID string) (*openstack.Project, error) {
	if imp.ID != nil {
		return cloud.GetProject(ctx, *imp.ID)
	}
	return cloud.FindProject(ctx, domainID, *imp.Name)
}
