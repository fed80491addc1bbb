package controllers

import (
	"k8s.io/utils/ptr"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
)

// quotaSlot finds a field's place in a QuotaSet. With create set it makes the service's
// part when missing; without, a missing part reads as a field not set.
type quotaSlot func(q *whv1.QuotaSet, create bool) **int64

// quotaSlots says where each quota field lives in the API's QuotaSet; the field's names
// are openstack's one table.
var quotaSlots = map[openstack.QuotaField]quotaSlot{
	openstack.QuotaCores:              computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.Cores }),
	openstack.QuotaInstances:          computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.Instances }),
	openstack.QuotaRAMMiB:             computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.RAMMiB }),
	openstack.QuotaServerGroups:       computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.ServerGroups }),
	openstack.QuotaServerGroupMembers: computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.ServerGroupMembers }),
	openstack.QuotaKeyPairs:           computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.KeyPairs }),
	openstack.QuotaMetadataItems:      computeSlot(func(c *whv1.ComputeLimits) **int64 { return &c.MetadataItems }),

	openstack.QuotaNetworks:           networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.Networks }),
	openstack.QuotaSubnets:            networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.Subnets }),
	openstack.QuotaPorts:              networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.Ports }),
	openstack.QuotaRouters:            networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.Routers }),
	openstack.QuotaFloatingIPs:        networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.FloatingIPs }),
	openstack.QuotaSecurityGroups:     networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.SecurityGroups }),
	openstack.QuotaSecurityGroupRules: networkSlot(func(n *whv1.NetworkLimits) **int64 { return &n.SecurityGroupRules }),

	openstack.QuotaVolumes:         blockStorageSlot(func(b *whv1.BlockStorageLimits) **int64 { return &b.Volumes }),
	openstack.QuotaGigabytes:       blockStorageSlot(func(b *whv1.BlockStorageLimits) **int64 { return &b.Gigabytes }),
	openstack.QuotaSnapshots:       blockStorageSlot(func(b *whv1.BlockStorageLimits) **int64 { return &b.Snapshots }),
	openstack.QuotaBackups:         blockStorageSlot(func(b *whv1.BlockStorageLimits) **int64 { return &b.Backups }),
	openstack.QuotaBackupGigabytes: blockStorageSlot(func(b *whv1.BlockStorageLimits) **int64 { return &b.BackupGigabytes }),
}

func computeSlot(field func(*whv1.ComputeLimits) **int64) quotaSlot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.Compute, create)) }
}

func networkSlot(field func(*whv1.NetworkLimits) **int64) quotaSlot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.Network, create)) }
}

func blockStorageSlot(field func(*whv1.BlockStorageLimits) **int64) quotaSlot {
	return func(q *whv1.QuotaSet, create bool) **int64 { return field(part(&q.BlockStorage, create)) }
}

// part returns a service's part of a QuotaSet: made when missing with create set, else
// an empty one that is not kept.
func part[T any](p **T, create bool) *T {
	switch {
	case *p != nil:
		return *p
	case create:
		*p = new(T)
		return *p
	default:
		return new(T)
	}
}

// LimitsOf returns the fields a QuotaSet sets.
func LimitsOf(q whv1.QuotaSet) openstack.QuotaLimits {
	out := openstack.QuotaLimits{}
	for f, slot := range quotaSlots {
		if v := *slot(&q, false); v != nil {
			out[f] = *v
		}
	}
	return out
}

// QuotaSetOf is the inverse of LimitsOf.
func QuotaSetOf(l openstack.QuotaLimits) whv1.QuotaSet {
	var out whv1.QuotaSet
	for f, v := range l {
		*quotaSlots[f](&out, true) = ptr.To(v)
	}
	return out
}
