package envtest

import (
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// manifest parses a YAML object for namespace ns, as kubectl apply would send it.
func manifest(ns, doc string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	Expect(yaml.Unmarshal([]byte(doc), &u.Object)).To(Succeed())
	if ns != "" {
		u.SetNamespace(ns)
	}
	return u
}
