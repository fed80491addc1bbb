package policy

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The single-object rules, in the words admission uses for the same breach
// (config/admission): a Breach's Detail.

// TenantBreaches returns the rules of p that the Tenant breaks: a required label missing
// or empty, a role outside p's roles, a network outside p's pool, or a network the Tenant
// names itself that is larger than the blocks the pool hands out (one department would
// otherwise take the address space of many).
func TenantBreaches(p *whv1.DepartmentPolicy, t *whv1.Tenant) []Breach {
	var out []Breach
	for _, label := range p.Spec.RequiredLabels {
		switch v, ok := t.Labels[label]; {
		case !ok:
			out = append(out, Breach{p.Name, RuleRequiredLabels, fmt.Sprintf("label %s is missing", label)})
		case v == "":
			out = append(out, Breach{p.Name, RuleRequiredLabels, fmt.Sprintf("label %s is empty", label)})
		}
	}
	for _, role := range DisallowedRoles(p, TenantRoles(t)) {
		out = append(out, Breach{p.Name, RuleRoles, fmt.Sprintf("role %s is not one of %s", role, strings.Join(p.Spec.Roles, ", "))})
	}
	if pool := poolOf(p); pool.IsValid() {
		if cidr := TenantCIDR(t); cidr != "" && !cidrInPool(cidr, pool) {
			out = append(out, Breach{p.Name, RulePool, fmt.Sprintf("cidr %s is not inside the pool %s", cidr, pool)})
		}
		if cidr, err := netip.ParsePrefix(specCIDR(t)); err == nil && cidr.Bits() < blockBits(p) {
			out = append(out, Breach{p.Name, RulePrefixLength, fmt.Sprintf("cidr %s is larger than the /%d blocks of the pool", cidr, blockBits(p))})
		}
	}
	return out
}

// TenantRoles returns the roles a Tenant asks to grant, in its role assignments and its
// application credential, sorted and without repeats.
func TenantRoles(t *whv1.Tenant) []string {
	var roles []string
	for _, ra := range t.Spec.RoleAssignments {
		roles = append(roles, ra.Roles...)
	}
	if ac := t.Spec.ApplicationCredential; ac != nil {
		roles = append(roles, ac.Roles...)
	}
	slices.Sort(roles)
	return slices.Compact(roles)
}

