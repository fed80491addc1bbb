package plugin

import (
	"errors"
	"flag"
	"fmt"

	authenticationv1 "k8s.io/api/authentication/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// KubeFlags are kubectl's own connection flags, so the plugin reaches the cluster and
// namespace kubectl would.
type KubeFlags struct {
	Kubeconfig    string
	Context       string
	Namespace     string
	AllNamespaces bool
}

// bind adds --kubeconfig, --context, -n/--namespace and -A/--all-namespaces.
func (k *KubeFlags) bind(fs *flag.FlagSet) {
	fs.StringVar(&k.Kubeconfig, "kubeconfig", "", "Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).")
	fs.StringVar(&k.Context, "context", "", "The kubeconfig context to use.")
	fs.StringVar(&k.Namespace, "n", "", "The namespace (default: the context's).")
	fs.StringVar(&k.Namespace, "namespace", "", "The namespace (same as -n).")
	fs.BoolVar(&k.AllNamespaces, "A", false, "Every namespace.")
	fs.BoolVar(&k.AllNamespaces, "all-namespaces", false, "Every namespace (same as -A).")
}

// Cluster is what a command reads: a client that knows the operator's API, and the
// namespace in scope ("" for every namespace). Writer is the same client, for the one
// command that writes (approve); nil where a test gives a reader only.
type Cluster struct {
	Client    client.Reader
	Writer    client.Client
	Namespace string
}

// Connect loads the user's kubeconfig as kubectl does and returns a read client with the
// API scheme.
func Connect(k KubeFlags) (Cluster, error) {
	if k.AllNamespaces && k.Namespace != "" {
		return Cluster{}, errors.New("-n/--namespace and -A/--all-namespaces exclude each other")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.Kubeconfig
	loader := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context})
	cfg, err := loader.ClientConfig()
	if err != nil {
		return Cluster{}, fmt.Errorf("loading kubeconfig: %w", err)
	}
	namespace := k.Namespace
	if namespace == "" && !k.AllNamespaces {
		if namespace, _, err = loader.Namespace(); err != nil {
			return Cluster{}, fmt.Errorf("reading the context's namespace: %w", err)
		}
	}
	scheme := runtime.NewScheme()
	if err := whv1.AddToScheme(scheme); err != nil {
		return Cluster{}, err
	}
	if err := authenticationv1.AddToScheme(scheme); err != nil { // approve asks who the user is
		return Cluster{}, err
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return Cluster{}, fmt.Errorf("making a client: %w", err)
	}
	return Cluster{Client: c, Writer: c, Namespace: namespace}, nil
}

// inScope is the list option for the namespace in scope.
func inScope(namespace string) []client.ListOption {
	if namespace == "" {
		return nil
	}
	return []client.ListOption{client.InNamespace(namespace)}
}
