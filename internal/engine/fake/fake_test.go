package fake

import (
	"net/netip"
	"testing"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/engine/enginetest"
	"github.com/golvs/golvs/internal/lb"
)

func TestConformance(t *testing.T) {
	enginetest.Run(t, enginetest.Harness{
		New:      func(*testing.T) engine.Engine { return New(lb.Tunnel) },
		Forwards: []lb.Forward{lb.Masq, lb.Route, lb.FullNAT},
		FWMark:   true,
		VIP:      func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 9, 0, byte(1 + i)}) },
		Real:     func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, 1, 0, byte(11 + i)}) },
	})
}
