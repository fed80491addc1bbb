package testenvironment

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

	"k8s.io/apimachinery/pkg/api/meta"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/whitehall-cloud/whitehall-operator/controllers/frame"
	"github.com/whitehall-cloud/whitehall-operator/controllers/lookups"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// Metadata keys the operator puts on every server it creates.
const (
	// environmentUIDKey ties a server to its TestEnvironment: before creating anything the
	// controller lists what carries its UID, so no crash ever boots a duplicate.
	environmentUIDKey = "whitehall_environment_uid"
	// environmentKey names the environment, for people reading Nova.
	environmentKey = "whitehall_environment"
)

// serverPattern matches the names of an environment's servers: <environment>-<index>.
func serverPattern(env *whv1.TestEnvironment) string {
	return "^" + regexp.QuoteMeta(env.Name) + "-[0-9]+$"
}

// serverIndex returns the index in a server's name, or -1. Only <environment>-<index>
// with the index written as the operator writes it counts: environment web never takes
// web-1's server web-1-0 (nor web-01) for its own.
func serverIndex(env *whv1.TestEnvironment, name string) int {
	suffix, ok := strings.CutPrefix(name, env.Name+"-")
	if !ok {
		return -1
	}
	i, err := strconv.Atoi(suffix)
	if err != nil || i < 0 || strconv.Itoa(i) != suffix {
		return -1
	}
	return i
}

// serverGroupName is the server group of the environment with this UID: no two
// environments (nor one recreated with the same name) ever share one.
func serverGroupName(uid types.UID) string {
	return "whitehall-env-" + string(uid)
}

// ownServers lists the environment's servers: its name pattern, and its UID or its
// namespace and name. The listing is of the department's own project, where a server
// naming this environment was booted for it: by it, or by the same environment applied
// before its cluster was lost (a new UID), whose servers it finds again rather than
// boot twice. One the environment deleted is gone before its finalizer lets it go, so
// an environment recreated under the name never inherits a live one's servers.
func ownServers(ctx context.Context, cloud Cloud, env *whv1.TestEnvironment) ([]openstack.Server, error) {
	list, err := cloud.ListServers(ctx, serverPattern(env))
	if err != nil {
		return nil, err
	}
	name := env.Namespace + "/" + env.Name
	return slices.DeleteFunc(list, func(s openstack.Server) bool {
		mine := s.Metadata[environmentUIDKey] == string(env.UID) || s.Metadata[environmentKey] == name
		return !mine || serverIndex(env, s.Name) < 0
	}), nil
}

// formerUID is the UID the environment had before its cluster was lost, read from the
// servers it finds again; its own when there are none. Its server group is named by it.
func formerUID(env *whv1.TestEnvironment, servers []openstack.Server) types.UID {
	for _, s := range servers {
		if uid := s.Metadata[environmentUIDKey]; uid != "" && uid != string(env.UID) {
			return types.UID(uid)
		}
	}
	return env.UID
}

// serverIndexes returns the servers' indexes.
func serverIndexes(env *whv1.TestEnvironment, servers []openstack.Server) map[int]bool {
	out := map[int]bool{}
	for _, s := range servers {
		out[serverIndex(env, s.Name)] = true
	}
	return out
}

// serverPlan is what one pass does to the servers.
type serverPlan struct {
	create []int              // indexes to boot
	remove []openstack.Server // servers to delete, highest index first
	keep   []openstack.Server // servers that stay
}

