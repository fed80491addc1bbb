package plugin

import (
	"cmp"
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// adoption is one project to adopt, as read, with the namespace and name it gets.
type adoption struct {
	project   openstack.Project
	namespace string
	// name of the Tenant and of its ComputeQuota (tenantName, made unique).
	name    string
	people  []openstack.NamedAssignment
	limits  quota.Limits
	network *openstack.FoundBundle
	// noNetwork says why a network named like the project is left out of the Tenant.
	noNetwork string
}

// skipped is a project that would have been adopted, and why it is not.
type skipped struct {
	project openstack.Project
	why     string
}

// read selects the projects, maps them to namespaces and reads what each holds.
func (o adoptOptions) read(ctx context.Context, inv openstack.Inventory, protected []string, rep *report) ([]*adoption, error) {
	domainID, err := inv.DomainID(ctx, o.domain)
	if err != nil {
		return nil, err
	}
	adminID, err := inv.AdminProjectID(ctx)
	if err != nil {
		return nil, err
	}
	all, err := inv.ListProjects(ctx, domainID)
	if err != nil {
		return nil, err
	}
	chosen, skips, err := o.selectProjects(all, append([]string{adminID}, protected...))
	if err != nil {
		return nil, err
	}
	rules, _ := o.mapping() // checked by parseAdopt
	var out []*adoption
	for _, p := range chosen {
		ns, ok := namespaceFor(rules, p.Name)
		if !ok {
			skips = append(skips, skipped{p, "no --map rule matches its name"})
			continue
		}
		if to := handedTo(p); to != "" && to != ns {
			skips = append(skips, skipped{p, fmt.Sprintf("it is handed over to namespace %s already, not %s", to, ns)})
			continue
		}
		a := &adoption{project: p, namespace: ns}
		if err := readProject(ctx, inv, a); err != nil {
			return nil, fmt.Errorf("project %s (%s): %w", p.Name, p.ID, err)
		}
		out = append(out, a)
	}
	rep.skips(skips)
	assignNames(out)
	return out, nil
}

// selectProjects picks the projects to adopt: those named (name or ID), or matching
// --match, or all when neither is given; never one a Tenant owns, one of never (the
// login's own project and the Cloud's protected ones, by name or ID), or one excluded.
// A project named that is not in the domain is an error. Sorted by name, then ID.
func (o adoptOptions) selectProjects(all []openstack.Project, never []string) ([]openstack.Project, []skipped, error) {
	wanted := func(p openstack.Project) bool {
		if len(o.projects) == 0 && o.match == "" {
			return true
		}
		matched, _ := path.Match(o.match, p.Name)
		return (o.match != "" && matched) || slices.Contains(o.projects, p.Name) || slices.Contains(o.projects, p.ID)
	}
	for _, name := range o.projects {
		if !slices.ContainsFunc(all, func(p openstack.Project) bool { return p.Name == name || p.ID == name }) {
			return nil, nil, fmt.Errorf("project %q is not in domain %s", name, o.domain)
		}
	}
	var chosen []openstack.Project
	var skips []skipped
	for _, p := range all {
		switch {
		case !wanted(p):
		case slices.Contains(never, p.ID) || slices.Contains(never, p.Name):
			skips = append(skips, skipped{p, "it is the login's own project or one the Cloud protects"})
		case excluded(o.exclude, p):
			skips = append(skips, skipped{p, "--exclude"})
		case p.Owner != "":
			skips = append(skips, skipped{p, fmt.Sprintf("Tenant %s/%s owns it", p.OwnerNamespace, p.OwnerName)})
		default:
			chosen = append(chosen, p)
		}
	}
	slices.SortFunc(chosen, func(a, b openstack.Project) int { return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID)) })
	return chosen, skips, nil
}

// excluded reports whether --exclude names the project: by name, ID, or a glob on the name.
func excluded(exclude []string, p openstack.Project) bool {
	for _, e := range exclude {
		if ok, _ := path.Match(e, p.Name); ok || e == p.ID {
			return true
		}
	}
	return false
}

// handedTo is the namespace a handover tag of the project names, or "".
func handedTo(p openstack.Project) string {
	for _, tag := range p.Tags {
		if ns, ok := strings.CutPrefix(tag, whv1.HandoverTagPrefix); ok {
			return ns
		}
	}
	return ""
}

// readProject reads a project's people, its quota in every service, and its bundle.
func readProject(ctx context.Context, inv openstack.Inventory, a *adoption) error {
	var err error
	if a.people, err = inv.ListNamedAssignments(ctx, a.project.ID); err != nil {
		return err
	}
	a.limits = quota.Limits{}
	for _, service := range quota.Services {
		reading, err := inv.GetQuota(ctx, service, a.project.ID)
		if err != nil {
			return err
		}
		for f, v := range reading.Limits {
			a.limits[f] = v
		}
	}
	a.network, a.noNetwork, err = inv.FindNetworkBundle(ctx, a.project.ID, a.project.Name)
	return err
}

// handOver tags each project for its namespace, unless it is tagged already.
func handOver(ctx context.Context, inv openstack.Inventory, list []*adoption, rep *report) error {
	for _, a := range list {
		tag := whv1.HandoverTagPrefix + a.namespace
		if slices.Contains(a.project.Tags, tag) {
			continue
		}
		if err := inv.AddProjectTag(ctx, a.project.ID, tag); err != nil {
			return fmt.Errorf("handing project %s (%s) over to namespace %s: %w", a.project.Name, a.project.ID, a.namespace, err)
		}
		rep.p.printf("handed over: project %s (%s) tagged %s\n", a.project.Name, a.project.ID, tag)
	}
	return nil
}

// report tells the user, on stderr, what was left out and why.
type report struct{ p *printer }

func (r *report) skips(list []skipped) {
	for _, s := range list {
		r.p.printf("skipped: project %s (%s): %s\n", s.project.Name, s.project.ID, s.why)
	}
}

func (r *report) summary(list []*adoption, handover bool) {
	for _, a := range list {
		if a.noNetwork != "" {
			r.p.printf("note: Tenant %s/%s has no spec.network: %s\n", a.namespace, a.name, a.noNetwork)
		}
	}
	next := "kubectl whitehall adopt --handover (or tag each project " + whv1.HandoverTagPrefix + "<namespace>), then "
	if handover {
		next = ""
	}
	r.p.printf("%d project(s) written as Tenant and ComputeQuota in Observe; next: %skubectl apply, then kubectl whitehall plan\n", len(list), next)
}
