package quota

import whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"

// Service names one of the three OpenStack services that hold quota, by its key in the
// API's QuotaSet.
type Service string

// The quota services.
const (
	ComputeService      Service = "compute"
	NetworkService      Service = "network"
	BlockStorageService Service = "blockStorage"
)

// Services lists the quota services in a stable order.
var Services = []Service{ComputeService, NetworkService, BlockStorageService}

// Field is one quota limit the operator manages, in one of the quota services.
type Field int

// The quota fields, by service.
const (
	Cores Field = iota
	Instances
	RAMMiB
	ServerGroups
	ServerGroupMembers
	KeyPairs
	MetadataItems

	Networks
	Subnets
	Ports
	Routers
	FloatingIPs
	SecurityGroups
	SecurityGroupRules

	Volumes
	Gigabytes
	Snapshots
	Backups
	BackupGigabytes

	numFields
)

// fields is the one table of quota fields: for each, its service, the operator's name
// (the API's JSON name, as in messages and metrics), OpenStack's name in the service's
// quota API, and its place in the API's QuotaSet.
var fields = [numFields]struct {
	service         Service
	name, openstack string
	slot            slot
}{
	Cores:              {ComputeService, "cores", "cores", compute(func(c *whv1.ComputeLimits) **int64 { return &c.Cores })},
	Instances:          {ComputeService, "instances", "instances", compute(func(c *whv1.ComputeLimits) **int64 { return &c.Instances })},
	RAMMiB:             {ComputeService, "ramMiB", "ram", compute(func(c *whv1.ComputeLimits) **int64 { return &c.RAMMiB })},
	ServerGroups:       {ComputeService, "serverGroups", "server_groups", compute(func(c *whv1.ComputeLimits) **int64 { return &c.ServerGroups })},
	ServerGroupMembers: {ComputeService, "serverGroupMembers", "server_group_members", compute(func(c *whv1.ComputeLimits) **int64 { return &c.ServerGroupMembers })},
	KeyPairs:           {ComputeService, "keyPairs", "key_pairs", compute(func(c *whv1.ComputeLimits) **int64 { return &c.KeyPairs })},
	MetadataItems:      {ComputeService, "metadataItems", "metadata_items", compute(func(c *whv1.ComputeLimits) **int64 { return &c.MetadataItems })},

	Networks:           {NetworkService, "networks", "network", network(func(n *whv1.NetworkLimits) **int64 { return &n.Networks })},
	Subnets:            {NetworkService, "subnets", "subnet", network(func(n *whv1.NetworkLimits) **int64 { return &n.Subnets })},
	Ports:              {NetworkService, "ports", "port", network(func(n *whv1.NetworkLimits) **int64 { return &n.Ports })},
	Routers:            {NetworkService, "routers", "router", network(func(n *whv1.NetworkLimits) **int64 { return &n.Routers })},
	FloatingIPs:        {NetworkService, "floatingIPs", "floatingip", network(func(n *whv1.NetworkLimits) **int64 { return &n.FloatingIPs })},
	SecurityGroups:     {NetworkService, "securityGroups", "security_group", network(func(n *whv1.NetworkLimits) **int64 { return &n.SecurityGroups })},
	SecurityGroupRules: {NetworkService, "securityGroupRules", "security_group_rule", network(func(n *whv1.NetworkLimits) **int64 { return &n.SecurityGroupRules })},

	Volumes:         {BlockStorageService, "volumes", "volumes", blockStorage(func(b *whv1.BlockStorageLimits) **int64 { return &b.Volumes })},
	Gigabytes:       {BlockStorageService, "gigabytes", "gigabytes", blockStorage(func(b *whv1.BlockStorageLimits) **int64 { return &b.Gigabytes })},
	Snapshots:       {BlockStorageService, "snapshots", "snapshots", blockStorage(func(b *whv1.BlockStorageLimits) **int64 { return &b.Snapshots })},
	Backups:         {BlockStorageService, "backups", "backups", blockStorage(func(b *whv1.BlockStorageLimits) **int64 { return &b.Backups })},
	BackupGigabytes: {BlockStorageService, "backupGigabytes", "backup_gigabytes", blockStorage(func(b *whv1.BlockStorageLimits) **int64 { return &b.BackupGigabytes })},
}

// Service is the service that holds the field.
func (f Field) Service() Service { return fields[f].service }

// Name is the field's name within its service, e.g. ramMiB.
func (f Field) Name() string { return fields[f].name }

// OpenStackName is the field's name in its service's quota API, e.g. ram: the key
// internal/openstack reads and writes.
func (f Field) OpenStackName() string { return fields[f].openstack }

// String is "<service>.<field>", e.g. compute.ramMiB: the name in messages and metrics.
func (f Field) String() string { return string(f.Service()) + "." + f.Name() }

// FieldsOf returns the fields of a service, in table order.
func FieldsOf(service Service) []Field {
	var out []Field
	for f := range numFields {
		if f.Service() == service {
			out = append(out, f)
		}
	}
	return out
}

// FieldNamed returns the field of a service with the operator's name, e.g. cores.
func FieldNamed(service Service, name string) (Field, bool) {
	for _, f := range FieldsOf(service) {
		if f.Name() == name {
			return f, true
		}
	}
	return 0, false
}
