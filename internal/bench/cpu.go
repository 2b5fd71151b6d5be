package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc CPU times (100 on Linux).
const clockTicks = 100

// cpuTimes is CPU seconds spent so far: by the whole machine and by each
// process group of the run.
type cpuTimes struct {
	Machine  float64
	Bench    float64 // this process: load generator, Veriflow API and worker, bare worker
	Temporal float64
	Postgres float64
}

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{Machine: a.Machine - b.Machine, Bench: a.Bench - b.Bench, Temporal: a.Temporal - b.Temporal, Postgres: a.Postgres - b.Postgres}
}

func (a cpuTimes) add(b cpuTimes) cpuTimes {
	return cpuTimes{Machine: a.Machine + b.Machine, Bench: a.Bench + b.Bench, Temporal: a.Temporal + b.Temporal, Postgres: a.Postgres + b.Postgres}
}

// readCPU reads CPU times of s's processes from /proc; a missing process
// counts zero.
func readCPU(s *Stack) cpuTimes {
	temporalPID, postgresPID := s.TemporalPID, s.PostgresPID
	t := cpuTimes{Machine: machineCPU(), Bench: processCPU("self")}
	if temporalPID > 0 {
		t.Temporal = processCPU(strconv.Itoa(temporalPID))
	}
	if s.TemporalDBPID > 0 {
		t.Temporal += treeCPU(s.TemporalDBPID)
	}
	if postgresPID > 0 {
		t.Postgres = treeCPU(postgresPID)
	}
	return t
}

// machineCPU is the busy time of every CPU from /proc/stat.
func machineCPU() float64 {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0
	}
	fields := strings.Fields(sc.Text()) // cpu user nice system idle iowait irq softirq steal …
	var busy float64
	for i, f := range fields[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		if i > 7 { // guest time is already in user
			break
		}
		v, _ := strconv.ParseFloat(f, 64)
		busy += v
	}
	return busy / clockTicks
}

// stat returns the fields of /proc/<pid>/stat after the command name.
func stat(pid string) []string {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return nil
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(string(b[i+1:]))
}

// processCPU is a process's user+system time (fields 14 and 15 of stat,
// 11 and 12 after the command name).
func processCPU(pid string) float64 {
	f := stat(pid)
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / clockTicks
}

// treeCPU is the CPU time of a process and its direct children (the
// postmaster and its backends).
func treeCPU(pid int) float64 {
	total := processCPU(strconv.Itoa(pid))
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return total
	}
	parent := strconv.Itoa(pid)
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if f := stat(e.Name()); len(f) > 1 && f[1] == parent {
			total += processCPU(e.Name())
		}
	}
	return total
}

// rssMiB is a process's resident set size.
func rssMiB(pid string) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("VmRSS %q: %w", rest, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%s/status", pid)
}
