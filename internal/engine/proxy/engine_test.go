package proxy

import (
	"math/rand/v2"
	"net/netip"
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

func newTestEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New:      func(t *testing.T) engine.Engine { return newTestEngine(t, Options{}) },
		Forwards: []lb.Forward{lb.Masq, lb.FullNAT},
		VIP:      vip,
		Real:     realIP,
		Traffic:  enginetest.Loopback(4, clientIP),
	})
}
