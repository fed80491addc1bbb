package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/policy"
)

// ApproveOptions say which peak approve approves.
type ApproveOptions struct {
	Namespace, Name, Season string
	Now                     time.Time
}

func runApprove(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet("approve NAME --season SEASON [-n NAMESPACE]", env)
	var kube KubeFlags
	kube.bind(fs)
	seasonName := fs.String("season", "", "The PeakSeason whose peak is approved (required).")
	positional, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(positional) != 1:
		return errors.New("approve takes one ComputeQuota name")
	case *seasonName == "":
		return errors.New("--season is required: the peak of which season")
	case kube.AllNamespaces:
		return errors.New("approve takes one ComputeQuota: name its namespace with -n, not -A")
	}
	cluster, err := env.Connect(kube)
	if err != nil {
		return err
	}
	return Approve(ctx, cluster, ApproveOptions{Namespace: cluster.Namespace, Name: positional[0], Season: *seasonName, Now: env.Now()}, env.Out)
}

// Approve records, in the ComputeQuota, an approval of its peak for the season with the
// values the peak asks now, by the user the API server says is asking. The write carries
// the resourceVersion read: a peak changed meanwhile is refused (Conflict), never
// approved with values the approver did not see. The admission policy
// whitehall-peak-approvals refuses it unless the user may approve.
func Approve(ctx context.Context, c Cluster, opts ApproveOptions, out io.Writer) error {
	if c.Writer == nil {
		return errors.New("approve needs a client that writes")
	}
	var cq whv1.ComputeQuota
	if err := c.Writer.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.Name}, &cq); err != nil {
		return fmt.Errorf("reading ComputeQuota %s/%s: %w", opts.Namespace, opts.Name, err)
	}
	var peak *whv1.QuotaPeak
	for i := range cq.Spec.Peaks {
		if cq.Spec.Peaks[i].Season == opts.Season {
			peak = &cq.Spec.Peaks[i]
		}
	}
	if peak == nil {
		return fmt.Errorf("ComputeQuota %s/%s has no peak for season %s", opts.Namespace, opts.Name, opts.Season)
	}
	user, err := whoAmI(ctx, c.Writer)
	if err != nil {
		return err
	}
	approval := whv1.PeakApproval{Season: opts.Season, Compute: policy.PeakValues(peak.QuotaSet), ApprovedBy: user,
		ApprovedAt: metav1.NewTime(opts.Now.UTC().Truncate(time.Second))}
	kept := cq.Spec.Approvals[:0]
	for _, a := range cq.Spec.Approvals {
		if a.Season != opts.Season {
			kept = append(kept, a)
		}
	}
	cq.Spec.Approvals = append(kept, approval)
	if err := c.Writer.Update(ctx, &cq); err != nil {
		if apierrors.IsConflict(err) {
			return fmt.Errorf("ComputeQuota %s/%s changed while it was read: look at its peak again and approve again: %w", opts.Namespace, opts.Name, err)
		}
		return fmt.Errorf("approving: %w", err)
	}
	p := &printer{w: out}
	p.printf("approved the peak of season %s of ComputeQuota %s/%s: %s, as %s\n", opts.Season, opts.Namespace, opts.Name,
		policy.CapacityText(approval.Compute), user)
	return p.err
}

// whoAmI is the user the API server authenticates this client as (a SelfSubjectReview).
func whoAmI(ctx context.Context, c client.Client) (string, error) {
	review := &authenticationv1.SelfSubjectReview{}
	if err := c.Create(ctx, review); err != nil {
		return "", fmt.Errorf("asking the API server who you are (SelfSubjectReview): %w", err)
	}
	if review.Status.UserInfo.Username == "" {
		return "", errors.New("the API server did not say who you are")
	}
	return review.Status.UserInfo.Username, nil
}
