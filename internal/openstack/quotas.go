package openstack

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/whitehall-cloud/whitehall-operator/internal/quota"
)

// The fields, their names and what unlimited is are internal/quota's; this file holds
// only how each service's quota API is spoken: paths, envelopes, force and refusals.

// quotaAPI describes how one service exposes quota: where to read limits with usage,
// where to write them, the JSON envelope and the usage field's name.
type quotaAPI struct {
	catalogType string
	readPath    string // fmt pattern with the project ID
	writePath   string
	envelope    string
	usedField   string
	// force is sent with every write: Nova refuses a limit below usage without it.
	force bool
	// refusesBelowUsage: the service refuses a limit below usage and has no way to force
	// it (Cinder, as of Zed).
	refusesBelowUsage bool
}

var quotaAPIs = map[quota.Service]quotaAPI{
	quota.ComputeService: {
		catalogType: "compute", readPath: "os-quota-sets/%s/detail", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", force: true,
	},
	quota.NetworkService: {
		catalogType: "network", readPath: "quotas/%s/details", writePath: "quotas/%s",
		envelope: "quota", usedField: "used",
	},
	quota.BlockStorageService: {
		catalogType: "block-storage", readPath: "os-quota-sets/%s?usage=true", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", refusesBelowUsage: true,
	},
}

// QuotaReading is a project's quota in one service: limits and usage by field.
type QuotaReading struct {
	Limits quota.Limits
	InUse  quota.Limits
	// FromView says the limits came from the cloud's bulk view (a read AtRest), which
	// lists limits only: InUse is empty, not zero, and the caller keeps the usage it
	// last read.
	FromView bool
}

// Quotas reads and writes project quota: one call per service each way.
type Quotas interface {
	GetQuota(ctx context.Context, service quota.Service, projectID string) (QuotaReading, error)
	// SetQuota writes only the limits given; every other limit is left as it is. A limit
	// below usage is applied where the service allows it (Nova, with force; Neutron);
	// see RefusesBelowUsage for the one that does not.
	SetQuota(ctx context.Context, service quota.Service, projectID string, limits quota.Limits) error
}

var _ Quotas = (*Cloud)(nil)

// GetQuota implements Quotas.
func (c *Cloud) GetQuota(ctx context.Context, service quota.Service, projectID string) (_ QuotaReading, err error) {
	if service == quota.NetworkService {
		if limits, ok := c.view.NetworkLimits(ctx, projectID); ok {
			return QuotaReading{Limits: limits, InUse: quota.Limits{}, FromView: true}, nil
		}
	}
	defer c.convert(&err)
	api, sc, err := c.quotaClient(service)
	if err != nil {
		return QuotaReading{}, err
	}
	var body map[string]map[string]json.RawMessage
	if _, err := sc.Get(ctx, sc.ServiceURL(fmt.Sprintf(api.readPath, projectID)), &body, nil); err != nil {
		return QuotaReading{}, fmt.Errorf("reading %s quota of project %s: %w", service, projectID, err)
	}
	out := QuotaReading{Limits: quota.Limits{}, InUse: quota.Limits{}}
	fields := body[api.envelope]
	for _, f := range quota.FieldsOf(service) {
		theirs := f.OpenStackName()
		raw, ok := fields[theirs]
		if !ok {
			continue // this cloud does not have the resource (an extension is off)
		}
		var detail map[string]json.Number
		if err := json.Unmarshal(raw, &detail); err != nil {
			return QuotaReading{}, fmt.Errorf("%s quota field %s: %w", service, theirs, err)
		}
		if v, err := detail["limit"].Int64(); err == nil {
			out.Limits[f] = v
		}
		if v, err := detail[api.usedField].Int64(); err == nil {
			out.InUse[f] = v
		}
	}
	return out, nil
}

// SetQuota implements Quotas.
func (c *Cloud) SetQuota(ctx context.Context, service quota.Service, projectID string, limits quota.Limits) (err error) {
	defer c.convert(&err)
	if len(limits) == 0 {
		return nil
	}
	api, sc, err := c.quotaClient(service)
	if err != nil {
		return err
	}
	body, err := quotaBody(service, limits)
	if err != nil {
		return err
	}
	if service == quota.NetworkService {
		defer c.view.Wrote(NetworkListing, projectID)
	}
	if _, err := sc.Put(ctx, sc.ServiceURL(fmt.Sprintf(api.writePath, projectID)), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		return fmt.Errorf("writing %s quota of project %s: %w", service, projectID, err)
	}
	return nil
}

// RefusesBelowUsage reports whether a service refuses a limit below what is in use,
// with no way to force it: the caller holds such a limit at usage instead.
func RefusesBelowUsage(service quota.Service) bool {
	return quotaAPIs[service].refusesBelowUsage
}

// quotaBody is the body of a quota write: the limits under the service's API names, and
// force where the service needs it to take a limit below usage.
func quotaBody(service quota.Service, limits quota.Limits) (map[string]any, error) {
	api := quotaAPIs[service]
	fields := make(map[string]any, len(limits)+1)
	if api.force {
		fields["force"] = true
	}
	for f, v := range limits {
		if f.Service() != service {
			return nil, fmt.Errorf("%s is not a %s quota", f, service)
		}
		fields[f.OpenStackName()] = v
	}
	return map[string]any{api.envelope: fields}, nil
}

func (c *Cloud) quotaClient(service quota.Service) (quotaAPI, *gophercloud.ServiceClient, error) {
	api, ok := quotaAPIs[service]
	if !ok {
		return quotaAPI{}, nil, fmt.Errorf("unknown quota service %q", service)
	}
	sc, err := c.service(api.catalogType)
	return api, sc, err
}
