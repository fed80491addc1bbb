package plugin

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// adopt reads the projects of a cloud that no Tenant owns, with the platform team's own
// clouds.yaml, and writes the Tenants and ComputeQuotas that reproduce them, in Observe
// with deletionPolicy Retain. It reads nothing of the cluster but the Cloud it names,
// and writes to OpenStack only with --handover: one tag per project.

const adoptSynopsis = `adopt [PROJECT...] [--match GLOB] (--namespace NS | --map GLOB=NS...) [flags]

Writes a Tenant and a ComputeQuota (managementPolicy Observe, deletionPolicy Retain) for
each project no Tenant owns: all of them, those whose name matches --match, or those
named (name or ID). Never the login's own project, the Cloud's protected projects, or
those given to --exclude. Reads OpenStack with your clouds.yaml (--os-cloud, else
OS_CLOUD; OS_CLIENT_CONFIG_FILE as openstackclient), never the operator's Secret.`

// openstackTimeout bounds each OpenStack call of adopt.
const openstackTimeout = 60 * time.Second

// adoptOptions are adopt's flags.
type adoptOptions struct {
	osCloud, domain, cloudRef, namespace, outDir string
	match                                        string
	projects, exclude, maps, grantable           []string
	handover                                     bool
	kube                                         KubeFlags
}

// listFlag is a flag that may be repeated, or given a comma-separated list.
type listFlag struct{ values *[]string }

func (l listFlag) String() string { return "" }
func (l listFlag) Set(v string) error {
	*l.values = append(*l.values, v)
	return nil
}

func parseAdopt(env Env, args []string) (adoptOptions, error) {
	o := adoptOptions{}
	grantable := "member,reader"
	fs := newFlagSet(adoptSynopsis, env)
	fs.StringVar(&o.osCloud, "os-cloud", "", "The cloud of your clouds.yaml (default: $OS_CLOUD).")
	fs.StringVar(&o.domain, "domain", "default", "The Keystone domain (name or ID) whose projects are read.")
	fs.StringVar(&o.cloudRef, "cloud-ref", "", "The Cloud the Tenants name (default: the cluster's only Cloud).")
	fs.StringVar(&o.match, "match", "", "Adopt the projects whose name matches this glob (path.Match: *, ?, [...]).")
	fs.Var(listFlag{&o.exclude}, "exclude", "A project (name, ID or glob on the name) never adopted; repeatable.")
	fs.StringVar(&o.namespace, "namespace", "", "Put every Tenant in this namespace.")
	fs.Var(listFlag{&o.maps}, "map", "GLOB=NS: a project whose name matches GLOB goes to namespace NS; repeatable, the first match wins.")
	fs.StringVar(&grantable, "grantable-roles", grantable, "The roles the operator may grant (its --grantable-roles): a person holding another is left out of roleAssignments.")
	fs.BoolVar(&o.handover, "handover", false, "Also tag each project adopted "+whv1.HandoverTagPrefix+"<namespace> in Keystone (the one write adopt makes).")
	fs.StringVar(&o.outDir, "out", "", "Write one file per namespace, <DIR>/<namespace>.yaml, instead of stdout.")
	fs.StringVar(&o.kube.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file, to read the Cloud (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&o.kube.Context, "context", "", "The kubeconfig context to use.")
	var err error
	if o.projects, err = parseInterspersed(fs, args); err != nil {
		return o, err
	}
	o.grantable = splitList(grantable)
	return o, o.check()
}

// check refuses flags that contradict each other or name no valid namespace.
func (o adoptOptions) check() error {
	if (o.namespace == "") == (len(o.maps) == 0) {
		return errors.New("give exactly one of --namespace NS and --map GLOB=NS")
	}
	if _, err := o.mapping(); err != nil {
		return err
	}
	for _, glob := range append([]string{o.match}, o.exclude...) {
		if _, err := path.Match(glob, ""); err != nil {
			return fmt.Errorf("bad glob %q: %w", glob, err)
		}
	}
	return nil
}

// namespaceRule maps project names matching glob to a namespace.
type namespaceRule struct{ glob, namespace string }

// mapping is the namespace rules, in the order given.
func (o adoptOptions) mapping() ([]namespaceRule, error) {
	if o.namespace != "" {
		return []namespaceRule{{glob: "*", namespace: o.namespace}}, checkNamespace(o.namespace)
	}
	rules := make([]namespaceRule, 0, len(o.maps))
	for _, m := range o.maps {
		glob, ns, ok := strings.Cut(m, "=")
		if !ok || glob == "" {
			return nil, fmt.Errorf("--map %q: want GLOB=NS", m)
		}
		if _, err := path.Match(glob, ""); err != nil {
			return nil, fmt.Errorf("--map %q: bad glob: %w", m, err)
		}
		if err := checkNamespace(ns); err != nil {
			return nil, err
		}
		rules = append(rules, namespaceRule{glob: glob, namespace: ns})
	}
	return rules, nil
}

func checkNamespace(ns string) error {
	if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
		return fmt.Errorf("namespace %q: %s", ns, strings.Join(errs, "; "))
	}
	return nil
}

