package tenant

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/utils/ptr"

	"github.com/whitehall-cloud/whitehall-operator/controllers/access"
	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// Observe before manage: under managementPolicy Observe a reconcile reads what Manage
// would change — the project, its role assignments — with the same comparisons Manage
// makes (projectDrift, planAssignments), and lists the differences in status.drift
// instead of making them. Nothing is written to OpenStack, and no Secret: no service
// user, identity store or credential. An import still needs the handover: an observer
// learns a project's people. The project observed is recorded (status.projectID), so a
// ComputeQuota can observe its quota; one to import is adopted only on the switch to
// Manage (observedImport).

// observe is reconcile under managementPolicy Observe.
func (r *Reconciler) observe(ctx context.Context, acc access.CloudAccess, t *whv1.Tenant, withheld []string,
	breaches []policy.Breach) (frame.Step, error) {
	cloud, err := r.Clouds.Cloud(ctx, acc.Ref)
	if err != nil {
		return frame.Step{}, err
	}
	domainID, err := cloud.DomainID(ctx, t.Spec.Project.Domain)
	if err != nil {
		return frame.Step{}, err
	}
	project, adopt, err := r.observedProject(ctx, cloud, acc, t, domainID)
	if err != nil {
		return frame.Step{}, err
	}
	if project != nil {
		t.Status.ProjectID, t.Status.DomainID = project.ID, project.DomainID
		if t.Status.ProjectName == "" {
			// As under Manage: the name an imported project has is the name it keeps.
			t.Status.ProjectName = project.Name
		}
	}
	drift := projectDifferences(t, project)
	plan, err := planAssignments(ctx, cloud, t, project == nil, withheld)
	if err != nil {
		return frame.Step{}, err
	}
	names, err := roleNames(ctx, cloud, t)
	if err != nil {
		return frame.Step{}, err
	}
	drift = append(drift, assignmentDifferences(plan, names)...)
	identity, err := r.identityDifferences(ctx, t)
	if err != nil {
		return frame.Step{}, err
	}
	drift = append(drift, identity...)
	network, err := networkDifferences(ctx, cloud, t, project)
	if err != nil {
		return frame.Step{}, err
	}
	drift = append(drift, network...)
	n := lookups.RecordDrift(&t.Status.Drift, &t.Status.Conditions, drift, t.Generation)
	var done frame.Step
	if len(plan.skipped) > 0 {
		done.Degrade(lookups.PolicyViolation(breaches, fmt.Sprintf("Manage would not grant: %s", strings.Join(plan.skipped, ", "))))
	}
	name := t.ProjectName()
	if project != nil {
		name = fmt.Sprintf("%s (%s)", project.Name, project.ID)
	}
	done.Message = fmt.Sprintf("project %s observed, not managed (managementPolicy Observe): %d difference(s)", name, n)
	if adopt {
		from := "handed over to namespace " + t.Namespace
		if project.Owner != "" {
			from = fmt.Sprintf("its recorded owner (%s) is gone", project.Owner) // taken back: mayTakeBack
		}
		done.Message += fmt.Sprintf("; %s: Manage records Tenant %s/%s as its owner", from, t.Namespace, t.Name)
	}
	return done, nil
}

// observedProject is the project Manage would manage, read only: the one to import
// (adopt: its owner is still to be recorded, which needs its handover), the one status
// records, or the one bearing the project name if it is this Tenant's. Nil when Manage
// would create it. A project Manage would refuse is refused here too, with the same
// error: nothing of another department's project is shown.
func (r *Reconciler) observedProject(ctx context.Context, cloud Cloud, acc access.CloudAccess, t *whv1.Tenant,
	domainID string) (_ *openstack.Project, adopt bool, _ error) {
	if imp := t.Spec.Import; imp != nil && !t.Status.Adopted {
		p, err := findImported(ctx, cloud, imp, domainID)
		switch {
		case err != nil:
			return nil, false, err
		case p.Owner == string(t.UID):
			return p, false, ownedBy(acc, t, p)
		}
		if back, err := r.mayTakeBack(ctx, cloud, acc, t, p); back || err != nil {
			return p, back, err
		}
		return p, true, r.mayAdopt(ctx, cloud, acc, t, p, domainID)
	}
	if t.Status.ProjectID != "" {
		p, err := cloud.GetProject(openstack.AtRest(ctx), t.Status.ProjectID)
		switch {
		case err == nil:
			return p, false, ownedBy(acc, t, p)
		case !openstack.IsNotFound(err):
			return nil, false, err
		case t.Status.Adopted:
			return nil, false, frame.NewSpecError(whv1.ReasonDependencyNotFound,
				fmt.Sprintf("the imported project %s no longer exists in OpenStack", t.Status.ProjectID))
		}
		// Deleted by hand: forgotten as Manage forgets it, which would create it again.
		t.Status.ProjectID, t.Status.RoleAssignments, t.Status.ServiceUserID = "", nil, ""
	}
	// A project to take back (its cluster lost) is shown as one to adopt: Manage records
	// this Tenant as its owner.
	if p, back, err := r.legacyProject(ctx, cloud, acc, t, domainID); p != nil || err != nil {
		return p, back, err
	}
	p, back, err := r.existingProject(ctx, cloud, acc, t, domainID)
	if openstack.IsNotFound(err) {
		return nil, false, nil
	}
	return p, back, err
}

