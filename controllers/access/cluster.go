package access

import "time"

// DefaultClusterLease is how long a cluster's record in a cloud lasts unrenewed before
// the projects of its Tenants may be taken back by the same Tenants applied to another
// cluster (openstack.ClusterRecords). The Cloud controller renews it three times in each.
const DefaultClusterLease = 5 * time.Minute

// ClusterLease is d, or DefaultClusterLease when d is not set.
func ClusterLease(d time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return DefaultClusterLease
}
