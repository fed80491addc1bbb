package tenant

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// principal is a group or a user, by Keystone ID.
type principal struct{ groupID, userID string }

func (p principal) String() string {
	if p.groupID != "" {
		return "group " + p.groupID
	}
	return "user " + p.userID
}

// assignmentPlan is what reconcileAssignments would change: the grants and revocations
// that differ, the desired set (status's form of it), and the grants withheld.
type assignmentPlan struct {
	grants, revokes []openstack.Assignment
	desired         map[principal][]string
	skipped         []string
}

// reconcileAssignments makes the roles of every principal the Tenant manages exactly
// those in the spec: one list call, then only the grants and revocations that differ.
// A project created just now has no assignment: it is not listed. Roles withheld (a
// DepartmentPolicy's roles leave them out) are not granted, and kept where they exist
// already; it returns the grants withheld.
func (r *Reconciler) reconcileAssignments(ctx context.Context, cloud Cloud, t *whv1.Tenant, projectCreated bool, withheld []string) ([]string, error) {
	plan, err := planAssignments(ctx, cloud, t, projectCreated, withheld)
	if err != nil {
		return nil, err
	}
	var changes []string
	for _, a := range plan.grants {
		if err := cloud.Grant(ctx, t.Status.ProjectID, a); err != nil {
			return nil, err
		}
		changes = append(changes, fmt.Sprintf("granted role %s to %s", a.RoleID, principal{a.GroupID, a.UserID}))
	}
	for _, a := range plan.revokes {
		if err := cloud.Revoke(ctx, t.Status.ProjectID, a); err != nil {
			return nil, err
		}
		changes = append(changes, fmt.Sprintf("revoked role %s from %s", a.RoleID, principal{a.GroupID, a.UserID}))
	}

	t.Status.RoleAssignments = appliedAssignments(plan.desired)
	if len(changes) > 0 {
		slices.Sort(changes)
		frame.Notify(ctx, r.Recorder, t, corev1.EventTypeNormal, "RolesUpdated", "UpdateRoleAssignments",
			"On project %s: %s", t.Status.ProjectID, strings.Join(changes, "; "))
	}
	return plan.skipped, nil
}

// planAssignments compares the spec's assignments with the project's (not listed when
// projectCreated: a project created just now, or one that does not exist yet, has
// none) and returns the grants and revocations that differ. Only principals the Tenant
// manages lose roles: those in the spec, and those it granted before (status), so a
// principal removed from the spec loses its roles and nobody else's are touched.
func planAssignments(ctx context.Context, cloud Cloud, t *whv1.Tenant, projectCreated bool, withheld []string) (assignmentPlan, error) {
	desired, err := desiredAssignments(ctx, cloud, t)
	if err != nil {
		return assignmentPlan{}, err
	}
	managed := map[principal]bool{}
	for p := range desired {
		managed[p] = true
	}
	for _, a := range t.Status.RoleAssignments {
		managed[principal{a.GroupID, a.UserID}] = true
	}
	var actual []openstack.Assignment
	if !projectCreated {
		if actual, err = cloud.ListAssignments(openstack.AtRest(ctx), t.Status.ProjectID); err != nil {
			return assignmentPlan{}, err
		}
	}
	existing := map[openstack.Assignment]bool{}
	for _, a := range actual {
		existing[a] = true
	}
	plan := assignmentPlan{desired: desired}
	if plan.skipped, err = withholdRoles(ctx, cloud, desired, existing, withheld, principal{userID: t.Status.ServiceUserID}); err != nil {
		return assignmentPlan{}, err
	}
	for p, roles := range desired {
		for _, role := range roles {
			if a := (openstack.Assignment{GroupID: p.groupID, UserID: p.userID, RoleID: role}); !existing[a] {
				plan.grants = append(plan.grants, a)
			}
		}
	}
	for a := range existing {
		if p := (principal{a.GroupID, a.UserID}); managed[p] && !slices.Contains(desired[p], a.RoleID) {
			plan.revokes = append(plan.revokes, a)
		}
	}
	return plan, nil
}

