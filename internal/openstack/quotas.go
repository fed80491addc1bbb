package openstack

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/gophercloud/gophercloud/v2"
)

// QuotaService names one of the three services that hold quota.
type QuotaService string

// The quota services.
const (
	QuotaServiceCompute      QuotaService = "compute"
	QuotaServiceNetwork      QuotaService = "network"
	QuotaServiceBlockStorage QuotaService = "blockStorage"
)

// QuotaServices lists the quota services in a stable order.
var QuotaServices = []QuotaService{QuotaServiceCompute, QuotaServiceNetwork, QuotaServiceBlockStorage}

// QuotaField is one quota limit the operator manages, in one of the quota services.
type QuotaField int

// The quota fields, by service.
const (
	QuotaCores QuotaField = iota
	QuotaInstances
	QuotaRAMMiB
	QuotaServerGroups
	QuotaServerGroupMembers
	QuotaKeyPairs
	QuotaMetadataItems

	QuotaNetworks
	QuotaSubnets
	QuotaPorts
	QuotaRouters
	QuotaFloatingIPs
	QuotaSecurityGroups
	QuotaSecurityGroupRules

	QuotaVolumes
	QuotaGigabytes
	QuotaSnapshots
	QuotaBackups
	QuotaBackupGigabytes

	numQuotaFields
)

// quotaFields is the one table of quota names: for each field, its service, the
// operator's name (the ComputeQuota API's JSON name, as in messages and metrics) and
// the service API's name.
var quotaFields = [numQuotaFields]struct {
	service   QuotaService
	name, api string
}{
	QuotaCores:              {QuotaServiceCompute, "cores", "cores"},
	QuotaInstances:          {QuotaServiceCompute, "instances", "instances"},
	QuotaRAMMiB:             {QuotaServiceCompute, "ramMiB", "ram"},
	QuotaServerGroups:       {QuotaServiceCompute, "serverGroups", "server_groups"},
	QuotaServerGroupMembers: {QuotaServiceCompute, "serverGroupMembers", "server_group_members"},
	QuotaKeyPairs:           {QuotaServiceCompute, "keyPairs", "key_pairs"},
	QuotaMetadataItems:      {QuotaServiceCompute, "metadataItems", "metadata_items"},

	QuotaNetworks:           {QuotaServiceNetwork, "networks", "network"},
	QuotaSubnets:            {QuotaServiceNetwork, "subnets", "subnet"},
	QuotaPorts:              {QuotaServiceNetwork, "ports", "port"},
	QuotaRouters:            {QuotaServiceNetwork, "routers", "router"},
	QuotaFloatingIPs:        {QuotaServiceNetwork, "floatingIPs", "floatingip"},
	QuotaSecurityGroups:     {QuotaServiceNetwork, "securityGroups", "security_group"},
	QuotaSecurityGroupRules: {QuotaServiceNetwork, "securityGroupRules", "security_group_rule"},

	QuotaVolumes:         {QuotaServiceBlockStorage, "volumes", "volumes"},
	QuotaGigabytes:       {QuotaServiceBlockStorage, "gigabytes", "gigabytes"},
	QuotaSnapshots:       {QuotaServiceBlockStorage, "snapshots", "snapshots"},
	QuotaBackups:         {QuotaServiceBlockStorage, "backups", "backups"},
	QuotaBackupGigabytes: {QuotaServiceBlockStorage, "backupGigabytes", "backup_gigabytes"},
}

// Service is the service that holds the field.
func (f QuotaField) Service() QuotaService { return quotaFields[f].service }

// Name is the field's name within its service, e.g. ramMiB.
func (f QuotaField) Name() string { return quotaFields[f].name }

// String is "<service>.<field>", e.g. compute.ramMiB: the name in messages and metrics.
func (f QuotaField) String() string { return string(f.Service()) + "." + f.Name() }

// QuotaFieldsOf returns the fields of a service, in table order.
func QuotaFieldsOf(service QuotaService) []QuotaField {
	var out []QuotaField
	for f := range numQuotaFields {
		if f.Service() == service {
			out = append(out, f)
		}
	}
	return out
}

// QuotaFieldNamed returns the field of a service with the operator's name, e.g. cores.
func QuotaFieldNamed(service QuotaService, name string) (QuotaField, bool) {
	for _, f := range QuotaFieldsOf(service) {
		if f.Name() == name {
			return f, true
		}
	}
	return 0, false
}

// QuotaLimits maps quota fields to limits (-1: unlimited); a field absent is not
// managed: never written nor reset. QuotaReading.InUse holds usage in the same shape.
type QuotaLimits map[QuotaField]int64

// Of returns the limits of one service.
func (l QuotaLimits) Of(service QuotaService) QuotaLimits {
	out := QuotaLimits{}
	for f, v := range l {
		if f.Service() == service {
			out[f] = v
		}
	}
	return out
}

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

var quotaAPIs = map[QuotaService]quotaAPI{
	QuotaServiceCompute: {
		catalogType: "compute", readPath: "os-quota-sets/%s/detail", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", force: true,
	},
	QuotaServiceNetwork: {
		catalogType: "network", readPath: "quotas/%s/details", writePath: "quotas/%s",
		envelope: "quota", usedField: "used",
	},
	QuotaServiceBlockStorage: {
		catalogType: "block-storage", readPath: "os-quota-sets/%s?usage=true", writePath: "os-quota-sets/%s",
		envelope: "quota_set", usedField: "in_use", refusesBelowUsage: true,
	},
}

// QuotaReading is a project's quota in one service: limits and usage by field.
type QuotaReading struct {
	Limits QuotaLimits
	InUse  QuotaLimits
}

// Quotas reads and writes project quota: one call per service each way.
type Quotas interface {
	GetQuota(ctx context.Context, service QuotaService, projectID string) (QuotaReading, error)
	// SetQuota writes only the limits given; every other limit is left as it is. A limit
	// below usage is applied where the service allows it (Nova, with force; Neutron);
	// see RefusesBelowUsage for the one that does not.
	SetQuota(ctx context.Context, service QuotaService, projectID string, limits QuotaLimits) error
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
	out := QuotaReading{Limits: QuotaLimits{}, InUse: QuotaLimits{}}
	fields := body[api.envelope]
	for _, f := range QuotaFieldsOf(service) {
		theirs := quotaFields[f].api
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
func (c *Cloud) SetQuota(ctx context.Context, service QuotaService, projectID string, limits QuotaLimits) (err error) {
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
func quotaBody(service QuotaService, limits QuotaLimits) (map[string]any, error) {
	api := quotaAPIs[service]
	fields := make(map[string]any, len(limits)+1)
	if api.force {
		fields["force"] = true
	}
	for f, v := range limits {
		if f.Service() != service {
			return nil, fmt.Errorf("%s is not a %s quota", f, service)
		}
		fields[quotaFields[f].api] = v
	}
	return map[string]any{api.envelope: fields}, nil
}

func (c *Cloud) quotaClient(service QuotaService) (quotaAPI, *gophercloud.ServiceClient, error) {
	api, ok := quotaAPIs[service]
	if !ok {
		return quotaAPI{}, nil, fmt.Errorf("unknown quota service %q", service)
	}
	sc, err := c.service(api.catalogType)
	return api, sc, err
}
