package proxy

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/enginetest"
	"github.com/golvs/golvs/internal/lb"
)

// net3 is the third byte of the loopback addresses this test binary uses (VIPs 127.1.net3.x,
// reals 127.2.net3.x, clients 127.3.net3.x), drawn at random so that test binaries running at
// the same time do not meet on an address and port.
var net3 = byte(1 + rand.IntN(254))

func vip(i int) netip.Addr    { return netip.AddrFrom4([4]byte{127, 1, net3, byte(1 + i)}) }
func realIP(i int) netip.Addr { return netip.AddrFrom4([4]byte{127, 2, net3, byte(1 + i)}) }
func clientIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, 3, net3, byte(1 + i)})
}

// dataPaths are the TCP data paths every engine test runs on (reactorPaths: the reactor
// where the system has it).
var dataPaths = append([]string{DataPathGoroutine}, reactorPaths...)

// bothPaths runs f as a subtest per data path; newTestEngine, called inside, takes the
// path from the subtest's name.
func bothPaths(t *testing.T, f func(t *testing.T)) {
	for _, p := range dataPaths {
		t.Run(p, f)
	}
}

// pathOf returns the data path of the (sub)test or benchmark t runs under, from its name
// (bothPaths, or a benchmark's sub-benchmark named after the path).
func pathOf(t testing.TB) string {
	for _, part := range strings.Split(t.Name(), "/") {
		if slices.Contains(dataPaths, part) {
			return part
		}
	}
	return ""
}

// newTestEngine returns an engine with options o, on the data path of the subtest unless
// o names one. A test that names none and does not run under bothPaths fails: every engine
// test must cover both paths.
func newTestEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	if o.DataPath == "" {
		if o.DataPath = pathOf(t); o.DataPath == "" {
			t.Fatalf("%s: engine tests run under bothPaths (or name Options.DataPath)", t.Name())
		}
	}
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		enginetest.Run(t, enginetest.Harness{
			New:      func(t *testing.T) engine.Engine { return newTestEngine(t, Options{}) },
			Forwards: []lb.Forward{lb.Masq, lb.FullNAT},
			VIP:      vip,
			Real:     realIP,
			Traffic:  enginetest.Loopback(4, clientIP),
		})
	})
}

func TestNewRejectsUnknownDataPath(t *testing.T) {
	if _, err := New(Options{DataPath: "threads"}); err == nil || !strings.Contains(err.Error(), `data path "threads"`) {
		t.Errorf("unknown data path: %v", err)
	}
}

// pendingConnects returns how many connects to reals the engine still has in progress.
func pendingConnects(e *Engine) int {
	g, ok := e.tcp.(*goroutinePath)
	if !ok {
		return reactorConnects(e)
	}
	n := 0
	g.watch.mu.Lock()
	for d := g.watch.head; d != nil; d = d.next {
		n++
	}
	g.watch.mu.Unlock()
	return n
}
