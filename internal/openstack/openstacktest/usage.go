package openstacktest

import (
	"context"
	"slices"
	"time"

	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

var _ openstack.Usage = (*Cloud)(nil)

// usageRecord is usage a project ran at one instant, as Nova would count it.
type usageRecord struct {
	at    time.Time
	usage openstack.ProjectUsage
}

// RecordUsage adds usage that a project ran at instant at: ComputeUsage counts it in
// every period that holds at.
func (c *Cloud) RecordUsage(at time.Time, u openstack.ProjectUsage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.usage = append(c.usage, usageRecord{at: at, usage: u})
}

// SetVolumes sets the volumes Cinder lists; nil with noService false means none.
func (c *Cloud) SetVolumes(volumes []openstack.VolumeSize) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.volumes = slices.Clone(volumes)
}

// SetNoVolumeService makes the catalog lack a volume service.
func (c *Cloud) SetNoVolumeService(none bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noVolumes = none
}

// ComputeUsage implements openstack.Usage: the usage recorded in [start, end), summed
// per project; one call however many projects.
func (c *Cloud) ComputeUsage(_ context.Context, start, end time.Time) (map[string]openstack.ProjectUsage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.call("ComputeUsage"); err != nil {
		return nil, err
	}
	out := map[string]openstack.ProjectUsage{}
	for _, r := range c.usage {
		if r.at.Before(start) || !r.at.Before(end) {
			continue
		}
		p := out[r.usage.ProjectID]
		p.ProjectID = r.usage.ProjectID
		p.VCPUHours += r.usage.VCPUHours
		p.RAMMiBHours += r.usage.RAMMiBHours
		p.LocalGiBHours += r.usage.LocalGiBHours
		out[p.ProjectID] = p
	}
	return out, nil
}

// Volumes implements openstack.Usage.
func (c *Cloud) Volumes(_ context.Context) ([]openstack.VolumeSize, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.noVolumes {
		return nil, false, nil
	}
	if err := c.call("Volumes"); err != nil {
		return nil, true, err
	}
	return slices.Clone(c.volumes), true, nil
}
