// Package quota is the operator's vocabulary for OpenStack project quota: the one table
// of the fields it manages (service, the operator's name, OpenStack's name), limits by
// field, what unlimited is and how it orders and adds, the overlay of a season's peaks on
// a baseline, and the conversion from and to the API's QuotaSet.
//
// It is pure: it imports the API types and the standard library only (depguard,
// .golangci.yml), so internal/openstack, internal/policy and the controllers share it
// without sharing each other.
//
// # Unlimited
//
// A limit of Unlimited (-1) means no limit. It is above any number: Max of Unlimited and
// anything is Unlimited, a sum with Unlimited in it is Unlimited, and Above orders limits
// so. A field absent from Limits is not managed: never written nor reset; zero is a value.
//
// # Overlay
//
// Overlay lays the active peaks over the baseline field by field: where any active peak
// sets a field, the largest peak value wins (Max) and replaces the baseline value, even
// when it is lower, because the peak is what the department asked for during the season.
package quota
