package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// clkTck is the unit of utime and stime in /proc/<pid>/stat (USER_HZ).
var clkTck = func() float64 {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && v > 0 {
			return float64(v)
		}
	}
	return 100
}()

// cpuTime is utime+stime of a process (all its threads) from /proc/<pid>/stat.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces:
	// fields are counted from the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: no ')'", pid)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime is field 14, stime field 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime/stime %q %q", pid, f[11], f[12])
	}
	return time.Duration(float64(ut+st) / clkTck * float64(time.Second)), nil
}

// cpuSnapshot is the CPU time of caddy and of every shard at one moment.
type cpuSnapshot struct {
	caddy  time.Duration
	shards []time.Duration
}

func snapshot(caddyPid int, shardPids []int) (cpuSnapshot, error) {
	var s cpuSnapshot
	var err error
	if s.caddy, err = cpuTime(caddyPid); err != nil {
		return s, err
	}
	for _, p := range shardPids {
		t, err := cpuTime(p)
		if err != nil {
			return s, err
		}
		s.shards = append(s.shards, t)
	}
	return s, nil
}

// sub is the CPU time used between a and b: caddy's, and all shards' summed.
func (b cpuSnapshot) sub(a cpuSnapshot) (caddy, shards time.Duration) {
	for i := range b.shards {
		shards += b.shards[i] - a.shards[i]
	}
	return b.caddy - a.caddy, shards
}

// loadavg is /proc/loadavg's first three fields.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
