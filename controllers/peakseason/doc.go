// Package peakseason reconciles PeakSeasons: whether a season is active and when it
// next opens or closes (waking exactly then), and whether the peak quota departments
// committed to it fits in the cloud's capacity (the CapacityAtRisk condition).
package peakseason