// planServers decides: indexes at or above desired go (highest first), a server in
// ERROR is deleted and its index booted again once it has gone, a second server with the
// same index goes, and every missing index below desired is booted.
//
// uncertain are indexes whose create may still be under way in Nova: they are not booted.
func planServers(env *whv1.TestEnvironment, servers []openstack.Server, desired int, uncertain map[int]bool) serverPlan {
	var p serverPlan
	byIndex := map[int]openstack.Server{}
	for _, s := range servers {
		i := serverIndex(env, s.Name)
		prev, seen := byIndex[i]
		switch {
		case i >= desired || s.Status == "ERROR" || s.Status == "DELETED":
			p.remove = append(p.remove, s)
		case seen && (prev.Status == "ACTIVE" || s.Status != "ACTIVE"):
			p.remove = append(p.remove, s)
		case seen:
			p.remove = append(p.remove, prev)
			byIndex[i] = s
		default:
			byIndex[i] = s
		}
	}
	busy := maps.Clone(uncertain) // an index whose old server is still going, or uncertain
	if busy == nil {
		busy = map[int]bool{}
	}
	for _, s := range p.remove {
		busy[serverIndex(env, s.Name)] = true
	}
	for i := 0; i < desired; i++ {
		if s, ok := byIndex[i]; ok {
			p.keep = append(p.keep, s)
		} else if !busy[i] {
			p.create = append(p.create, i)
		}
	}
	slices.SortFunc(p.remove, func(a, b openstack.Server) int {
		return serverIndex(env, b.Name) - serverIndex(env, a.Name)
	})
	return p
}

// scale lists the environment's servers, deletes and boots what the plan says (boots
// with bounded concurrency), and records the servers in status. An environment that
// breaches a DepartmentPolicy boots nothing its limit does not allow: it is not Ready if
// it wanted more servers.
func (r *Reconciler) scale(ctx context.Context, cloud Cloud, env *whv1.TestEnvironment, tenant *whv1.Tenant,
	limit bootLimit) (frame.Step, error) {
	servers, err := ownServers(ctx, cloud, env)
	if err != nil {
		return frame.Step{}, err
	}
	template, err := r.prepareBoot(ctx, cloud, env, tenant, limit.images, formerUID(env, servers))
	if err != nil {
		return frame.Step{}, err
	}
	desired := int(env.Status.DesiredReplicas)
	now := r.Now()
	r.noteFailures(ctx, cloud, env, servers, desired, now)
	uncertain := r.pending.uncertain(env.UID, serverIndexes(env, servers), now)
	backingOff := backingOff(env, now)
	p := planServers(env, servers, desired, union(uncertain, backingOff))
	withheld := 0
	if limit.servers >= 0 {
		allowed := slices.DeleteFunc(slices.Clone(p.create), func(i int) bool { return i >= limit.servers })
		withheld, p.create = len(p.create)-len(allowed), allowed
	}

	for _, s := range p.remove {
		if err := cloud.DeleteServer(ctx, s.ID); err != nil {
			return frame.Step{}, err
		}
	}
	if len(p.remove) > 0 {
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "ServersDeleted", "DeleteServers", "Deleting %s", serverNames(p.remove))
	}
	b := r.boot(ctx, cloud, env, template, p.create)
	created := b.servers
	if len(created) > 0 {
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "ServersCreated", "CreateServers", "Booting %s", serverNames(created))
	}
	r.recordServers(env, append(p.keep, created...), len(p.remove))
	setQuotaCondition(env, b.quotaErr)
	if b.err != nil {
		return frame.Step{}, b.err
	}
	if b.quotaErr != nil {
		return frame.Step{}, frame.RetryAfter(b.quotaErr, quotaRetry(env, r.Intervals.Blocked, now))
	}
	if withheld > 0 {
		return frame.Step{}, lookups.PolicyViolation(limit.breaches, fmt.Sprintf("%d new server(s) are not booted; the %d existing keep running",
			withheld, len(p.keep)))
	}
	return settledStep(env, now, p, servers, len(created), len(uncertain), len(backingOff))
}

