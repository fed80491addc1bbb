package controllers

import (
	"encoding/json"
	"strings"

	whv1 "github.com/whitehall-cloud/whitehall-operator/api/v1alpha1"
	"github.com/whitehall-cloud/whitehall-operator/internal/openstack"
	"github.com/whitehall-cloud/whitehall-operator/internal/season"
)

// flatten turns a QuotaSet into "<service>.<field>" → limit, with only the fields set.
// The field names are the API's JSON names, so one table (the types) rules both.
func flatten(q whv1.QuotaSet) season.Quota {
	out := season.Quota{}
	for service, part := range map[openstack.QuotaService]any{
		openstack.ComputeQuota: q.Compute, openstack.NetworkQuota: q.Network, openstack.BlockStorageQuota: q.BlockStorage,
	} {
		fields := map[string]int64{}
		data, _ := json.Marshal(part) // plain structs of *int64: cannot fail
		_ = json.Unmarshal(data, &fields)
		for k, v := range fields {
			out[string(service)+"."+k] = v
		}
	}
	return out
}

// unflatten is the inverse of flatten.
func unflatten(q season.Quota) whv1.QuotaSet {
	var out whv1.QuotaSet
	for service, target := range map[openstack.QuotaService]any{
		openstack.ComputeQuota: &out.Compute, openstack.NetworkQuota: &out.Network, openstack.BlockStorageQuota: &out.BlockStorage,
	} {
		fields := forService(q, service)
		if len(fields) == 0 {
			continue
		}
		data, _ := json.Marshal(fields)
		_ = json.Unmarshal(data, target)
	}
	return out
}

// forService returns the fields of one service, without the service prefix.
func forService(q season.Quota, service openstack.QuotaService) map[string]int64 {
	out := map[string]int64{}
	prefix := string(service) + "."
	for k, v := range q {
		if field, ok := strings.CutPrefix(k, prefix); ok {
			out[field] = v
		}
	}
	return out
}
