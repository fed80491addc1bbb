package plugin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// ExitNotObserved is plan's exit code when no object has drift but at least one under
// Observe has not been observed at its current generation: the plan cannot say yet,
// and CI must not read it as "no change".
const ExitNotObserved = 3

// exitStatus ends a command with a code other than 0 or 1 after it printed its result:
// an outcome for a script to read, not an error to print.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// Kinds plan reads.
const (
	kindTenant       = "Tenant"
	kindComputeQuota = "ComputeQuota"
)

// PlanTarget is an object named on the command line: a kind and a name, or a name
// alone, which means a Tenant and a ComputeQuota of that name, whichever exist.
type PlanTarget struct {
	// Kind is Tenant, ComputeQuota, or "" for both.
	Kind string
	Name string
}

// PlanOptions say which objects plan reports and how.
type PlanOptions struct {
	// Namespace in scope; "" for every namespace (then Targets must be empty).
	Namespace string
	// Targets, when set, are the only objects reported.
	Targets []PlanTarget
	// Output is text or json.
	Output string
}

func runPlan(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("plan [-n NAMESPACE | -A] [tenant/NAME | computequota/NAME | NAME ...] [-o json]", env)
	flags := bindRead(fs)
	positional, err := flags.parse(fs, args)
	if err != nil {
		return err
	}
	kube, output := flags.kube, flags.output
	targets, err := ParsePlanTargets(positional)
	if err != nil {
		return err
	}
	if kube.AllNamespaces && len(targets) > 0 {
		return fmt.Errorf("objects named by name need one namespace: use -n, not -A")
	}
	cluster, err := env.Connect(kube)
	if err != nil {
		return err
	}
	code, err := Plan(ctx, cluster.Client, PlanOptions{Namespace: cluster.Namespace, Targets: targets, Output: *output}, env.Out)
	if err != nil {
		return err
	}
	if code != ExitOK {
		return exitStatus(code)
	}
	return nil
}

// ParsePlanTargets reads kind/name and plain names as kubectl get does: tenant(s),
// computequota(s) and cq, any case, with or without the group.
func ParsePlanTargets(args []string) ([]PlanTarget, error) {
	var out []PlanTarget
	for _, arg := range args {
		kind, name, typed := strings.Cut(arg, "/")
		if !typed {
			kind, name = "", arg
		}
		if name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("%q: name an object as NAME, tenant/NAME or computequota/NAME", arg)
		}
		if typed {
			switch strings.TrimSuffix(strings.ToLower(kind), ".whitehall.cloud") {
			case "tenant", "tenants":
				kind = kindTenant
			case "computequota", "computequotas", "cq":
				kind = kindComputeQuota
			default:
				return nil, fmt.Errorf("%q: plan reads Tenants and ComputeQuotas, not %q", arg, kind)
			}
		}
		out = append(out, PlanTarget{Kind: kind, Name: name})
	}
	return out, nil
}

// Plan writes the drift of the objects in scope, as text or JSON, and returns the exit
// code it stands for (PlanExitCode).
func Plan(ctx context.Context, c client.Reader, opts PlanOptions, out io.Writer) (int, error) {
	tenants, quotas, err := loadPlanObjects(ctx, c, opts)
	if err != nil {
		return ExitError, err
	}
	report := BuildPlan(tenants, quotas)
	if opts.Output == "json" {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = RenderPlan(out, report)
	}
	if err != nil {
		return ExitError, err
	}
	return report.Summary.ExitCode, nil
}

// loadPlanObjects reads the objects named, or every Tenant and ComputeQuota in scope.
func loadPlanObjects(ctx context.Context, c client.Reader, opts PlanOptions) ([]whv1.Tenant, []whv1.ComputeQuota, error) {
	if len(opts.Targets) == 0 {
		var tenants whv1.TenantList
		if err := c.List(ctx, &tenants, inScope(opts.Namespace)...); err != nil {
			return nil, nil, fmt.Errorf("listing Tenants: %w", err)
		}
		var quotas whv1.ComputeQuotaList
		if err := c.List(ctx, &quotas, inScope(opts.Namespace)...); err != nil {
			return nil, nil, fmt.Errorf("listing ComputeQuotas: %w", err)
		}
		return tenants.Items, quotas.Items, nil
	}
	return getPlanObjects(ctx, c, opts.Namespace, opts.Targets)
}

