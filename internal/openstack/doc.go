// Package openstack is the operator's only door to OpenStack: the one package that
// imports gophercloud. It turns a clouds.yaml Secret into cached, authenticated clients,
// offers narrow per-service interfaces in the operator's own types, classifies errors
// into terminal and retryable ones, and measures every API request.
package openstack