// DisallowedRoles returns the roles outside p's roles; none when p sets no roles.
func DisallowedRoles(p *whv1.DepartmentPolicy, roles []string) []string {
	if len(p.Spec.Roles) == 0 {
		return nil
	}
	var out []string
	for _, r := range roles {
		if !slices.Contains(p.Spec.Roles, r) && !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out
}

// TenantCIDR is the Tenant's network range: the one its spec asks for, else the one
// allocated to it (status); "" when it has none.
func TenantCIDR(t *whv1.Tenant) string {
	if t.Spec.Network != nil && t.Spec.Network.CIDR != "" {
		return t.Spec.Network.CIDR
	}
	if t.Status.Network != nil {
		return t.Status.Network.CIDR
	}
	return ""
}

// poolOf is p's network pool; not valid when p sets none (or one the API would refuse).
func poolOf(p *whv1.DepartmentPolicy) netip.Prefix {
	if p.Spec.Networks == nil || p.Spec.Networks.Pool == "" {
		return netip.Prefix{}
	}
	pool, err := netip.ParsePrefix(p.Spec.Networks.Pool)
	if err != nil {
		return netip.Prefix{}
	}
	return pool.Masked()
}

// cidrInPool reports whether the range cidr lies wholly inside pool. A range that does
// not parse is not inside.
func cidrInPool(cidr string, pool netip.Prefix) bool {
	p, err := netip.ParsePrefix(cidr)
	if err != nil {
		return false
	}
	return p.Addr().Is4() == pool.Addr().Is4() && p.Bits() >= pool.Bits() && pool.Contains(p.Masked().Addr())
}

// EnvironmentBreaches returns the rules of p the TestEnvironment breaks: its flavor or
// image not allowed, replicas (or a peak's) over maxReplicas, no TTL or one over maxTTL.
func EnvironmentBreaches(p *whv1.DepartmentPolicy, env *whv1.TestEnvironment) []Breach {
	rules := p.Spec.Environments
	if rules == nil {
		return nil
	}
	var out []Breach
	if len(rules.Flavors) > 0 && !slices.Contains(rules.Flavors, env.Spec.Template.Flavor) {
		out = append(out, Breach{p.Name, RuleFlavors, fmt.Sprintf("flavor %s is not one of %s", env.Spec.Template.Flavor, strings.Join(rules.Flavors, ", "))})
	}
	if len(rules.Images) > 0 && !slices.Contains(rules.Images, env.Spec.Template.Image) {
		out = append(out, Breach{p.Name, RuleImages, fmt.Sprintf("image %s is not one of %s", env.Spec.Template.Image, strings.Join(rules.Images, ", "))})
	}
	if rules.MaxReplicas != nil {
		limit := *rules.MaxReplicas
		if env.Spec.Replicas != nil && *env.Spec.Replicas > limit {
			out = append(out, Breach{p.Name, RuleMaxReplicas, fmt.Sprintf("replicas %d is over the maximum %d", *env.Spec.Replicas, limit)})
		}
		for _, peak := range env.Spec.Peaks {
			if peak.Replicas > limit {
				out = append(out, Breach{p.Name, RuleMaxReplicas, fmt.Sprintf("peak %s replicas %d is over the maximum %d", peak.Season, peak.Replicas, limit)})
			}
		}
	}
	if rules.MaxTTL != nil {
		switch {
		case env.Spec.TTL == nil:
			out = append(out, Breach{p.Name, RuleMaxTTL, fmt.Sprintf("a ttl is required, at most %s", rules.MaxTTL.Duration)})
		case env.Spec.TTL.Duration > rules.MaxTTL.Duration:
			out = append(out, Breach{p.Name, RuleMaxTTL, fmt.Sprintf("ttl %s is longer than %s", env.Spec.TTL.Duration, rules.MaxTTL.Duration)})
		}
	}
	return out
}

// QuotaBreaches returns the quotaCeiling breaches one ComputeQuota shows alone: a field
// the ceiling bounds (an unlimited ceiling bounds nothing) that its baseline or a peak (a
// peak overlays the baseline, so each of its values is one the project may hold) sets
// above the ceiling, unlimited included.
func QuotaBreaches(p *whv1.DepartmentPolicy, cq *whv1.ComputeQuota) []Breach {
	if p.Spec.QuotaCeiling == nil {
		return nil
	}
	ceiling := ceilingOf(p)
	var out []Breach
	check := func(where string, q whv1.QuotaSet) {
		values := quota.FromAPI(q)
		for _, f := range sortedFields(ceiling) {
			if v, set := values[f]; set && quota.Above(v, ceiling[f]) {
				out = append(out, Breach{p.Name, RuleQuotaCeiling, fmt.Sprintf("%s %s %s is over the ceiling %d", where, f, limitText(v), ceiling[f])})
			}
		}
	}
	check("baseline", cq.Spec.Baseline)
	for _, peak := range cq.Spec.Peaks {
		check("peak "+peak.Season, peak.QuotaSet)
	}
	return out
}

// QuotaSum returns, by ComputeQuota UID, the quotaCeiling breaches of the namespaces'
// sums: per namespace and bounded field, the largest value (baseline or any peak) of
// each ComputeQuota that writes its Tenant's quota (the oldest naming that Tenant; see
// OlderQuota), added up in creation order. The quotas that fit stay fine; the first that
// takes a field over the ceiling, and every later one that sets that field, breach, and
// the message names the other ComputeQuotas counted. A quota over the ceiling on its own
// counts, but its own breach is QuotaBreaches'. Quotas being deleted do not count.
func QuotaSum(p *whv1.DepartmentPolicy, quotas []whv1.ComputeQuota) map[types.UID][]Breach {
	out := map[types.UID][]Breach{}
	if p.Spec.QuotaCeiling == nil {
		return out
	}
	ceiling := ceilingOf(p)
	byNamespace := map[string][]*whv1.ComputeQuota{}
	for _, cq := range QuotaWriters(quotas) {
		byNamespace[cq.Namespace] = append(byNamespace[cq.Namespace], cq)
	}
	for _, writers := range byNamespace {
		for _, f := range sortedFields(ceiling) {
			var sum int64
			var counted []string
			for _, cq := range writers {
				v, set := largestOf(cq)[f]
				if !set {
					continue
				}
				sum = quota.Add(sum, v)
				// Over the ceiling alone, it breaches the single rule (QuotaBreaches) instead.
				if !quota.Above(v, ceiling[f]) && quota.Above(sum, ceiling[f]) {
					out[cq.UID] = append(out[cq.UID], Breach{p.Name, RuleQuotaCeiling, sumDetail(f, v, sum, ceiling[f], counted)})
				}
				counted = append(counted, fmt.Sprintf("%q (%s)", cq.Name, limitText(v)))
			}
		}
	}
	return out
}

// sumDetail says how a namespace's sum of a field goes over the ceiling.
func sumDetail(field quota.Field, own, sum, ceiling int64, others []string) string {
	with := ""
	switch len(others) {
	case 0:
	case 1:
		with = " with ComputeQuota " + others[0]
	default:
		with = " with ComputeQuotas " + strings.Join(others, ", ")
	}
	return fmt.Sprintf("%s %s%s sums to %s in the namespace, over the ceiling %d",
		field, limitText(own), with, limitText(sum), ceiling)
}

// limitText writes a limit as admission does, unlimited as "-1 (unlimited)".
func limitText(v int64) string {
	if v == quota.Unlimited {
		return fmt.Sprintf("%d (unlimited)", v)
	}
	return fmt.Sprint(v)
}

// QuotaWriters returns the ComputeQuotas that write their Tenant's quota, one per
// namespace and Tenant (the oldest; see OlderQuota), in creation order; those being
// deleted are left out.
func QuotaWriters(quotas []whv1.ComputeQuota) []*whv1.ComputeQuota {
	type tenantKey struct{ namespace, tenant string }
	writer := map[tenantKey]*whv1.ComputeQuota{}
	for i := range quotas {
		cq := &quotas[i]
		if !cq.DeletionTimestamp.IsZero() {
			continue
		}
		key := tenantKey{cq.Namespace, cq.Spec.TenantRef.Name}
		if w, ok := writer[key]; !ok || OlderQuota(cq, w) {
			writer[key] = cq
		}
	}
	out := make([]*whv1.ComputeQuota, 0, len(writer))
	for _, cq := range writer {
		out = append(out, cq)
	}
	slices.SortFunc(out, func(a, b *whv1.ComputeQuota) int {
		switch {
		case OlderQuota(a, b):
			return -1
		case OlderQuota(b, a):
			return 1
		default:
			return strings.Compare(a.Namespace, b.Namespace)
		}
	})
	return out
}

// OlderQuota reports whether a was created before b (by name when created in the same
// second): of the ComputeQuotas naming one Tenant, the oldest writes its quota.
func OlderQuota(a, b *whv1.ComputeQuota) bool {
	if a.CreationTimestamp.Equal(&b.CreationTimestamp) {
		return a.Name < b.Name
	}
	return a.CreationTimestamp.Before(&b.CreationTimestamp)
}

// largestOf returns, per field, the largest limit a ComputeQuota may set: its baseline
// or any peak, unlimited beating every number.
func largestOf(cq *whv1.ComputeQuota) quota.Limits {
	all := []quota.Limits{quota.FromAPI(cq.Spec.Baseline)}
	for _, peak := range cq.Spec.Peaks {
		all = append(all, quota.FromAPI(peak.QuotaSet))
	}
	return quota.Largest(all...)
}

// ceilingOf returns the limits p's quotaCeiling bounds: an unlimited ceiling bounds
// nothing, as at admission.
func ceilingOf(p *whv1.DepartmentPolicy) quota.Limits {
	out := quota.FromAPI(*p.Spec.QuotaCeiling)
	maps.DeleteFunc(out, func(_ quota.Field, v int64) bool { return v == quota.Unlimited })
	return out
}

// sortedFields returns a quota's fields in the order of their names
// ("<service>.<field>": blockStorage.gigabytes before compute.cores), so messages are
// stable.
func sortedFields(q quota.Limits) []quota.Field {
	return slices.SortedFunc(maps.Keys(q), func(a, b quota.Field) int { return strings.Compare(a.String(), b.String()) })
}

// specCIDR is the range a Tenant names itself, "" when it leaves it to the pool.
func specCIDR(t *whv1.Tenant) string {
	if t.Spec.Network == nil {
		return ""
	}
	return t.Spec.Network.CIDR
}

// blockBits is the prefix length of the blocks p's pool hands out.
func blockBits(p *whv1.DepartmentPolicy) int {
	if p.Spec.Networks != nil && p.Spec.Networks.PrefixLength != nil {
		return int(*p.Spec.Networks.PrefixLength)
	}
	return whv1.DefaultPrefixLength
}
