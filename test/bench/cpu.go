package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, the unit of the CPU times in /proc: 100 on Linux everywhere.
const clockTick = 100

// cpuSample is CPU time used so far: by the whole machine (every core, busy time), and by
// the Kubernetes side of the operator's work — the kube-apiserver and etcd this harness
// started, and the manager.
type cpuSample struct {
	machine, kube, harness time.Duration
}

// cpuUse is what one measurement cost in CPU time; harness is this program's own.
type cpuUse struct {
	machine, kube, harness time.Duration
}

func (b *bench) sampleCPU() cpuSample {
	s := cpuSample{machine: machineBusy(), harness: processCPU(os.Getpid())}
	pids := childrenNamed(os.Getpid(), "kube-apiserver", "etcd")
	if b.mgr != nil && b.mgr.cmd != nil && b.mgr.cmd.Process != nil {
		pids = append(pids, b.mgr.pid())
	}
	for _, pid := range pids {
		s.kube += processCPU(pid)
	}
	return s
}

func (s cpuSample) until(later cpuSample) cpuUse {
	return cpuUse{machine: later.machine - s.machine, kube: later.kube - s.kube, harness: later.harness - s.harness}
}

// machineBusy reads the busy CPU time of every core from /proc/stat (all but idle and
// iowait).
func machineBusy() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	fields := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal …
	var busy int64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest time is already in user
			continue
		}
		v, _ := strconv.ParseInt(f, 10, 64)
		busy += v
	}
	return time.Duration(busy) * time.Second / clockTick
}

// processCPU reads a process's user+system time.
func processCPU(pid int) time.Duration {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0
	}
	// The command may hold spaces: fields are counted after its closing parenthesis.
	rest := string(data[strings.LastIndexByte(string(data), ')')+2:])
	fields := strings.Fields(rest) // state ppid … utime(12) stime(13)
	if len(fields) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	st, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(u+st) * time.Second / clockTick
}

// childrenNamed returns the PIDs of parent's children whose command is one of names.
func childrenNamed(parent int, names ...string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(data)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open {
			continue
		}
		fields := strings.Fields(s[closing+2:])
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		for _, n := range names {
			if s[open+1:closing] == n {
				out = append(out, pid)
			}
		}
	}
	return out
}
