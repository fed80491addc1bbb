//go:build !linux

package controlplane

import "os/exec"

// dieWithParent is Linux-only (Pdeathsig); elsewhere only Stop ends the process.
func dieWithParent(*exec.Cmd) {}