// settledStep says whether the servers have settled. Servers still on their way are
// polled; an index backing off after ERROR wakes the environment when its back-off ends;
// a server the department stopped itself is left as it is and looked at on the resync
// (Nova has no watch, and stopping is not building).
func settledStep(env *whv1.TestEnvironment, now time.Time, p serverPlan, servers []openstack.Server, created, uncertain, waiting int) (frame.Step, error) {
	desired, ready := int(env.Status.DesiredReplicas), int(env.Status.ReadyReplicas)
	var stopped []string
	for _, s := range p.keep {
		if stoppedByDepartment(s.Status) {
			stopped = append(stopped, fmt.Sprintf("%s (%s)", s.Name, s.Status))
		}
	}
	message := fmt.Sprintf("%d of %d servers ACTIVE", ready, desired)
	if ready+len(stopped)+waiting < desired || len(p.remove) > 0 || uncertain > 0 || len(servers)-len(p.remove)+created+waiting != desired {
		return frame.Step{Busy: true, Reason: whv1.ReasonServersBuilding, Message: message}, nil
	}
	if waiting > 0 {
		// Nothing to look at until the first back-off ends.
		f, wake := nextRetry(env, now)
		return frame.Step{Reason: whv1.ReasonServerFailed, Wake: wake, Message: fmt.Sprintf(
			"%s; %d failed: %s went to ERROR (%d in a row): %s; booted again at %s", message, waiting, f.Name, f.Count, f.Fault, f.RetryAt.UTC().Format(time.RFC3339))}, nil
	}
	if len(stopped) > 0 {
		return frame.Step{}, frame.NewSpecError(whv1.ReasonServersStopped, fmt.Sprintf(
			"%s; stopped in OpenStack by the department, left as they are and looked at again on the resync: %s", message, joinNames(stopped)))
	}
	return frame.Step{Message: message}, nil
}

// stoppedByDepartment reports a state only the project's own users put a server in: the
// operator never stops, shelves, pauses or suspends one.
func stoppedByDepartment(status string) bool {
	switch status {
	case "SHUTOFF", "SHELVED", "SHELVED_OFFLOADED", "PAUSED", "SUSPENDED":
		return true
	}
	return false
}

// booted is what one pass of boots did: the servers created, a refusal for quota (kept
// apart: it sets the QuotaExceeded condition), and the other failures, joined.
type booted struct {
	servers  []openstack.Server
	quotaErr error
	err      error
}

// boot creates servers for the given indexes, at most MaxConcurrentCreates at a time. A
// failure stops further boots but never cancels one already sent: Nova would finish it
// after the client gave up, and the next pass would boot the index again. An index whose
// create may have reached Nova (no answer, or a 5xx) waits until Nova lists it, so a
// server still being registered is not booted twice.
func (r *Reconciler) boot(ctx context.Context, cloud Cloud, env *whv1.TestEnvironment, template openstack.ServerCreate, indexes []int) booted {
	var (
		mu       sync.Mutex
		created  []openstack.Server
		quotaErr error
		errs     []error // other failures
		stopped  bool
		g        errgroup.Group
	)
	g.SetLimit(max(r.MaxConcurrentCreates, 1))
	for _, i := range indexes {
		g.Go(func() error {
			mu.Lock()
			stop := stopped || ctx.Err() != nil
			mu.Unlock()
			if stop {
				return nil // the rest would most likely fail the same way
			}
			opts := template
			opts.Name = fmt.Sprintf("%s-%d", env.Name, i)
			s, err := cloud.CreateServer(context.WithoutCancel(ctx), opts)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				created = append(created, *s)
				return nil
			case openstack.Classify(err) == openstack.QuotaExceeded:
				quotaErr = err
			default:
				errs = append(errs, err)
				if createMayHaveHappened(err) {
					r.pending.await(env.UID, i, r.Now().Add(r.uncertainWait()))
				}
			}
			stopped = true
			return nil
		})
	}
	_ = g.Wait()
	return booted{servers: created, quotaErr: quotaErr, err: errors.Join(errs...)}
}

// createMayHaveHappened reports whether a failed create may still have made a server:
// Nova refuses with 4xx before it creates anything; no answer or a 5xx proves nothing.
func createMayHaveHappened(err error) bool {
	code := openstack.StatusCode(err)
	return code == 0 || code >= 500
}

func (r *Reconciler) uncertainWait() time.Duration {
	if r.UncertainCreateWait > 0 {
		return r.UncertainCreateWait
	}
	return 30 * time.Second
}

// pendingCreates remembers, per environment, indexes whose create may have reached Nova
// without an answer, until Nova lists the server or the wait ends.
type pendingCreates struct {
	mu        sync.Mutex
	deadlines map[types.UID]map[int]time.Time
}

func (p *pendingCreates) await(uid types.UID, index int, until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.deadlines == nil {
		p.deadlines = map[types.UID]map[int]time.Time{}
	}
	if p.deadlines[uid] == nil {
		p.deadlines[uid] = map[int]time.Time{}
	}
	p.deadlines[uid][index] = until
}