// namespaceFor is the namespace of the first rule whose glob matches the name.
func namespaceFor(rules []namespaceRule, name string) (string, bool) {
	for _, r := range rules {
		if ok, _ := path.Match(r.glob, name); ok {
			return r.namespace, true
		}
	}
	return "", false
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// runAdopt is adopt as the command table runs it: against the cloud of clouds.yaml.
func runAdopt(ctx context.Context, env Env, args []string) error {
	return adoptCommand{open: func(ctx context.Context, cloud string) (openstack.Inventory, error) {
		return openstack.OpenCloud(ctx, cloud, openstackTimeout)
	}}.run(ctx, env, args)
}

// adoptCommand is adopt with the way it reaches OpenStack; tests give a fake.
type adoptCommand struct {
	open func(ctx context.Context, cloud string) (openstack.Inventory, error)
}

func (a adoptCommand) run(ctx context.Context, env Env, args []string) error {
	o, err := parseAdopt(env, args)
	if err != nil {
		return err
	}
	cloudRef, protected, err := o.cloud(ctx, env)
	if err != nil {
		return err
	}
	inv, err := a.open(ctx, o.osCloud)
	if err != nil {
		return err
	}
	rep := &report{p: &printer{w: env.Err}}
	adoptions, err := o.read(ctx, inv, protected, rep)
	if err != nil {
		return err
	}
	docs, err := manifests(adoptions, cloudRef, o.grantable, o.handover, rep)
	if err != nil {
		return err
	}
	if err := write(env, o.outDir, docs); err != nil {
		return err
	}
	if o.handover {
		if err := handOver(ctx, inv, adoptions, rep); err != nil {
			return err
		}
	}
	rep.summary(adoptions, o.handover)
	return rep.p.err
}

// cloud is the Cloud the Tenants name and the projects it protects: read from the
// cluster; --cloud-ref alone, when the cluster cannot be read, protects the defaults.
func (o adoptOptions) cloud(ctx context.Context, env Env) (string, []string, error) {
	cluster, err := env.Connect(o.kube)
	if err != nil {
		if o.cloudRef == "" {
			return "", nil, fmt.Errorf("%w (or give --cloud-ref)", err)
		}
		(&printer{w: env.Err}).printf("warning: the cluster cannot be read (%v): Cloud %s is taken to protect %s\n",
			err, o.cloudRef, strings.Join(whv1.DefaultProtectedProjects, ", "))
		return o.cloudRef, whv1.DefaultProtectedProjects, nil
	}
	var clouds whv1.CloudList
	if err := cluster.Client.List(ctx, &clouds); err != nil {
		return "", nil, fmt.Errorf("listing Clouds: %w", err)
	}
	for _, c := range clouds.Items {
		if c.Name == o.cloudRef || (o.cloudRef == "" && len(clouds.Items) == 1) {
			return c.Name, protectedOf(&c), nil
		}
	}
	if o.cloudRef == "" {
		return "", nil, fmt.Errorf("the cluster has %d Clouds: name one with --cloud-ref", len(clouds.Items))
	}
	return "", nil, fmt.Errorf("--cloud-ref %s: no such Cloud: %w", o.cloudRef, errNotFound)
}

var errNotFound = errors.New("not found in the cluster")

// protectedOf is a Cloud's protected projects, with the API's default.
func protectedOf(c *whv1.Cloud) []string {
	if c.Spec.ProtectedProjects == nil {
		return whv1.DefaultProtectedProjects
	}
	return c.Spec.ProtectedProjects
}

// Adopt runs adopt against inv instead of the cloud of clouds.yaml: for tests that hold
// a cloud of their own.
func Adopt(ctx context.Context, env Env, inv openstack.Inventory, args []string) error {
	return adoptCommand{open: func(context.Context, string) (openstack.Inventory, error) { return inv, nil }}.run(ctx, env, args)
}
