package envtest

import (
	"bytes"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/cmd/kubectl-whitehall/plugin"
	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// Peaks approved before they land: a peak above what the namespace's DepartmentPolicy
// approves by itself is not applied until someone Kubernetes lets approve records an
// approval of its exact values; the baseline applies meanwhile.
var _ = Describe("peak approval", func() {
	const approvalLabel = "test.whitehall.cloud/peak-approval"
	var (
		ns, projectID string
		cq            *whv1.ComputeQuota
	)
	// as is a client acting as user, with the given rules in ns (none: no Role).
	as := func(user string, rules ...rbacv1.PolicyRule) client.Client {
		if len(rules) > 0 {
			Expect(k8s.Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user}, Rules: rules})).To(Succeed())
			Expect(k8s.Create(ctx, &rbacv1.RoleBinding{
				ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: user},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: user},
				Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
			})).To(Succeed())
		}
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
		out, err := client.New(c, client.Options{Scheme: k8s.Scheme()})
		Expect(err).NotTo(HaveOccurred())
		return out
	}
	editQuotas := rbacv1.PolicyRule{APIGroups: []string{whv1.GroupVersion.Group}, Resources: []string{"computequotas"},
		Verbs: []string{"get", "list", "update", "patch"}}
	approvePeaks := rbacv1.PolicyRule{APIGroups: []string{whv1.GroupVersion.Group}, Resources: []string{"computequotas/approval"},
		Verbs: []string{"approve"}}
	approval := func(user string, cores int64) whv1.PeakApproval {
		return whv1.PeakApproval{Season: "approval-" + ns, Compute: whv1.PeakCapacity{Cores: ptr.To(cores)}, ApprovedBy: user,
			ApprovedAt: metav1.NewTime(time.Now().UTC().Truncate(time.Second))}
	}
	// addApproval writes an approval as c, read afresh after a conflict (the operator
	// writes the object too), so that what it returns is admission's answer.
	addApproval := func(c client.Client, a whv1.PeakApproval) error {
		return retry.RetryOnConflict(retry.DefaultRetry, func() error {
			got := &whv1.ComputeQuota{}
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
			got.Spec.Approvals = append(got.Spec.Approvals, a)
			return c.Update(ctx, got)
		})
	}
	condition := func(g Gomega) *metav1.Condition {
		got := &whv1.ComputeQuota{}
		g.Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, whv1.ConditionPeakApproval)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		return c
	}
	cores := func() int64 { return cloud.Quota(projectID, quota.ComputeService)["cores"] }

	BeforeEach(func() {
		ns = newNamespace()
		nsObj := &corev1.Namespace{}
		Expect(k8s.Get(ctx, client.ObjectKey{Name: ns}, nsObj)).To(Succeed())
		nsObj.Labels[approvalLabel] = ns
		Expect(k8s.Update(ctx, nsObj)).To(Succeed())
		policy := &whv1.DepartmentPolicy{ObjectMeta: metav1.ObjectMeta{Name: "approval-" + ns}, Spec: whv1.DepartmentPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{approvalLabel: ns}},
			Peaks:             &whv1.PeakRules{AutoApproveUpTo: &whv1.PeakCapacity{Cores: ptr.To[int64](32)}},
		}}
		Expect(k8s.Create(ctx, policy)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, policy) })
		// A season open now, for a day.
		now := time.Now()
		season := &whv1.PeakSeason{ObjectMeta: metav1.ObjectMeta{Name: "approval-" + ns}, Spec: whv1.PeakSeasonSpec{
			Windows: []whv1.SeasonWindow{{From: ptr.To(localStamp(now.Add(-time.Hour))), To: ptr.To(localStamp(now.Add(24 * time.Hour)))}},
		}}
		Expect(k8s.Create(ctx, season)).To(Succeed())
		DeferCleanup(func() { _ = k8s.Delete(ctx, season) })
		projectID = departmentProject(ns)
		cq = &whv1.ComputeQuota{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "dept"}, Spec: whv1.ComputeQuotaSpec{
			TenantRef: whv1.LocalObjectReference{Name: "dept"},
			Baseline:  whv1.QuotaSet{Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](16)}},
			Peaks: []whv1.QuotaPeak{{Season: season.Name, QuotaSet: whv1.QuotaSet{
				Compute: &whv1.ComputeLimits{Cores: ptr.To[int64](64)}}}},
		}}
		Expect(k8s.Create(ctx, cq)).To(Succeed())
	})

	It("keeps the baseline while a peak is pending, refuses approvals from whoever may not approve, and applies the peak the moment it is approved", func() {
		By("a peak above autoApproveUpTo is pending: shown with its values, the baseline applies in the open season")
		Eventually(func(g Gomega) {
			c := condition(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(whv1.ReasonApprovalPending))
			g.Expect(c.Message).To(ContainSubstring("cores=64"))
			g.Expect(c.Message).To(ContainSubstring("cores 64 is above DepartmentPolicy approval-" + ns + "'s autoApproveUpTo 32"))
		}).Should(Succeed())
		Eventually(cores).Should(Equal(int64(16)))
		got := &whv1.ComputeQuota{}
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
		Expect(got.Status.PendingPeaks).To(ConsistOf(HaveField("Season", "approval-"+ns)))
		Expect(got.Status.PendingPeaks[0].OpensAt).To(BeNil(), "the season is open now")
		Consistently(cores).WithTimeout(2 * resync).Should(Equal(int64(16)))

		By("someone who may edit ComputeQuotas but not approve is refused")
		editor := as("quota-editor-"+ns, editQuotas)
		err := addApproval(editor, approval("quota-editor-"+ns, 64))
		Expect(apierrors.IsForbidden(err) || apierrors.IsInvalid(err)).To(BeTrue(), "refused at admission, not %v", err)
		Expect(err.Error()).To(ContainSubstring("only a peak approver may add, change or remove spec.approvals"))

		By("an approver may not approve in someone else's name")
		approverName := "capacity-" + ns
		approver := as(approverName, editQuotas, approvePeaks)
		err = addApproval(approver, approval("someone-else", 64))
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("approvedBy must be the user who approves: " + approverName))

		By("an approval of other values than the peak's does not count")
		Expect(addApproval(approver, approval(approverName, 48))).To(Succeed())
		Eventually(func(g Gomega) {
			c := condition(g)
			g.Expect(c.Reason).To(Equal(whv1.ReasonApprovalPending))
			g.Expect(c.Message).To(ContainSubstring("the approval by " + approverName + " of cores=48 does not count"))
		}).Should(Succeed())
		Consistently(cores).WithTimeout(2 * resync).Should(Equal(int64(16)))

		By("kubectl whitehall approve, as the approver: the peak lands at once")
		var out bytes.Buffer
		Expect(plugin.Approve(ctx, plugin.Cluster{Client: approver, Writer: approver},
			plugin.ApproveOptions{Namespace: ns, Name: "dept", Season: "approval-" + ns, Now: time.Now()}, &out)).To(Succeed())
		Expect(out.String()).To(ContainSubstring("cores=64, as " + approverName))
		Eventually(cores).Should(Equal(int64(64)))
		Eventually(func(g Gomega) {
			c := condition(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(ContainSubstring("approved by " + approverName))
		}).Should(Succeed())
		Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
		Expect(got.Spec.Approvals).To(ConsistOf(And(HaveField("ApprovedBy", approverName), HaveField("Compute.Cores", ptr.To[int64](64)))))
		Expect(got.Status.PendingPeaks).To(BeEmpty())

		By("a peak raised after its approval is pending again, and comes down to the baseline")
		Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
			got.Spec.Peaks[0].Compute.Cores = ptr.To[int64](128)
			return k8s.Update(ctx, got)
		})).To(Succeed())
		Eventually(cores).Should(Equal(int64(16)))
		Eventually(func(g Gomega) { g.Expect(condition(g).Reason).To(Equal(whv1.ReasonApprovalPending)) }).Should(Succeed())

		By("the department cannot remove the approvals either")
		err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
			got.Spec.Approvals = nil
			return editor.Update(ctx, got)
		})
		Expect(err).To(HaveOccurred())
		Expect(err.Error()).To(ContainSubstring("only a peak approver may"))
	})

	It("applies a peak within autoApproveUpTo without any approval", func() {
		got := &whv1.ComputeQuota{}
		Eventually(func() error {
			Expect(k8s.Get(ctx, client.ObjectKeyFromObject(cq), got)).To(Succeed())
			got.Spec.Peaks[0].Compute.Cores = ptr.To[int64](32)
			return k8s.Update(ctx, got)
		}).Should(Succeed())
		Eventually(cores).Should(Equal(int64(32)))
		Eventually(func(g Gomega) {
			c := condition(g)
			g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			g.Expect(c.Message).To(Equal("every peak is approved"))
		}).Should(Succeed())
	})
})
