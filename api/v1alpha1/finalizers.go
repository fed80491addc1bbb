package v1alpha1

// ComputeQuotaFinalizer holds a ComputeQuota until its project's quota is back at the
// baseline: a peak never outlives the object that raised it.
const ComputeQuotaFinalizer = "whitehall.cloud/computequota"

// CloudFinalizer holds a Cloud while Tenants still name it: their cleanup needs its
// credentials.
const CloudFinalizer = "whitehall.cloud/cloud"
