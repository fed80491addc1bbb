package openstack

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/gophercloud/gophercloud/v2"
)

// QuotaService names one of the three services that hold quota.
type QuotaService string

// The quota services.
const (
	ComputeQuota      QuotaService = "compute"
	NetworkQuota      QuotaService = "network"
	BlockStorageQuota QuotaService = "blockStorage"
)

// QuotaServices lists the quota services in a stable order.
var QuotaServices = []QuotaService{ComputeQuota, NetworkQuota, BlockStorageQuota}

// quotaAPI describes how one service exposes quota: where to read limits with usage,
// where to write them, the JSON envelope, the usage field's name, and the API name of
// each resource, keyed by the operator's own field name.
type quotaAPI struct {
	catalogType string
	readPath    string // fmt pattern with the project ID
	writePath   string
	envelope    string
	usedField   string
	names       map[string]string
	// force is sent with every write: Nova refuses a limit below usage without it.
	force bool
	// refusesBelowUsage: the service refuses a limit below usage and has no way to force
	// it (Cinder, as of Zed).
	refusesBelowUsage bool
}

var quotaAPIs = map[QuotaService]quotaAPI{
	ComputeQuota: {
		catalogType: "compute", readPath: "os-quota-sets/%s/detail", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", force: true,
		names: map[string]string{
			"cores": "cores", "instances": "instances", "ramMiB": "ram", "serverGroups": "server_groups",
			"serverGroupMembers": "server_group_members", "keyPairs": "key_pairs", "metadataItems": "metadata_items",
		},
	},
	NetworkQuota: {
		catalogType: "network", readPath: "quotas/%s/details", writePath: "quotas/%s",
		envelope: "quota", usedField: "used",
		names: map[string]string{
			"networks": "network", "subnets": "subnet", "ports": "port", "routers": "router",
			"floatingIPs": "floatingip", "securityGroups": "security_group", "securityGroupRules": "security_group_rule",
		},
	},
	BlockStorageQuota: {
		catalogType: "block-storage", readPath: "os-quota-sets/%s?usage=true", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", refusesBelowUsage: true,
		names: map[string]string{
			"volumes": "volumes", "gigabytes": "gigabytes", "snapshots": "snapshots", "backups": "backups",
			"backupGigabytes": "backup_gigabytes",
		},
	},
}

// QuotaReading is a project's quota in one service: limits and usage by resource, keyed
// by the operator's field names (cores, ramMiB, ports, gigabytes, …).
type QuotaReading struct {
	Limits map[string]int64
	InUse  map[string]int64
}

// Quotas reads and writes project quota: one call per service each way.
type Quotas interface {
	GetQuota(ctx context.Context, service QuotaService, projectID string) (QuotaReading, error)
	// SetQuota writes only the limits given; every other limit is left as it is. A limit
	// below usage is applied where the service allows it (Nova, with force; Neutron);
	// see RefusesBelowUsage for the one that does not.
	SetQuota(ctx context.Context, service QuotaService, projectID string, limits map[string]int64) error
}

var _ Quotas = (*Cloud)(nil)

// GetQuota implements Quotas.
func (c *Cloud) GetQuota(ctx context.Context, service QuotaService, projectID string) (_ QuotaReading, err error) {
	defer c.convert(&err)
	api, sc, err := c.quotaClient(service)
	if err != nil {
		return QuotaReading{}, err
	}
	var body map[string]map[string]json.RawMessage
	if _, err := sc.Get(ctx, sc.ServiceURL(fmt.Sprintf(api.readPath, projectID)), &body, nil); err != nil {
		return QuotaReading{}, fmt.Errorf("reading %s quota of project %s: %w", service, projectID, err)
	}
	out := QuotaReading{Limits: map[string]int64{}, InUse: map[string]int64{}}
	fields := body[api.envelope]
	for ours, theirs := range api.names {
		raw, ok := fields[theirs]
		if !ok {
			continue // this cloud does not have the resource (an extension is off)
		}
		var detail map[string]json.Number
		if err := json.Unmarshal(raw, &detail); err != nil {
			return QuotaReading{}, fmt.Errorf("%s quota field %s: %w", service, theirs, err)
		}
		if v, err := detail["limit"].Int64(); err == nil {
			out.Limits[ours] = v
		}
		if v, err := detail[api.usedField].Int64(); err == nil {
			out.InUse[ours] = v
		}
	}
	return out, nil
}

// SetQuota implements Quotas.
func (c *Cloud) SetQuota(ctx context.Context, service QuotaService, projectID string, limits map[string]int64) (err error) {
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
	if _, err := sc.Put(ctx, sc.ServiceURL(fmt.Sprintf(api.writePath, projectID)), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200}}); err != nil {
		return fmt.Errorf("writing %s quota of project %s: %w", service, projectID, err)
	}
	return nil
}

// RefusesBelowUsage reports whether a service refuses a limit below what is in use,
// with no way to force it: the caller holds such a limit at usage instead.
func RefusesBelowUsage(service QuotaService) bool {
	return quotaAPIs[service].refusesBelowUsage
}

// quotaBody is the body of a quota write: the limits under the service's API names, and
// force where the service needs it to take a limit below usage.
func quotaBody(service QuotaService, limits map[string]int64) (map[string]any, error) {
	api := quotaAPIs[service]
	fields := make(map[string]any, len(limits)+1)
	if api.force {
		fields["force"] = true
	}
	for ours, v := range limits {
		theirs, ok := api.names[ours]
		if !ok {
			return nil, fmt.Errorf("unknown %s quota resource %q", service, ours)
		}
		fields[theirs] = v
	}
	return map[string]any{api.envelope: fields}, nil
}

// QuotaResources returns the operator's field names of a service's quota, sorted.
func QuotaResources(service QuotaService) []string {
	names := make([]string, 0, len(quotaAPIs[service].names))
	for ours := range quotaAPIs[service].names {
		names = append(names, ours)
	}
	sort.Strings(names)
	return names
}

func (c *Cloud) quotaClient(service QuotaService) (quotaAPI, *gophercloud.ServiceClient, error) {
	api, ok := quotaAPIs[service]
	if !ok {
		return quotaAPI{}, nil, fmt.Errorf("unknown quota service %q", service)
	}
	sc, err := c.service(api.catalogType)
	return api, sc, err
}
