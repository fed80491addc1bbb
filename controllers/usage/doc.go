// Package usage is the usage reader (showback): at most every interval it reads what
// each department on a Cloud used (one all-projects Nova call, one volume listing),
// writes each Tenant's and the Cloud's status.usage and each PeakSeason's lastWindow,
// and at month close writes the month's UsageReport once. It is the one writer of
// another kind's status, by server-side apply under FieldManager, owning those fields
// alone; the figures themselves are worked out by internal/usage.
package usage
