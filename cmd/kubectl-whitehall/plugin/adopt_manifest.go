package plugin

import (
	"cmp"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The API's bounds that a project made by hand may exceed; what would break them is left
// out of the manifest (not managed), and the report says so.
const (
	maxDescription = 1024
	maxTags        = 80
	maxPrincipals  = 64
	maxRoles       = 32
	maxNameLength  = 63 // a DNS-1123 label, so the name also fits every label value
)

// tenantName derives a Tenant's name from a project name: lower case, every run of
// characters outside [a-z0-9] one '-', no '-' at either end, at most 63 characters;
// "project" when nothing is left. Two projects can derive one name: assignNames then
// makes it unique.
func tenantName(projectName string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(projectName) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	name := strings.Trim(b.String(), "-")
	if len(name) > maxNameLength {
		name = strings.TrimRight(name[:maxNameLength], "-")
	}
	return cmp.Or(name, "project")
}

// assignNames gives each adoption its name, unique in its namespace: the first (by
// project name, then ID: the order of selectProjects) keeps tenantName, the next get
// -2, -3, … (the base cut to fit 63 characters).
func assignNames(list []*adoption) {
	taken := map[string]bool{}
	for _, a := range list {
		base := tenantName(a.project.Name)
		name := base
		for n := 2; taken[a.namespace+"/"+name]; n++ {
			suffix := "-" + strconv.Itoa(n)
			name = strings.TrimRight(base[:min(len(base), maxNameLength-len(suffix))], "-") + suffix
		}
		taken[a.namespace+"/"+name] = true
		a.name = name
	}
}

// built is one adoption's manifests, and what was left out of them.
type built struct {
	adoption *adoption
	tenant   *whv1.Tenant
	quota    *whv1.ComputeQuota
	notes    []string
}

// build makes the Tenant and ComputeQuota that reproduce a project: import by ID,
// Observe, Retain; its description, tags (with the handover tag when adopt adds it),
// enabled flag, people, network bundle and every quota field as read.
func build(a *adoption, cloudRef string, grantable []string, handover bool) built {
	b := built{adoption: a}
	p := a.project
	t := &whv1.Tenant{
		TypeMeta:   metav1.TypeMeta{APIVersion: whv1.GroupVersion.String(), Kind: "Tenant"},
		ObjectMeta: metav1.ObjectMeta{Namespace: a.namespace, Name: a.name},
		Spec: whv1.TenantSpec{
			CloudRef:         &whv1.CloudReference{Name: cloudRef},
			Import:           &whv1.ProjectImport{ID: ptr.To(p.ID)},
			Project:          whv1.ProjectSpec{Domain: p.DomainID, Enabled: ptr.To(p.Enabled)},
			DeletionPolicy:   whv1.DeletionPolicyRetain,
			ManagementPolicy: whv1.ManagementPolicyObserve,
		},
	}
	if len(p.Description) <= maxDescription {
		t.Spec.Project.Description = ptr.To(p.Description)
	} else {
		b.notes = append(b.notes, fmt.Sprintf("description longer than %d characters: not managed", maxDescription))
	}
	tags := slices.Clone(p.Tags)
	if tag := whv1.HandoverTagPrefix + a.namespace; handover && !slices.Contains(tags, tag) {
		tags = append(tags, tag) // the project will hold it: without it the tags would drift
	}
	slices.Sort(tags)
	if len(tags) <= maxTags {
		t.Spec.Project.Tags = tags
	} else {
		b.notes = append(b.notes, fmt.Sprintf("more than %d tags: tags not managed", maxTags))
	}
	var left []string
	t.Spec.RoleAssignments, left = roleAssignments(a.people, grantable)
	b.notes = append(b.notes, left...)
	if n := a.network; n != nil {
		t.Spec.Network = &whv1.TenantNetwork{CIDR: n.CIDR, DNSNameservers: n.DNSNameservers}
		if n.ExternalNetwork != "" {
			t.Spec.Network.ExternalNetwork = ptr.To(n.ExternalNetwork)
		}
	}
	b.tenant = t
	b.quota = &whv1.ComputeQuota{
		TypeMeta:   metav1.TypeMeta{APIVersion: whv1.GroupVersion.String(), Kind: "ComputeQuota"},
		ObjectMeta: metav1.ObjectMeta{Namespace: a.namespace, Name: a.name},
		Spec: whv1.ComputeQuotaSpec{
			TenantRef:        whv1.LocalObjectReference{Name: a.name},
			Baseline:         quota.ToAPI(a.limits),
			ManagementPolicy: whv1.ManagementPolicyObserve,
		},
	}
	return b
}

// principal is a user or group of a domain.
type principal struct {
	group        bool
	name, domain string
}

// roleAssignments is one entry per principal with all its roles, sorted. A principal
// holding a role the operator may not grant is left out whole: the Tenant would be
// refused (RoleNotAllowed), and a principal left out is never touched. The strings say
// who was left out and why.
func roleAssignments(people []openstack.NamedAssignment, grantable []string) ([]whv1.RoleAssignment, []string) {
	roles := map[principal][]string{}
	var order []principal
	for _, a := range people {
		who := principal{group: a.Group != "", name: cmp.Or(a.Group, a.User), domain: cmp.Or(a.GroupDomain, a.UserDomain)}
		if who.name == "" || a.Role == "" {
			continue // a principal or role Keystone could not name: nothing to write it as
		}
		if _, ok := roles[who]; !ok {
			order = append(order, who)
		}
		roles[who] = append(roles[who], a.Role)
	}
	slices.SortFunc(order, func(a, b principal) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.domain, b.domain), compareBool(a.group, b.group))
	})
	var out []whv1.RoleAssignment
	var left []string
	for _, who := range order {
		held := slices.Compact(slices.Sorted(slices.Values(roles[who])))
		if refused := slices.DeleteFunc(slices.Clone(held), func(r string) bool { return slices.Contains(grantable, r) }); len(refused) > 0 {
			left = append(left, fmt.Sprintf("%s holds %s, which the operator may not grant: left out of roleAssignments (untouched)", who, strings.Join(refused, ",")))
			continue
		}
		if len(out) == maxPrincipals || len(held) > maxRoles {
			left = append(left, fmt.Sprintf("%s: beyond the API's bounds, left out of roleAssignments (untouched)", who))
			continue
		}
		ra := whv1.RoleAssignment{Roles: held}
		if who.group {
			ra.Group, ra.GroupDomain = ptr.To(who.name), ptr.To(who.domain)
		} else {
			ra.User, ra.UserDomain = ptr.To(who.name), ptr.To(who.domain)
		}
		if who.domain == "" {
			ra.GroupDomain, ra.UserDomain = nil, nil
		}
		out = append(out, ra)
	}
	return out, left
}

