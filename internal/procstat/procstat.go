// Package procstat reads this process's memory figures for benchmarks and the load driver.
package procstat

import (
	"os"
	"strconv"
	"strings"
)

// ResetPeakRSS resets the peak RSS (VmHWM) to the current RSS (Linux: clear_refs 5), so a
// measurement reports its own peak. Where that is not possible the peak is the process's since
// start.
func ResetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// PeakRSSMiB reads VmHWM from /proc/self/status; 0 where there is no procfs.
func PeakRSSMiB() float64 {
	data, err := os.ReadFile("/proc/self/status")
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
