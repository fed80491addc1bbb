package envtest

import (
	"slices"

	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
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

// createTenant creates a Tenant of the shared Cloud in ns.
func createTenant(ns, name string, mutate ...func(*whv1.Tenant)) *whv1.Tenant {
	t := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       whv1.TenantSpec{CloudRef: &whv1.CloudReference{Name: sharedCloud}},
	}
	for _, m := range mutate {
		m(t)
	}
	Expect(k8s.Create(ctx, t)).To(Succeed())
	return t
}

// departmentProject creates Tenant "dept" in ns with the department's own credentials
// (goodSecret, cloud "dev") and returns its project ID once it has one.
func departmentProject(ns string) string {
	t := &whv1.Tenant{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"},
		Spec:       whv1.TenantSpec{CloudCredentialsRef: &whv1.CloudCredentialsReference{SecretName: goodSecret, CloudName: "dev"}},
	}
	Expect(k8s.Create(ctx, t)).To(Succeed())
	Eventually(func() string {
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), t)).To(Succeed())
		return t.Status.ProjectID
	}).ShouldNot(BeEmpty())
	return t.Status.ProjectID
}

// readyTenant polls until the Tenant is Ready for its current generation.
func readyTenant(t *whv1.Tenant) func(Gomega) *whv1.Tenant {
	return func(g Gomega) *whv1.Tenant {
		out := &whv1.Tenant{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(t), out)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(out.Status.Conditions, whv1.ConditionReady)).To(BeTrue(), "conditions: %v", out.Status.Conditions)
		g.Expect(out.Status.ObservedGeneration).To(Equal(out.Generation))
		return out
	}
}

// fetch reads obj afresh into a new object of its type.
func fetch[T client.Object](obj T) T {
	out := obj.DeepCopyObject().(T)
	Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
	return out
}

// conditionOf polls the condition of a type on obj, which is read afresh each time.
func conditionOf(obj client.Object, condType string) func(Gomega) metav1.Condition {
	return func(g Gomega) metav1.Condition {
		out := obj.DeepCopyObject().(client.Object)
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(obj), out)).To(Succeed())
		c := meta.FindStatusCondition(conditionsOf(out), condType)
		g.Expect(c).NotTo(BeNil(), "no %s condition yet", condType)
		return *c
	}
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *whv1.Tenant:
		return o.Status.Conditions
	case *whv1.ComputeQuota:
		return o.Status.Conditions
	case *whv1.TestEnvironment:
		return o.Status.Conditions
	case *whv1.PeakSeason:
		return o.Status.Conditions
	case *whv1.Cloud:
		return o.Status.Conditions
	}
	panic("conditionsOf: no conditions on this kind")
}

// notReadyBecause matches a Ready (or other) condition that is False with a reason and
// a message containing text.
func notReadyBecause(reason, text string) OmegaMatcher {
	return And(HaveField("Status", metav1.ConditionFalse), HaveField("Reason", reason), HaveField("Message", ContainSubstring(text)))
}

// isGone reports whether obj no longer exists.
func isGone(obj client.Object) func() bool {
	return func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object)))
	}
}

// change applies edit to the latest obj and updates it, again on a conflict (the
// controller writes finalizers and the like meanwhile).
func change[T client.Object](obj T, edit func(T)) {
	Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj); err != nil {
			return err
		}
		edit(obj)
		return k8s.Update(ctx, obj)
	})).To(Succeed())
}

// eventsAbout lists the events, in any namespace, about the object of a kind and name.
func eventsAbout(g Gomega, kind, name string) []eventsv1.Event {
	var list eventsv1.EventList
	g.Expect(k8s.List(ctx, &list)).To(Succeed())
	return slices.DeleteFunc(list.Items, func(e eventsv1.Event) bool {
		return e.Regarding.Kind != kind || e.Regarding.Name != name
	})
}