// getPlanObjects reads the objects named in namespace, each once; a plain name must name
// a Tenant or a ComputeQuota, a kind/name that kind.
func getPlanObjects(ctx context.Context, c client.Reader, namespace string, targets []PlanTarget) ([]whv1.Tenant, []whv1.ComputeQuota, error) {
	var (
		tenants []whv1.Tenant
		quotas  []whv1.ComputeQuota
		seen    = map[PlanTarget]bool{}
	)
	for _, t := range targets {
		key := client.ObjectKey{Namespace: namespace, Name: t.Name}
		found := false
		for _, kind := range []string{kindTenant, kindComputeQuota} {
			id := PlanTarget{Kind: kind, Name: t.Name}
			switch {
			case t.Kind != "" && t.Kind != kind:
				continue
			case seen[id]: // named twice: reported once
				found = true
				continue
			}
			var obj client.Object = &whv1.Tenant{}
			if kind == kindComputeQuota {
				obj = &whv1.ComputeQuota{}
			}
			ok, err := getOptional(ctx, c, key, obj, t.Kind == "")
			if err != nil {
				return nil, nil, err
			}
			if !ok {
				continue
			}
			seen[id], found = true, true
			switch o := obj.(type) {
			case *whv1.Tenant:
				tenants = append(tenants, *o)
			case *whv1.ComputeQuota:
				quotas = append(quotas, *o)
			}
		}
		if !found {
			return nil, nil, fmt.Errorf("no Tenant or ComputeQuota %q in namespace %q", t.Name, namespace)
		}
	}
	return tenants, quotas, nil
}

// getOptional reads obj; a missing one is an error unless optional says another kind
// may answer to the name.
func getOptional(ctx context.Context, c client.Reader, key client.ObjectKey, obj client.Object, optional bool) (bool, error) {
	err := c.Get(ctx, key, obj)
	switch {
	case err == nil:
		return true, nil
	case apierrors.IsNotFound(err) && optional:
		return false, nil
	case apierrors.IsNotFound(err):
		return false, fmt.Errorf("%s %q not found in namespace %q", kindOf(obj), key.Name, key.Namespace)
	default:
		return false, fmt.Errorf("reading %s %s: %w", kindOf(obj), key, err)
	}
}

func kindOf(obj client.Object) string {
	if _, ok := obj.(*whv1.Tenant); ok {
		return kindTenant
	}
	return kindComputeQuota
}

// BuildPlan assesses every object and sorts them by namespace and name, a Tenant before
// the ComputeQuota of the same name, so a department's objects stand together.
func BuildPlan(tenants []whv1.Tenant, quotas []whv1.ComputeQuota) PlanReport {
	report := PlanReport{Kind: "Plan", Version: PlanVersion, Objects: []PlanObject{}}
	for i := range tenants {
		t := &tenants[i]
		report.Objects = append(report.Objects, assess(kindTenant, t, t.Spec.ManagementPolicy,
			t.Status.ObservedGeneration, t.Status.Conditions, t.Status.Drift))
	}
	for i := range quotas {
		q := &quotas[i]
		report.Objects = append(report.Objects, assess(kindComputeQuota, q, q.Spec.ManagementPolicy,
			q.Status.ObservedGeneration, q.Status.Conditions, q.Status.Drift))
	}
	slices.SortFunc(report.Objects, func(a, b PlanObject) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name),
			cmp.Compare(kindOrder(a.Kind), kindOrder(b.Kind)))
	})
	report.Summary = summarizePlan(report.Objects)
	return report
}

func kindOrder(kind string) int {
	if kind == kindTenant {
		return 0
	}
	return 1
}