// projectDifferences lists what Manage would change of the project: create it, or
// update the fields projectDrift finds. Recording this Tenant as the owner of a project
// to import is not a difference: spec.import asks for it, the project's own state does
// not change, and an adopted project that matches its spec must show no drift (adopt
// writes such manifests, and plan gates on drift). observe's message says it instead.
func projectDifferences(t *whv1.Tenant, p *openstack.Project) []whv1.DriftEntry {
	if p == nil {
		return []whv1.DriftEntry{lookups.Drift("project", t.ProjectName(), lookups.Absent)}
	}
	var out []whv1.DriftEntry
	update, _ := projectDrift(t, p)
	if update.Name != nil {
		out = append(out, lookups.Drift("name", *update.Name, p.Name))
	}
	if update.Description != nil {
		out = append(out, lookups.Drift("description", *update.Description, p.Description))
	}
	if update.Tags != nil {
		out = append(out, lookups.Drift("tags", tagList(*update.Tags), tagList(p.Tags)))
	}
	if update.Enabled != nil {
		out = append(out, lookups.Drift("enabled", strconv.FormatBool(*update.Enabled), strconv.FormatBool(p.Enabled)))
	}
	return out
}

// tagList is a set of tags (or roles) as a drift value: sorted, comma-separated.
func tagList(tags []string) string {
	sorted := slices.Sorted(slices.Values(tags))
	return strings.Join(slices.Compact(sorted), ",")
}

// assignmentDifferences is one entry per grant or revocation Manage would make, sorted.
func assignmentDifferences(plan assignmentPlan, names map[string]string) []whv1.DriftEntry {
	text := func(a openstack.Assignment) string {
		role := a.RoleID
		if name, ok := names[role]; ok {
			role = name
		}
		return fmt.Sprintf("%s to %s", role, principal{a.GroupID, a.UserID})
	}
	var out []whv1.DriftEntry
	for _, a := range plan.grants {
		out = append(out, lookups.Drift("roleAssignments", text(a), lookups.Absent))
	}
	for _, a := range plan.revokes {
		out = append(out, lookups.Drift("roleAssignments", lookups.Absent, text(a)))
	}
	slices.SortFunc(out, func(a, b whv1.DriftEntry) int {
		return strings.Compare(a.Desired+"\x00"+a.Actual, b.Desired+"\x00"+b.Actual)
	})
	return out
}

// roleNames maps the IDs of the roles the spec names back to those names, for drift.
func roleNames(ctx context.Context, dir openstack.Directory, t *whv1.Tenant) (map[string]string, error) {
	names := map[string]string{}
	roles := serviceUserRoles(t)
	for _, ra := range t.Spec.RoleAssignments {
		roles = append(roles, ra.Roles...)
	}
	for _, role := range roles {
		id, err := dir.RoleID(ctx, role)
		if err != nil {
			return nil, err
		}
		names[id] = role
	}
	return names, nil
}

// identityDifferences lists the service user and the department's credential that
// Manage would make: the user (with its roles) when the project needs one and has none,
// the application credential and its Secret when the spec asks for one and none exists,
// its removal when the spec no longer asks, its rotation when one is due and the deletion of a
// replaced one whose grace period is over (none of it happens under Observe).
func (r *Reconciler) identityDifferences(ctx context.Context, t *whv1.Tenant) ([]whv1.DriftEntry, error) {
	var out []whv1.DriftEntry
	needed, err := r.needsIdentity(ctx, t)
	if err != nil {
		return nil, err
	}
	if needed && t.Status.ServiceUserID == "" {
		out = append(out, lookups.Drift("serviceUser",
			"present, with roles "+tagList(serviceUserRoles(t)), lookups.Absent))
	}
	ac, st := t.Spec.ApplicationCredential, t.Status.ApplicationCredential
	switch {
	case ac != nil && st == nil:
		out = append(out, lookups.Drift("applicationCredential", "issued into Secret "+ac.SecretName, lookups.Absent))
	case ac == nil && st != nil:
		out = append(out, lookups.Drift("applicationCredential", lookups.Absent, "credential "+st.ID))
	case ac != nil && st.RotateAt != nil && !r.Now().Before(st.RotateAt.Time):
		// Not rotated under Observe: Manage rotates it at once.
		out = append(out, lookups.Drift("applicationCredential", "rotated", "rotation due since "+st.RotateAt.UTC().Format(time.RFC3339)))
	}
	if st != nil {
		for _, old := range st.Retiring {
			if !r.Now().Before(old.DeleteAt.Time) {
				out = append(out, lookups.Drift("applicationCredential", lookups.Absent, "replaced credential "+old.ID))
			}
		}
	}
	return out, nil
}

