package openstack

import "github.com/whitehall-cloud/whitehall-operator/internal/quota"

// TEMPORARY (issue 21): the quota vocabulary moved to internal/quota. These aliases keep
// controllers/ and test/ compiling until /work/wt/quota-rename.sed is applied to them;
// then delete this file.

// QuotaService is quota.Service.
type QuotaService = quota.Service

// The quota services, as in quota.
const (
	QuotaServiceCompute      = quota.ComputeService
	QuotaServiceNetwork      = quota.NetworkService
	QuotaServiceBlockStorage = quota.BlockStorageService
)

// QuotaServices is quota.Services.
var QuotaServices = quota.Services

// QuotaField is quota.Field.
type QuotaField = quota.Field

// The quota fields, as in quota.
const (
	QuotaCores              = quota.Cores
	QuotaInstances          = quota.Instances
	QuotaRAMMiB             = quota.RAMMiB
	QuotaServerGroups       = quota.ServerGroups
	QuotaServerGroupMembers = quota.ServerGroupMembers
	QuotaKeyPairs           = quota.KeyPairs
	QuotaMetadataItems      = quota.MetadataItems

	QuotaNetworks           = quota.Networks
	QuotaSubnets            = quota.Subnets
	QuotaPorts              = quota.Ports
	QuotaRouters            = quota.Routers
	QuotaFloatingIPs        = quota.FloatingIPs
	QuotaSecurityGroups     = quota.SecurityGroups
	QuotaSecurityGroupRules = quota.SecurityGroupRules

	QuotaVolumes         = quota.Volumes
	QuotaGigabytes       = quota.Gigabytes
	QuotaSnapshots       = quota.Snapshots
	QuotaBackups         = quota.Backups
	QuotaBackupGigabytes = quota.BackupGigabytes
)

// QuotaLimits is quota.Limits.
type QuotaLimits = quota.Limits

// QuotaFieldsOf is quota.FieldsOf.
func QuotaFieldsOf(service QuotaService) []QuotaField { return quota.FieldsOf(service) }

// QuotaFieldNamed is quota.FieldNamed.
func QuotaFieldNamed(service QuotaService, name string) (QuotaField, bool) {
	return quota.FieldNamed(service, name)
}