// withholdRoles drops from desired the withheld roles a principal is not granted yet,
// and says which. The service user keeps the role the operator acts with
// (ProjectUserRole) whatever the policy: it is the operator's, not the department's.
func withholdRoles(ctx context.Context, dir openstack.Directory, desired map[principal][]string, existing map[openstack.Assignment]bool,
	withheld []string, serviceUser principal) ([]string, error) {
	var skipped []string
	for _, role := range withheld {
		id, err := dir.RoleID(ctx, role)
		if err != nil {
			return nil, err
		}
		for p, roles := range desired {
			if p == serviceUser && role == access.ProjectUserRole || !slices.Contains(roles, id) ||
				existing[openstack.Assignment{GroupID: p.groupID, UserID: p.userID, RoleID: id}] {
				continue
			}
			desired[p] = slices.DeleteFunc(roles, func(r string) bool { return r == id })
			skipped = append(skipped, fmt.Sprintf("role %s to %s", role, p))
		}
	}
	slices.Sort(skipped)
	return skipped, nil
}

// desiredAssignments resolves the spec's names to IDs: principal → sorted role IDs. The
// project's service user is one of them: it is granted the roles the operator acts with
// inside the project.
func desiredAssignments(ctx context.Context, cloud Cloud, t *whv1.Tenant) (map[principal][]string, error) {
	out := map[principal][]string{}
	for _, ra := range t.Spec.RoleAssignments {
		p, err := resolvePrincipal(ctx, cloud, t.Spec.Project.Domain, ra)
		if err != nil {
			return nil, err
		}
		if err := addRoles(ctx, cloud, out, p, ra.Roles); err != nil {
			return nil, err
		}
	}
	if id := t.Status.ServiceUserID; id != "" {
		if err := addRoles(ctx, cloud, out, principal{userID: id}, serviceUserRoles(t)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// addRoles adds the IDs of roles to p's sorted set in out.
func addRoles(ctx context.Context, dir openstack.Directory, out map[principal][]string, p principal, roles []string) error {
	for _, role := range roles {
		id, err := dir.RoleID(ctx, role)
		if err != nil {
			return err
		}
		if !slices.Contains(out[p], id) {
			out[p] = append(out[p], id)
		}
	}
	slices.Sort(out[p])
	return nil
}

// resolvePrincipal finds the group or user of one assignment, in its own domain or else
// the project's.
func resolvePrincipal(ctx context.Context, dir openstack.Directory, projectDomain string, ra whv1.RoleAssignment) (principal, error) {
	name, domain, lookup := ra.User, ra.UserDomain, dir.UserID
	if ra.Group != nil {
		name, domain, lookup = ra.Group, ra.GroupDomain, dir.GroupID
	}
	domainID, err := dir.DomainID(ctx, ptr.Deref(domain, projectDomain))
	if err != nil {
		return principal{}, err
	}
	id, err := lookup(ctx, *name, domainID)
	if ra.Group != nil {
		return principal{groupID: id}, err
	}
	return principal{userID: id}, err
}

// appliedAssignments is the status form of the desired set, in a stable order.
func appliedAssignments(desired map[principal][]string) []whv1.AppliedRoleAssignment {
	out := make([]whv1.AppliedRoleAssignment, 0, len(desired))
	for p, roles := range desired {
		out = append(out, whv1.AppliedRoleAssignment{GroupID: p.groupID, UserID: p.userID, RoleIDs: roles})
	}
	slices.SortFunc(out, func(a, b whv1.AppliedRoleAssignment) int {
		return strings.Compare(a.GroupID+"/"+a.UserID, b.GroupID+"/"+b.UserID)
	})
	if len(out) == 0 {
		return nil
	}
	return out
}
