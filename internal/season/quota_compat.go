package season

import "github.com/whitehall-cloud/whitehall-operator/internal/quota"

// TEMPORARY (issue 21): limits and their overlay moved to internal/quota. These keep
// controllers/ compiling until /work/wt/quota-rename.sed is applied to it; then delete
// this file.

// Unlimited is quota.Unlimited.
const Unlimited = quota.Unlimited

// Max is quota.Max.
func Max(a, b int64) int64 { return quota.Max(a, b) }

// Overlay is quota.Overlay.
func Overlay(baseline quota.Limits, peaks ...quota.Limits) quota.Limits {
	return quota.Overlay(baseline, peaks...)
}
