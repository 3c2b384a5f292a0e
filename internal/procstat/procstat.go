// Package procstat reads this process's memory and CPU figures for benchmarks and the load driver.
package procstat

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ResetPeakRSS resets the peak RSS (VmHWM) to the current RSS (Linux: clear_refs 5), so a
// measurement reports its own peak. Where that is not possible the peak is the process's since
// start.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMiB reads VmHWM from /proc/self/status; 0 where there is no procfs.
func PeakRSSMiB() float64 { return peakRSSMiB("/proc/self/status") }

// PeakRSSMiBOf is another process's peak RSS (VmHWM of /proc/<pid>/status, since it started):
// the load driver runs keygate in a child to measure keygate alone.
func PeakRSSMiBOf(pid int) float64 { return peakRSSMiB("/proc/" + strconv.Itoa(pid) + "/status") }

func peakRSSMiB(status string) float64 {
	data, err := os.ReadFile(status)
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// PeakDuring resets the peak, runs f, and returns the peak RSS in MiB while f ran.
func PeakDuring(f func()) float64 {
	ResetPeakRSS()
	f()
	return PeakRSSMiB()
}

// CPUTime is the CPU time (user + system) this process has used so far, every thread
// included (getrusage RUSAGE_SELF); 0 where getrusage is unavailable. On a shared machine a
// difference of two readings divided by the work done is steadier than wall-clock rates:
// time the process spent waiting for a core is not counted.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
