package openstacktest

import (
	"context"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ interface {
	openstack.ClusterRecords
	openstack.SubnetRanges
} = (*Cloud)(nil)

// clusterRecords are the clusters' records, by cluster ID; guarded by state.mu.
type clusterRecords map[string]openstack.ClusterRecord

// RenewClusterRecord implements openstack.ClusterRecords.
func (c *Cloud) RenewClusterRecord(_ context.Context, clusterID string, at time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("RenewClusterRecord"); err != nil {
		return err
	}
	if c.clusters == nil {
		c.clusters = clusterRecords{}
	}
	c.clusters[clusterID] = openstack.ClusterRecord{RenewedAt: at}
	return nil
}

// ClusterRecord implements openstack.ClusterRecords.
func (c *Cloud) ClusterRecord(_ context.Context, clusterID string) (openstack.ClusterRecord, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ClusterRecord"); err != nil {
		return openstack.ClusterRecord{}, false, err
	}
	rec, ok := c.clusters[clusterID]
	return rec, ok, nil
}

// LeaveCloud implements openstack.ClusterRecords.
func (c *Cloud) LeaveCloud(_ context.Context, clusterID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("LeaveCloud"); err != nil {
		return err
	}
	if c.clusters == nil {
		c.clusters = clusterRecords{}
	}
	c.clusters[clusterID] = openstack.ClusterRecord{Left: true}
	return nil
}

// SetClusterRecord sets a cluster's record as another cluster would; nil removes it.
func (c *Cloud) SetClusterRecord(clusterID string, rec *openstack.ClusterRecord) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.clusters == nil {
		c.clusters = clusterRecords{}
	}
	if rec == nil {
		delete(c.clusters, clusterID)
		return
	}
	c.clusters[clusterID] = *rec
}

// ClusterRecordOf returns a cluster's record, if any.
func (c *Cloud) ClusterRecordOf(clusterID string) (openstack.ClusterRecord, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	rec, ok := c.clusters[clusterID]
	return rec, ok
}

// SubnetRanges implements openstack.SubnetRanges: every bundle's subnet, marked when the
// operator made it.
func (c *Cloud) SubnetRanges(_ context.Context) ([]openstack.SubnetRange, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("SubnetRanges"); err != nil {
		return nil, err
	}
	var out []openstack.SubnetRange
	for _, b := range c.bundles {
		if b.cidr == "" {
			continue
		}
		r := openstack.SubnetRange{CIDR: b.cidr, ProjectID: b.project}
		if b.owner != "" {
			r.Description = openstack.OwnerMark(b.owner)
		}
		out = append(out, r)
	}
	return out, nil
}