// networkDifferences lists what Manage would do to the network bundle, read from
// Neutron as EnsureNetworkBundle finds it (networkObserved): make it, or a piece of it,
// repair its DNS servers or gateway, or refuse a piece that is not this Tenant's.
func networkDifferences(ctx context.Context, cloud Cloud, t *whv1.Tenant, p *openstack.Project) ([]whv1.DriftEntry, error) {
	n := t.Spec.Network
	if n == nil {
		return nil, nil
	}
	if p == nil {
		return []whv1.DriftEntry{lookups.Drift("network", bundleText(t), lookups.Absent)}, nil
	}
	cidr := n.CIDR
	if cidr == "" && t.Status.Network != nil {
		cidr = t.Status.Network.CIDR
	}
	// The owner it takes the project back from (its cluster lost) made pieces that are its.
	former := p.PreviousOwner
	if p.Owner != string(t.UID) {
		former = p.Owner
	}
	seen, err := cloud.ObserveNetworkBundle(ctx, openstack.NetworkBundleSpec{
		ProjectID: p.ID, Name: t.ProjectName(), CIDR: cidr, DNSNameservers: n.DNSNameservers,
		ExternalNetwork: ptr.Deref(n.ExternalNetwork, ""), Owner: string(t.UID), FormerOwner: former,
	}, knownBundle(t))
	if err != nil {
		return nil, err
	}
	return networkObserved(t, cidr, seen), nil
}

// bundleText is the bundle a Tenant asks for, as a drift value.
func bundleText(t *whv1.Tenant) string {
	desired := "network and subnet " + t.ProjectName()
	if ext := ptr.Deref(t.Spec.Network.ExternalNetwork, ""); ext != "" {
		desired += ", router to " + ext
	}
	return desired
}

// networkObserved turns what Neutron holds into drift entries: network (the bundle
// missing, a piece to mark or refused), network.cidr, network.dnsNameservers and
// network.externalNetwork. cidr is the range Manage would use ("" when a pool's block
// is still to be allocated).
func networkObserved(t *whv1.Tenant, cidr string, seen openstack.ObservedNetwork) []whv1.DriftEntry {
	n := t.Spec.Network
	wantCIDR := cmp.Or(cidr, "a block of the DepartmentPolicy's pool")
	if c := seen.Conflict; c != nil {
		refused := c.Why + "; Manage refuses it (" + whv1.ReasonNetworkConflict + ")"
		switch {
		case c.Kind == "router":
			return []whv1.DriftEntry{lookups.Drift("network.externalNetwork", ptr.Deref(n.ExternalNetwork, ""), refused)}
		case seen.CIDR != "":
			return []whv1.DriftEntry{lookups.Drift("network.cidr", wantCIDR, seen.CIDR+": "+refused)}
		}
		return []whv1.DriftEntry{lookups.Drift("network", bundleText(t), refused)}
	}
	if seen.NetworkID == "" {
		return []whv1.DriftEntry{lookups.Drift("network", bundleText(t), lookups.Absent)}
	}
	var out []whv1.DriftEntry
	for _, kind := range seen.Unmarked {
		out = append(out, lookups.Drift("network", kind+" marked as this Tenant's", kind+" without the owner's mark"))
	}
	switch {
	case seen.SubnetID == "":
		out = append(out, lookups.Drift("network.cidr", "subnet "+wantCIDR, lookups.Absent))
	case len(seen.DNSNameservers) > 0 || len(n.DNSNameservers) > 0:
		if !slices.Equal(seen.DNSNameservers, n.DNSNameservers) {
			out = append(out, lookups.Drift("network.dnsNameservers", dnsText(n.DNSNameservers), dnsText(seen.DNSNameservers)))
		}
	}
	return append(out, gatewayDifferences(n, seen)...)
}

// gatewayDifferences lists what Manage would do to the router: make it, put its gateway
// on the external network (or take it away), attach it to the subnet.
func gatewayDifferences(n *whv1.TenantNetwork, seen openstack.ObservedNetwork) []whv1.DriftEntry {
	ext := ptr.Deref(n.ExternalNetwork, "")
	actual := cmp.Or(seen.GatewayName, seen.Gateway, "none")
	switch {
	case ext == "" && seen.Gateway != "":
		return []whv1.DriftEntry{lookups.Drift("network.externalNetwork", "none (the router is kept)", actual)}
	case ext == "":
		return nil
	case seen.RouterID == "":
		return []whv1.DriftEntry{lookups.Drift("network.externalNetwork", "router to "+ext, lookups.Absent)}
	case seen.Gateway != seen.External:
		return []whv1.DriftEntry{lookups.Drift("network.externalNetwork", ext, actual)}
	case !seen.Attached && seen.SubnetID != "":
		return []whv1.DriftEntry{lookups.Drift("network.externalNetwork", "router interface on the subnet", lookups.Absent)}
	}
	return nil
}

// dnsText is a list of DNS servers as a drift value, in order (the order counts).
func dnsText(dns []string) string {
	if len(dns) == 0 {
		return "none"
	}
	return strings.Join(dns, ",")
}
