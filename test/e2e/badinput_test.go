package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
)

// The password of the dev cloud's admin, which must never appear in a log or event.
const devPassword = "admin"

var _ = Describe("bad credentials", Ordered, func() {
	const ns = "badinput"

	BeforeAll(func() {
		kubectl("create", "namespace", ns)
		good, err := os.ReadFile(cloudsYAML)
		Expect(err).NotTo(HaveOccurred())
		secret := func(name, key, content string) {
			path := GinkgoT().TempDir() + "/" + key
			Expect(os.WriteFile(path, []byte(content), 0o600)).To(Succeed())
			kubectl("-n", ns, "create", "secret", "generic", name, "--from-file="+key+"="+path)
		}
		secret("no-clouds-yaml", "other", string(good))
		secret("good", "clouds.yaml", string(good))
		secret("wrong-password", "clouds.yaml", strings.Replace(string(good), "password: "+devPassword, "password: s3cret-not-it", 1))
		secret("unreachable", "clouds.yaml", strings.Replace(string(good), "127.0.0.1:5000", "127.0.0.1:1", 1))
		secret("not-yaml", "clouds.yaml", "clouds: [dev: {auth: "+devPassword)
	})

	DescribeTable("reports a Tenant whose credentials cannot work, with a clear reason, and creates nothing",
		func(name, secret, cloudName, reason, message string) {
			apply(fmt.Sprintf(`apiVersion: whitehall.cloud/v1alpha1
kind: Tenant
metadata: {name: %s, namespace: %s}
spec:
  cloudCredentialsRef: {secretName: %s, cloudName: %s}
`, name, ns, secret, cloudName))
			Eventually(func(g Gomega) string {
				t := &whv1.Tenant{}
				g.Expect(k8s.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, t)).To(Succeed())
				c := meta.FindStatusCondition(t.Status.Conditions, whv1.ConditionReady)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Reason).To(Equal(reason))
				return c.Message
			}).Should(ContainSubstring(message))
			id, err := admin.FindProject(ctx, ns+"_"+name)
			Expect(err).NotTo(HaveOccurred())
			Expect(id).To(BeEmpty(), "nothing may be half-created")
			kubectl("-n", ns, "delete", "tenant", name, "--timeout=60s")
		},
		Entry("a Secret that does not exist", "no-secret", "missing", "dev", whv1.ReasonCredentialsError, "Secret badinput/missing not found"),
		Entry("a Secret without clouds.yaml", "no-key", "no-clouds-yaml", "dev", whv1.ReasonCredentialsError, `has no key "clouds.yaml"`),
		Entry("a cloudName not in the file", "no-cloud", "good", "prod", whv1.ReasonCredentialsError, "the cloud is not in clouds.yaml"),
		Entry("a clouds.yaml that is not YAML", "not-yaml", "not-yaml", "dev", whv1.ReasonCredentialsError, "clouds.yaml is not valid YAML"),
		Entry("a wrong password", "wrong-password", "wrong-password", "dev", whv1.ReasonCredentialsError, "Keystone refused the login"),
		Entry("an unreachable auth URL", "unreachable", "unreachable", "dev", whv1.ReasonTransientError, "connection refused"),
	)

	It("never crashed, and never wrote a credential to its log, an event or a status", func() {
		Expect(manager.ProcessState).To(BeNil(), "the operator is still running")
		events := kubectl("get", "events", "-A", "-o", "yaml")
		Expect(events).NotTo(ContainSubstring("password: "+devPassword), "an event holds the password")
		Expect(events).NotTo(ContainSubstring("s3cret-not-it"))
		files, err := filepath.Glob(filepath.Join(repoRoot, ".local", "e2e", "manager-*.log"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).NotTo(BeEmpty())
		for _, f := range files { // every run of the operator in this suite
			logs, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			Expect(string(logs)).NotTo(ContainSubstring("s3cret-not-it"), "%s holds a password", f)
			Expect(string(logs)).NotTo(MatchRegexp(`password[":= ]+admin\b`), "%s holds the admin password", f)
		}
		// And none of the department credentials and service-user passwords that the
		// isolation specs have seen so far (when they ran first), in logs, events or statuses.
		expectNoCredentialLeak()
	})
})
