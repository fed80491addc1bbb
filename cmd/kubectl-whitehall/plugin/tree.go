package plugin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"

	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// Line is one line of the tree: one part of a department, its state, and its parts.
type Line struct {
	// Kind is what the line shows: Tenant, Project, People, Group, User, Network,
	// Credential, ComputeQuota, Limit, TestEnvironment or Policy.
	Kind string `json:"kind"`
	// Name of the object or part, when it has one (a credential: its Secret).
	Name string `json:"name,omitempty"`
	// Detail is what a person wants to know of the part (IDs, counts, limits).
	Detail string `json:"detail,omitempty"`
	// Ready is True, False or Unknown; empty on a line that only informs.
	Ready string `json:"ready,omitempty"`
	// Reason and Message of the Ready state.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
	// Children are the parts, failing ones first.
	Children []*Line `json:"children,omitempty"`
}

// Department is a Tenant with the objects that name it. Tenant is nil when quotas or
// environments name a Tenant that does not exist.
type Department struct {
	Namespace    string
	TenantName   string
	Tenant       *whv1.Tenant
	Quotas       []whv1.ComputeQuota
	Environments []whv1.TestEnvironment
}

// TreeOptions say which departments tree shows and how.
type TreeOptions struct {
	// Namespace in scope; "" for every namespace.
	Namespace string
	// Tenant, when set, shows that Tenant only.
	Tenant string
	// Output is text or json.
	Output string
}

func runTree(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("tree [-n NAMESPACE | -A] [TENANT] [-o json]", env)
	flags := bindRead(fs)
	positional, err := flags.parse(fs, args)
	if err != nil {
		return err
	}
	kube, output := flags.kube, flags.output
	if len(positional) > 1 {
		return fmt.Errorf("tree takes at most one Tenant name, got %d arguments", len(positional))
	}
	cluster, err := env.Connect(kube)
	if err != nil {
		return err
	}
	opts := TreeOptions{Namespace: cluster.Namespace, Output: *output}
	if len(positional) == 1 {
		opts.Tenant = positional[0]
	}
	return Tree(ctx, cluster.Client, opts, env.Out)
}

// Tree writes the departments in scope as a tree (or JSON), failing ones first.
func Tree(ctx context.Context, c client.Reader, opts TreeOptions, out io.Writer) error {
	departments, err := loadDepartments(ctx, c, opts)
	if err != nil {
		return err
	}
	if len(departments) == 0 && opts.Output == "text" {
		_, err := fmt.Fprintln(out, "No Tenants found.")
		return err
	}
	lines := BuildTree(departments)
	if opts.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(lines)
	}
	return RenderTree(out, lines)
}

// loadDepartments lists the Tenants, ComputeQuotas and TestEnvironments in scope and
// groups them by the Tenant they name.
func loadDepartments(ctx context.Context, c client.Reader, opts TreeOptions) ([]Department, error) {
	var tenants whv1.TenantList
	if err := c.List(ctx, &tenants, inScope(opts.Namespace)...); err != nil {
		return nil, fmt.Errorf("listing Tenants: %w", err)
	}
	var quotas whv1.ComputeQuotaList
	if err := c.List(ctx, &quotas, inScope(opts.Namespace)...); err != nil {
		return nil, fmt.Errorf("listing ComputeQuotas: %w", err)
	}
	var envs whv1.TestEnvironmentList
	if err := c.List(ctx, &envs, inScope(opts.Namespace)...); err != nil {
		return nil, fmt.Errorf("listing TestEnvironments: %w", err)
	}
	return groupDepartments(tenants.Items, quotas.Items, envs.Items, opts.Tenant), nil
}

type departmentKey struct{ namespace, name string }

// groupDepartments puts each quota and environment under the Tenant it names; only is
// a Tenant name to keep, or "" for all.
func groupDepartments(tenants []whv1.Tenant, quotas []whv1.ComputeQuota, envs []whv1.TestEnvironment, only string) []Department {
	byKey := map[departmentKey]*Department{}
	get := func(namespace, name string) *Department {
		key := departmentKey{namespace, name}
		if byKey[key] == nil {
			byKey[key] = &Department{Namespace: namespace, TenantName: name}
		}
		return byKey[key]
	}
	for i := range tenants {
		get(tenants[i].Namespace, tenants[i].Name).Tenant = &tenants[i]
	}
	for _, q := range quotas {
		d := get(q.Namespace, q.Spec.TenantRef.Name)
		d.Quotas = append(d.Quotas, q)
	}
	for _, e := range envs {
		d := get(e.Namespace, e.Spec.TenantRef.Name)
		d.Environments = append(d.Environments, e)
	}
	var out []Department
	for _, d := range byKey {
		if only == "" || d.TenantName == only {
			out = append(out, *d)
		}
	}
	slices.SortFunc(out, func(a, b Department) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.TenantName, b.TenantName))
	})
	return out
}
