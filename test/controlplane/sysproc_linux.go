package controlplane

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill the process when the test binary dies without
// calling Stop (a panic, a test timeout, SIGKILL). Its own process group keeps a
// terminal's Ctrl-C or a group kill from stopping it behind Stop's back.
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
