package health

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// TestMeasureMonitor measures the monitor's CPU and memory with 1,000 and 10,000 reals
// checked every second: with a trivial in-process checker, and with the package's TCP and
// HTTP checkers against listeners in a child process (so that their CPU is not counted).
// It is a measurement, not a test; run it with
//
//	HEALTH_MEASURE=10s go test -count=1 -run TestMeasureMonitor -v ./internal/health/
//
// HEALTH_MEASURE_KIND (trivial, tcp, http) picks one kind, HEALTH_MEASURE_WORKERS sets
// Options.Workers.
func TestMeasureMonitor(t *testing.T) {
	window, err := time.ParseDuration(os.Getenv("HEALTH_MEASURE"))
	if err != nil {
		t.Skip("set HEALTH_MEASURE to a duration to measure")
	}
	kinds := []string{"trivial", "tcp", "http"}
	if k := os.Getenv("HEALTH_MEASURE_KIND"); k != "" {
		kinds = []string{k}
	}
	for _, kind := range kinds {
		for _, n := range []int{1000, 10000} {
			measureMonitor(t, kind, n, window)
		}
	}
}

// TestMeasureServer is the child process of TestMeasureMonitor: a TCP or HTTP listener on
// every loopback address.
func TestMeasureServer(t *testing.T) {
	kind := os.Getenv("HEALTH_MEASURE_SERVE")
	if kind == "" {
		t.Skip("child process of TestMeasureMonitor")
	}
	ln, err := net.Listen("tcp", ":"+os.Getenv("HEALTH_MEASURE_PORT"))
	if err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); os.Exit(0) }() // parent gone: exit
	if kind == "http" {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, "ok\n")
		})}
		srv.SetKeepAlivesEnabled(false)
		_ = srv.Serve(ln)
		return
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_ = c.Close()
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measureMonitor(t *testing.T, kind string, n int, window time.Duration) {
	port := 0
	factory := func(*config.Check, Target) (Checker, error) {
		return checkerFunc(func(context.Context) Result { return Result{OK: true, Reason: "ok", Weight: -1} }), nil
	}
	if kind != "trivial" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port = ln.Addr().(*net.TCPAddr).Port
		_ = ln.Close()
		child := exec.Command(os.Args[0], "-test.run=^TestMeasureServer$")
		child.Env = append(os.Environ(), "HEALTH_MEASURE_SERVE="+kind, "HEALTH_MEASURE_PORT="+strconv.Itoa(port))
		stdin, _ := child.StdinPipe()
		if err := child.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = stdin.Close(); _ = child.Process.Kill(); _ = child.Wait() }()
		for i := 0; ; i++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err == nil {
				_ = c.Close()
				break
			}
			if i > 200 {
				t.Fatal("child listener not up")
			}
			time.Sleep(10 * time.Millisecond)
		}
		factory = NewChecker
	}
	svc := mkService("10.0.0.1:80")
	for i := range n {
		a := netip.AddrFrom4([4]byte{127, 1, byte(i >> 8), byte(i)})
		c := &config.Check{Kind: config.CheckTCP, Interval: time.Second, Timeout: 2 * time.Second,
			Retries: 1, RetryDelay: time.Second, Warmup: time.Second}
		if kind == "http" {
			c.Kind, c.URLs = config.CheckHTTP, []config.URL{{Path: "/"}}
		}
		svc.Reals = append(svc.Reals, mkReal(netip.AddrPortFrom(a, uint16(port)).String(), 1, c))
	}
	runtime.GC()
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	g0 := runtime.NumGoroutine()

	workers, _ := strconv.Atoi(os.Getenv("HEALTH_MEASURE_WORKERS"))
	m := NewMonitor(Options{NewChecker: factory, Workers: workers})
	if err := m.Start(mkConfig(svc)); err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	time.Sleep(2 * time.Second) // warmup spreads the first runs over 1 s
	runs := func() (total uint64, down, late int) {
		st, err := m.Status()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		for _, r := range st.Services[0].Reals {
			total += r.Checks[0].Runs
			if !r.Up {
				down++
			}
			if nr := r.Checks[0].NextRun; !nr.IsZero() && now.Sub(nr) > 100*time.Millisecond {
				late++
			}
		}
		return total, down, late
	}
	r0, _, _ := runs()
	c0, w0 := cpuTime(), time.Now()
	time.Sleep(window)
	c1, w1 := cpuTime(), time.Now()
	r1, down, late := runs()
	if os.Getenv("HEALTH_MEASURE_DEBUG") != "" {
		st, _ := m.Status()
		hist := map[string]int{}
		for _, r := range st.Services[0].Reals {
			c := r.Checks[0]
			hist[fmt.Sprintf("ok=%v dur>=%v %s", c.LastOK, c.LastDuration.Round(100*time.Millisecond), c.LastReason[:min(len(c.LastReason), 30)])]++
		}
		for k, v := range hist {
			t.Logf("%6d %s", v, k)
		}
	}
	runtime.GC()
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	g1 := runtime.NumGoroutine()
	wall := w1.Sub(w0)
	t.Logf("%-7s %6d reals, %d workers: %6.0f checks/s, CPU %5.1f%% of a core (%.1f µs/check), heap +%.1f MiB (%.0f B/real), "+
		"goroutines +%d, %d down, %d late >100ms",
		kind, n, m.opts.Workers, float64(r1-r0)/wall.Seconds(), 100*float64(c1-c0)/float64(wall),
		float64(c1-c0)/float64(time.Microsecond)/float64(r1-r0),
		float64(int64(ms1.HeapInuse)-int64(ms0.HeapInuse))/(1<<20),
		float64(int64(ms1.HeapInuse)-int64(ms0.HeapInuse))/float64(n), g1-g0, down, late)
}