// uncertain returns the indexes still awaited at now, forgetting waits that ended and
// indexes Nova now lists (present).
func (p *pendingCreates) uncertain(uid types.UID, present map[int]bool, now time.Time) map[int]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[int]bool{}
	for i, until := range p.deadlines[uid] {
		if present[i] || !now.Before(until) {
			delete(p.deadlines[uid], i)
			continue
		}
		out[i] = true
	}
	if len(p.deadlines[uid]) == 0 {
		delete(p.deadlines, uid)
	}
	return out
}

func (p *pendingCreates) forget(uid types.UID) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.deadlines, uid)
}

// prepareBoot makes what every boot of this pass starts from: the template's names
// turned into IDs (cached after the first time), the user data read, and the server
// group the spec asks for created when missing (or found again under the UID the
// environment's servers carry, group), its ID recorded in status.
func (r *Reconciler) prepareBoot(ctx context.Context, cloud Cloud, env *whv1.TestEnvironment, tenant *whv1.Tenant,
	images openstack.ImageScope, group types.UID) (openstack.ServerCreate, error) {
	t := env.Spec.Template
	out := openstack.ServerCreate{
		SecurityGroups: t.SecurityGroups, KeyName: ptr.Deref(t.KeyName, ""),
		AvailabilityZone: ptr.Deref(t.AvailabilityZone, ""), ServerGroupID: env.Status.ServerGroupID,
		Metadata: map[string]string{environmentUIDKey: string(env.UID), environmentKey: env.Namespace + "/" + env.Name},
	}
	for k, v := range t.Metadata {
		out.Metadata[k] = v
	}
	var err error
	if out.FlavorID, err = cloud.FlavorID(ctx, t.Flavor); err != nil {
		return out, err
	}
	if out.ImageID, err = cloud.ImageID(ctx, t.Image, images); err != nil {
		return out, err
	}
	for _, n := range t.Networks {
		// An ID too: another project's network is refused, not booted on.
		id, err := cloud.NetworkID(ctx, ptr.Deref(n.Name, ptr.Deref(n.ID, "")))
		if err != nil {
			return out, err
		}
		out.NetworkIDs = append(out.NetworkIDs, id)
	}
	if len(t.Networks) == 0 {
		switch n := tenant.Status.Network; {
		case tenant.Spec.Network == nil:
			return out, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf(
				"no network for the servers: set spec.template.networks, or give Tenant %q a spec.network", tenant.Name))
		case n == nil || n.NetworkID == "" || n.SubnetID == "":
			// Nova refuses a network without a subnet: wait for the whole bundle. The
			// Tenant watch brings the environment back when it is complete.
			return out, frame.NewWaitingError(whv1.ReasonTenantNotReady, fmt.Sprintf("the network of Tenant %q is not complete yet", tenant.Name))
		}
		out.NetworkIDs = []string{tenant.Status.Network.NetworkID}
	}
	if out.UserData, err = r.userData(ctx, env); err != nil {
		return out, err
	}
	if policy := env.Spec.ServerGroupPolicy; policy != nil {
		g, err := cloud.EnsureServerGroup(ctx, serverGroupName(group), *policy, env.Status.ServerGroupID)
		if err != nil {
			return out, err
		}
		if g.Policy != *policy {
			return out, frame.NewSpecError(whv1.ReasonServerGroupMismatch, fmt.Sprintf(
				"server group %s (%s) has policy %q, not %q: it is left as it is and no server is booted", g.Name, g.ID, g.Policy, *policy))
		}
		out.ServerGroupID, env.Status.ServerGroupID = g.ID, g.ID
	}
	return out, nil
}

