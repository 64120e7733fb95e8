package estimator

import (
	"testing"

	"github.com/golvs/golvs/internal/lb"
)

func TestSteadyRate(t *testing.T) {
	// 100 connections, 1000 packets and 64000 bytes each way every second: the kernel's
	// average approaches the rate by a quarter of the gap per 2-second tick.
	e := New(lb.Stats{})
	var cur lb.Stats
	want := []uint64{25, 44, 58, 68, 76} // cps after each tick: 100*(1-(3/4)^n), fixed point
	for i, w := range want {
		cur = cur.Add(lb.Stats{Conns: 200, InPkts: 2000, OutPkts: 2000, InBytes: 128000, OutBytes: 128000})
		e.Tick(cur)
		if got := e.Read().CPS; got != w {
			t.Fatalf("tick %d: cps %d, want %d", i+1, got, w)
		}
	}
	for i := 0; i < 60; i++ {
		cur = cur.Add(lb.Stats{Conns: 200, InPkts: 2000, OutPkts: 2000, InBytes: 128000, OutBytes: 128000})
		e.Tick(cur)
	}
	if r := e.Read(); r != (lb.Rates{CPS: 100, InPPS: 1000, OutPPS: 1000, InBPS: 64000, OutBPS: 64000}) {
		t.Fatalf("steady state %+v", r)
	}
}

func TestDecayAndZero(t *testing.T) {
	e := New(lb.Stats{Conns: 10})
	e.Tick(lb.Stats{Conns: 10 + 2*40})
	if got := e.Read().CPS; got != 10 {
		t.Fatalf("first tick cps %d, want 10", got)
	}
	for i := 0; i < 40; i++ {
		e.Tick(lb.Stats{Conns: 90})
	}
	if got := e.Read(); got != (lb.Rates{}) {
		t.Fatalf("idle rates do not decay to 0: %+v", got)
	}
	e.Tick(lb.Stats{Conns: 190})
	e.Zero(lb.Stats{Conns: 190})
	if got := e.Read(); got != (lb.Rates{}) {
		t.Fatalf("after Zero: %+v", got)
	}
	e.Tick(lb.Stats{Conns: 190})
	if got := e.Read().CPS; got != 0 {
		t.Fatalf("counts before Zero leaked into the rate: %d", got)
	}
}
