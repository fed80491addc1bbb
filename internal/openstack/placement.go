package openstack

import (
	"context"
	"fmt"
	"math"
)

// Capacity is what a cloud's compute can hold, as Placement reports it.
type Capacity struct {
	Cores  int64
	RAMMiB int64
}

// Placement reads the cloud's capacity.
type Placement interface {
	// Capacity sums, over every resource provider, (total − reserved) × allocation ratio
	// of VCPU and MEMORY_MB.
	Capacity(ctx context.Context) (Capacity, error)
}

var _ Placement = (*Cloud)(nil)

type inventory struct {
	Total           int64   `json:"total"`
	Reserved        int64   `json:"reserved"`
	AllocationRatio float64 `json:"allocation_ratio"`
}

// usable is what a provider offers of one resource class.
func (i inventory) usable() int64 {
	return int64(math.Floor(float64(i.Total-i.Reserved) * i.AllocationRatio))
}

// Capacity implements Placement: one call for the providers, one per provider.
func (c *Cloud) Capacity(ctx context.Context) (_ Capacity, err error) {
	defer c.convert(&err)
	sc, err := c.service("placement")
	if err != nil {
		return Capacity{}, err
	}
	var providers struct {
		ResourceProviders []struct {
			UUID string `json:"uuid"`
		} `json:"resource_providers"`
	}
	if _, err := sc.Get(ctx, sc.ServiceURL("resource_providers"), &providers, nil); err != nil {
		return Capacity{}, fmt.Errorf("listing resource providers: %w", err)
	}
	var out Capacity
	for _, rp := range providers.ResourceProviders {
		var inv struct {
			Inventories map[string]inventory `json:"inventories"`
		}
		if _, err := sc.Get(ctx, sc.ServiceURL("resource_providers", rp.UUID, "inventories"), &inv, nil); err != nil {
			if IsNotFound(err) {
				continue // the provider went between the two calls
			}
			return Capacity{}, fmt.Errorf("reading inventory of resource provider %s: %w", rp.UUID, err)
		}
		if v, ok := inv.Inventories["VCPU"]; ok {
			out.Cores += v.usable()
		}
		if v, ok := inv.Inventories["MEMORY_MB"]; ok {
			out.RAMMiB += v.usable()
		}
	}
	return out, nil
}
