package conntrack_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/conntrack"
	"github.com/golvs/golvs/internal/lb"
)

// printer is an Accountant that prints; an engine forwards these calls to sched.Pool.Account.
type printer struct{}

func (printer) Account(d conntrack.DestID, from, to lb.ConnClass) {
	fmt.Printf("real %d: %d -> %d\n", d, from, to)
}

// An engine that sees packets handles the first packet of a flow to a persistent service:
// it looks for the client's template, schedules only when there is none (or it was
// invalidated), links the new connection to the template, and applies the packet.
func Example() {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tb, _ := conntrack.New(conntrack.Config{Now: func() time.Time { return now }, Accountant: printer{}})

	svc := &lb.Service{
		ServiceKey: lb.ServiceKey{Protocol: lb.TCP, Addr: netip.MustParseAddr("10.9.0.5"), Port: 443},
		Flags:      lb.Persistent, Timeout: 300, Netmask: 0xffffff00,
	}
	client, vip := netip.MustParseAddrPort("10.0.0.2:40000"), netip.MustParseAddrPort("10.9.0.5:443")
	key := conntrack.Key{Protocol: lb.TCP, Client: client, Virtual: vip}

	if _, ok := tb.Lookup(key); !ok {
		tk := conntrack.TemplateKey(svc, lb.TCP, client.Addr(), vip)
		tmpl, ok := tb.LookupTemplate(tk)
		if !ok {
			// Here the engine asks sched.Pool.Schedule for a real; say it chose real 7.
			chosen := conntrack.Dest{ID: 7, Addr: netip.MustParseAddrPort("10.1.0.12:80"), Forward: lb.Masq}
			tmpl, _ = tb.InsertTemplate(tk, chosen, time.Duration(svc.Timeout)*time.Second)
		}
		ref, _ := tb.Insert(key, tmpl.Dest, tmpl.Ref)
		st, _ := tb.Transition(ref, conntrack.Input, conntrack.SYN)
		fmt.Println(conntrack.StateName(lb.TCP, st, false))
	}
	for c := range tb.All() {
		fmt.Println(c.ProtocolName(), c.Client, c.Virtual, c.Dest.Addr, c.StateName(), c.Expires)
	}
	// Unordered output:
	// real 7: 0 -> 3
	// real 7: 0 -> 2
	// real 7: 2 -> 1
	// SYN_RECV
	// TCP 10.0.0.0:0 10.9.0.5:443 10.1.0.12:80 NONE 5m0s
	// TCP 10.0.0.2:40000 10.9.0.5:443 10.1.0.12:80 SYN_RECV 1m0s
}
