package openstack

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/projects"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/subnets"
)

// ClusterRecordPrefix starts the Keystone attribute in which one cluster says it is
// alive: "whitehall_cluster_<cluster ID>" = the time it last renewed it (RFC 3339).
const ClusterRecordPrefix = "whitehall_cluster_"

// clusterIDPattern is what a cluster ID may be (the UID of a cluster's kube-system
// namespace is one): it becomes part of an attribute name.
var clusterIDPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ClusterRecords are the records that the clusters running the operator against one
// cloud keep in it. A project's owner record names the cluster of its Tenant; a Tenant
// of another cluster takes the project back (a cluster rebuilt, or moved) only once that
// cluster's record says it is gone: not renewed for a lease, or marked as left when its
// Cloud was deleted. While it is renewed its Tenants may be alive, and two clusters
// never both manage one project. The records live as attributes of the project the
// operator signs in to (the Cloud's admin project), which no Tenant may touch: one
// attribute per cluster, so clusters never write one value. A cluster with no record
// there is not known to be gone (its Cloud may sign in elsewhere).
type ClusterRecords interface {
	// RenewClusterRecord records that the cluster is alive at at.
	RenewClusterRecord(ctx context.Context, clusterID string, at time.Time) error
	// ClusterRecord returns the cluster's record; false when it has none.
	ClusterRecord(ctx context.Context, clusterID string) (ClusterRecord, bool, error)
	// LeaveCloud marks the cluster's record as left: its projects may be taken at once.
	LeaveCloud(ctx context.Context, clusterID string) error
}

// ClusterRecord is what one cluster last wrote of itself.
type ClusterRecord struct {
	// RenewedAt is when it last said it was alive.
	RenewedAt time.Time
	// Left: it left the cloud (its Cloud was deleted).
	Left bool
}

// leftValue is the record of a cluster that left the cloud.
const leftValue = "left"

var _ ClusterRecords = (*Cloud)(nil)

// CheckClusterID refuses an ID that cannot name a record.
func CheckClusterID(id string) error {
	if !clusterIDPattern.MatchString(id) {
		return fmt.Errorf("cluster ID %q must be 1-63 lower-case letters, digits and dashes", id)
	}
	return nil
}

// RenewClusterRecord implements ClusterRecords. Keystone merges the attributes of an
// update into the project's, so only this cluster's record is written.
func (c *Cloud) RenewClusterRecord(ctx context.Context, clusterID string, at time.Time) error {
	return c.writeClusterRecord(ctx, clusterID, at.UTC().Format(time.RFC3339))
}

// LeaveCloud implements ClusterRecords.
func (c *Cloud) LeaveCloud(ctx context.Context, clusterID string) error {
	return c.writeClusterRecord(ctx, clusterID, leftValue)
}

func (c *Cloud) writeClusterRecord(ctx context.Context, clusterID string, value any) (err error) {
	defer c.convert(&err)
	if err := CheckClusterID(clusterID); err != nil {
		return err
	}
	id, err := c.projectID()
	if err != nil {
		return err
	}
	update := projects.UpdateOpts{Extra: map[string]any{ClusterRecordPrefix + clusterID: value}}
	return projects.Update(ctx, c.identity, id, update).Err
}

// ClusterRecord implements ClusterRecords.
func (c *Cloud) ClusterRecord(ctx context.Context, clusterID string) (_ ClusterRecord, _ bool, err error) {
	defer c.convert(&err)
	if err := CheckClusterID(clusterID); err != nil {
		return ClusterRecord{}, false, err
	}
	id, err := c.projectID()
	if err != nil {
		return ClusterRecord{}, false, err
	}
	p, err := projects.Get(ctx, c.identity, id).Extract()
	if err != nil {
		return ClusterRecord{}, false, err
	}
	raw, _ := p.Extra[ClusterRecordPrefix+clusterID].(string)
	return parseClusterRecord(raw)
}

// parseClusterRecord reads a record; one that is not a time we wrote is read as renewed
// now, so nothing is taken on a record that cannot be read.
func parseClusterRecord(raw string) (ClusterRecord, bool, error) {
	switch raw {
	case "":
		return ClusterRecord{}, false, nil
	case leftValue:
		return ClusterRecord{Left: true}, true, nil
	}
	at, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		return ClusterRecord{RenewedAt: time.Now()}, true, nil
	}
	return ClusterRecord{RenewedAt: at}, true, nil
}

// SubnetRange is one subnet of the cloud as the pool allocator weighs it.
type SubnetRange struct {
	CIDR      string
	ProjectID string
	// Description carries the operator's mark on a subnet it made (OwnerMark).
	Description string
}

// SubnetRanges lists every subnet of the cloud: a block of a DepartmentPolicy's pool
// that a network in Neutron still uses is not given again, whether or not a Tenant of
// this cluster knows it (a cluster rebuilt knows none at first).
type SubnetRanges interface {
	SubnetRanges(ctx context.Context) ([]SubnetRange, error)
}

var _ SubnetRanges = (*Cloud)(nil)

// SubnetRanges implements SubnetRanges: one listing, as the admin.
func (c *Cloud) SubnetRanges(ctx context.Context) (_ []SubnetRange, err error) {
	defer c.convert(&err)
	sc, err := c.service("network")
	if err != nil {
		return nil, err
	}
	pages, err := subnets.List(sc, subnets.ListOpts{}).AllPages(ctx)
	if err != nil {
		return nil, err
	}
	list, err := subnets.ExtractSubnets(pages)
	if err != nil {
		return nil, err
	}
	out := make([]SubnetRange, 0, len(list))
	for _, s := range list {
		out = append(out, SubnetRange{CIDR: s.CIDR, ProjectID: cmp.Or(s.ProjectID, s.TenantID), Description: s.Description})
	}
	return out, nil
}