// userData reads the user data, inline or from a Secret in the environment's namespace.
func (r *Reconciler) userData(ctx context.Context, env *whv1.TestEnvironment) ([]byte, error) {
	t := env.Spec.Template
	if t.UserData != nil {
		return []byte(*t.UserData), nil
	}
	ref := t.UserDataSecretRef
	if ref == nil {
		return nil, nil
	}
	// Read live, not cached: the operator caches no department Secret it did not write.
	var secret corev1.Secret
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: env.Namespace, Name: ref.Name}, &secret); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf("user data Secret %q does not exist in namespace %s", ref.Name, env.Namespace))
		}
		return nil, err
	}
	// Whatever is in user data can be read from inside the servers: only a Secret made
	// for it may be used, and never one containing credentials.
	if secret.Labels[whv1.UserDataLabel] != "true" {
		return nil, frame.NewSpecError(whv1.ReasonUserDataNotAllowed, fmt.Sprintf(
			"Secret %q is not labelled %s: \"true\"; only Secrets made for user data can become user data", ref.Name, whv1.UserDataLabel))
	}
	if _, creds := secret.Data[openstack.CloudsYAMLKey]; creds {
		return nil, frame.NewSpecError(whv1.ReasonUserDataNotAllowed, fmt.Sprintf(
			"Secret %q holds a %s key: credentials never become user data", ref.Name, openstack.CloudsYAMLKey))
	}
	data, ok := secret.Data[ref.Key]
	if !ok {
		return nil, frame.NewSpecError(whv1.ReasonInvalidConfiguration, fmt.Sprintf("user data Secret %q has no key %q", ref.Name, ref.Key))
	}
	return data, nil
}

// recordServers writes the servers into status, by index.
func (r *Reconciler) recordServers(env *whv1.TestEnvironment, servers []openstack.Server, going int) {
	slices.SortFunc(servers, func(a, b openstack.Server) int { return serverIndex(env, a.Name) - serverIndex(env, b.Name) })
	env.Status.Servers = make([]whv1.ServerStatus, 0, len(servers))
	var ready int32
	for _, s := range servers {
		env.Status.Servers = append(env.Status.Servers, whv1.ServerStatus{Name: s.Name, ID: s.ID, Status: s.Status, Addresses: s.Addresses})
		if s.Status == "ACTIVE" {
			ready++
		}
	}
	env.Status.Replicas = int32(len(servers) + going)
	env.Status.ReadyReplicas = ready
}

// setQuotaCondition records whether OpenStack refused servers for quota.
func setQuotaCondition(env *whv1.TestEnvironment, quotaErr error) {
	cond := metav1.Condition{
		Type: whv1.ConditionQuotaExceeded, Status: metav1.ConditionFalse, Reason: whv1.ReasonWithinQuota,
		Message: "no refusal for quota", ObservedGeneration: env.Generation,
	}
	if quotaErr != nil {
		cond.Status, cond.Reason = metav1.ConditionTrue, whv1.ReasonQuotaRefused
		cond.Message = fmt.Sprintf("%d of %d servers exist; OpenStack refused more: %s; retrying, and at once when the quota changes",
			len(env.Status.Servers), env.Status.DesiredReplicas, openstack.Message(quotaErr))
	}
	meta.SetStatusCondition(&env.Status.Conditions, cond)
}

func serverNames(servers []openstack.Server) string {
	names := make([]string, 0, len(servers))
	for _, s := range servers {
		names = append(names, s.Name)
	}
	return joinNames(names)
}

// joinNames lists names, at most ten of them.
func joinNames(names []string) string {
	if len(names) > 10 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:10], ", "), len(names)-10)
	}
	return strings.Join(names, ", ")
}

// reconcileDelete deletes every server and the server group from the recorded
// project, then lets the environment go. It reports done once the finalizer is removed.
func (r *Reconciler) reconcileDelete(ctx context.Context, env *whv1.TestEnvironment) (bool, error) {
	if !controllerutil.ContainsFinalizer(env, whv1.TestEnvironmentFinalizer) {
		return true, nil
	}
	booted := env.Status.ProjectID != ""
	if done, err := r.removeServers(ctx, env); err != nil || !done {
		return false, err
	}
	if booted {
		frame.Notify(ctx, r.Recorder, env, corev1.EventTypeNormal, "Deleted", "DeleteServers", "Every server of the environment is gone")
	}
	if _, err := frame.SetFinalizer(ctx, r.Client, env, whv1.TestEnvironmentFinalizer, false); err != nil {
		return false, err
	}
	r.pending.forget(env.UID)
	return true, nil
}
