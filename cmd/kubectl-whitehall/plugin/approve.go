package plugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
// the resourceVersion read; when the object changed meanwhile (the operator writes its
// status too) it is read again and written again only if the peak still asks the values
// first read: a peak changed meanwhile is never approved with values the approver did
// not see. The admission policy whitehall-peak-approvals refuses it unless the user may
// approve.
func Approve(ctx context.Context, c Cluster, opts ApproveOptions, out io.Writer) error {
	if c.Writer == nil {
		return errors.New("approve needs a client that writes")
	}
	user, err := whoAmI(ctx, c.Writer)
	if err != nil {
		return err
	}
	var seen *whv1.PeakCapacity
	for attempt := 0; ; attempt++ {
		var cq whv1.ComputeQuota
		if err := c.Writer.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.Name}, &cq); err != nil {
			return fmt.Errorf("reading ComputeQuota %s/%s: %w", opts.Namespace, opts.Name, err)
		}
		values, err := peakValues(&cq, opts.Season)
		if err != nil {
			return err
		}
		if seen != nil && !policy.SameCapacity(*seen, values) {
			return fmt.Errorf("the peak of season %s of ComputeQuota %s/%s changed while it was approved (%s, now %s): look at it again and approve again",
				opts.Season, opts.Namespace, opts.Name, policy.CapacityText(*seen), policy.CapacityText(values))
		}
		seen = &values
		approval := whv1.PeakApproval{Season: opts.Season, Compute: values, ApprovedBy: user,
			ApprovedAt: metav1.NewTime(opts.Now.UTC().Truncate(time.Second))}
		cq.Spec.Approvals = append(slices.DeleteFunc(cq.Spec.Approvals, func(a whv1.PeakApproval) bool { return a.Season == opts.Season }), approval)
		err = c.Writer.Update(ctx, &cq)
		switch {
		case apierrors.IsConflict(err) && attempt < 5:
			continue
		case err != nil:
			return fmt.Errorf("approving: %w", err)
		}
		p := &printer{w: out}
		p.printf("approved the peak of season %s of ComputeQuota %s/%s: %s, as %s\n", opts.Season, opts.Namespace, opts.Name,
			policy.CapacityText(values), user)
		return p.err
	}
}

// peakValues are the capacity values cq's peak for season asks.
func peakValues(cq *whv1.ComputeQuota, season string) (whv1.PeakCapacity, error) {
	for _, p := range cq.Spec.Peaks {
		if p.Season == season {
			return policy.PeakValues(p.QuotaSet), nil
		}
	}
	return whv1.PeakCapacity{}, fmt.Errorf("ComputeQuota %s/%s has no peak for season %s", cq.Namespace, cq.Name, season)
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