func (p principal) String() string {
	kind := "user"
	if p.group {
		kind = "group"
	}
	return fmt.Sprintf("%s %s (domain %s)", kind, p.name, p.domain)
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// document is one namespace's YAML stream.
type document struct {
	namespace string
	text      []byte
}

// manifests renders the adoptions, namespace by namespace, each Tenant followed by its
// ComputeQuota, with a comment naming the project; notes go to the report.
func manifests(list []*adoption, cloudRef string, grantable []string, handover bool, rep *report) ([]document, error) {
	byNS := map[string][]byte{}
	for _, a := range list {
		b := build(a, cloudRef, grantable, handover)
		for _, n := range b.notes {
			rep.p.printf("note: Tenant %s/%s: %s\n", a.namespace, a.name, n)
		}
		text := fmt.Appendf(nil, "# project %q (%s), adopted by kubectl whitehall adopt\n", a.project.Name, a.project.ID)
		for _, obj := range []runtime.Object{b.tenant, b.quota} {
			y, err := objectYAML(obj)
			if err != nil {
				return nil, err
			}
			text = append(append(text, y...), "---\n"...)
		}
		byNS[a.namespace] = append(byNS[a.namespace], text...)
	}
	var out []document
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		out = append(out, document{namespace: ns, text: byNS[ns]})
	}
	return out, nil
}

// objectYAML is an object as a user writes it: no status, no creationTimestamp.
func objectYAML(obj runtime.Object) ([]byte, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	delete(m, "status")
	if meta, ok := m["metadata"].(map[string]any); ok {
		delete(meta, "creationTimestamp")
	}
	return yaml.Marshal(m)
}

// write puts the documents on stdout, or one file per namespace in dir.
func write(env Env, dir string, docs []document) error {
	if dir == "" {
		p := &printer{w: env.Out}
		for _, d := range docs {
			p.printf("%s", d.text)
		}
		return p.err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range docs {
		if err := os.WriteFile(filepath.Join(dir, d.namespace+".yaml"), d.text, 0o644); err != nil {
			return err
		}
		(&printer{w: env.Err}).printf("wrote %s\n", filepath.Join(dir, d.namespace+".yaml"))
	}
	return nil
}
