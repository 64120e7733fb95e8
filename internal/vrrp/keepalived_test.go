package vrrp

import (
	"bytes"
	"slices"
	"testing"
	"time"
)

// eventsPcap is keepalived 2.2.7 running testdata/keepalived-2.2.7-events.conf against
// a peer (10.0.0.2, testdata/keepalived-2.2.7-events-peer.py) that: advertises VRID 72
// at priority 200 then sends priority 0; sends VRID 70's master one advert of priority
// 100; meanwhile VRID 71's weight-0 track script fails and recovers.
const eventsPcap = "testdata/keepalived-2.2.7-events.pcap"

type vrrpEvent struct {
	at   time.Duration
	src  string
	vrid uint8
	prio int
}

func readEvents(t *testing.T) []vrrpEvent {
	t.Helper()
	var out []vrrpEvent
	for i, p := range readPcap(t, eventsPcap) {
		a, err := Parse(p.payload, p.src, p.dst)
		if err != nil {
			t.Fatalf("packet %d: %v", i, err)
		}
		if b, _ := Marshal(a, p.src, p.dst); !bytes.Equal(b, p.payload) {
			t.Fatalf("packet %d does not re-encode", i)
		}
		out = append(out, vrrpEvent{p.at, p.src.String(), a.VRID, int(a.Priority)})
	}
	return out
}

// after returns the events of vrid from src after the i-th event.
func after(evs []vrrpEvent, i int, src string, vrid uint8) []vrrpEvent {
	var out []vrrpEvent
	for _, e := range evs[i+1:] {
		if e.src == src && e.vrid == vrid {
			out = append(out, e)
		}
	}
	return out
}

func find(t *testing.T, evs []vrrpEvent, src string, vrid uint8, prio int) int {
	t.Helper()
	i := slices.IndexFunc(evs, func(e vrrpEvent) bool { return e.src == src && e.vrid == vrid && e.prio == prio })
	if i < 0 {
		t.Fatalf("no advert of VRID %d priority %d from %s in the capture", vrid, prio, src)
	}
	return i
}

// TestKeepalivedEvents checks what the capture shows keepalived doing, and that the
// Router does the same in the same situation.
func TestKeepalivedEvents(t *testing.T) {
	evs := readEvents(t)
	const ka, peer = "10.0.0.1", "10.0.0.2"

	// A backup hearing priority 0 takes over after its skew time ((256-100)/256 s).
	skew := time.Duration(156*1000000/256) * time.Microsecond
	i := find(t, evs, peer, 72, 0)
	first := after(evs, i, ka, 72)[0]
	if d := first.at - evs[i].at; d < skew || d > skew+20*time.Millisecond {
		t.Errorf("keepalived took over %v after priority 0, want the skew %v", d, skew)
	}
	l := newLab(t)
	c := instCfg("ZERO", 72, 100, "10.0.0.172/24")
	n := l.add(vrrpCfg(c), ka, nil)
	l.run(time.Second)
	l.inject(n, "ZERO", advertFrom(t, c, peer, 200, nil))
	l.run(time.Second)
	l.inject(n, "ZERO", advertFrom(t, c, peer, 0, nil))
	t0 := l.clock.Now()
	l.run(time.Second)
	if got := n.inst("ZERO").lastTransition.Sub(t0); n.state("ZERO") != Master || got != skew {
		t.Errorf("Router took over %v after priority 0, want %v", got, skew)
	}

	// A master hearing a lower priority answers at once, and its next advert comes an
	// advert interval after that answer.
	i = find(t, evs, peer, 70, 100)
	next := after(evs, i, ka, 70)
	if next[0].prio != 150 || next[0].at-evs[i].at > 5*time.Millisecond {
		t.Errorf("keepalived's answer: %+v, %v after the lower advert", next[0], next[0].at-evs[i].at)
	}
	if d := next[1].at - next[0].at; d < 990*time.Millisecond || d > 1010*time.Millisecond {
		t.Errorf("keepalived's next advert %v after its answer, want 1s", d)
	}
	l = newLab(t)
	c = instCfg("LOWER", 70, 150, "10.0.0.170/24")
	n = l.add(vrrpCfg(c), ka, nil)
	l.run(5*time.Second + 345*time.Millisecond) // master since 3.414 s, adverts at .414
	sentAdverts(t, n, "LOWER")
	l.inject(n, "LOWER", advertFrom(t, c, peer, 100, nil))
	if p := prios(sentAdverts(t, n, "LOWER")); !slices.Equal(p, []int{150}) {
		t.Errorf("Router's answer %v, want [150]", p)
	}
	t1 := l.clock.Now()
	l.run(time.Second - time.Microsecond)
	if as := sentAdverts(t, n, "LOWER"); len(as) != 0 {
		t.Errorf("Router advertised within a second of its answer")
	}
	l.run(time.Microsecond)
	if as := sentAdverts(t, n, "LOWER"); len(as) != 1 || l.clock.Now().Sub(t1) != time.Second {
		t.Errorf("Router's next advert: %d adverts", len(as))
	}

	// A master whose weight-0 script fails sends priority 0 twice (down_instance, then
	// vrrp_restore_interface).
	i = find(t, evs, ka, 71, 0)
	if evs[i+1].vrid != 71 || evs[i+1].prio != 0 {
		t.Errorf("after the first priority 0 of VRID 71: %+v, want a second one", evs[i+1])
	}
	// Shutting down, each master sends priority 0 once.
	var stops []uint8
	for _, e := range evs[i+2:] {
		if e.src == ka && e.prio == 0 {
			stops = append(stops, e.vrid)
		}
	}
	if !slices.Equal(stops, []uint8{70, 71, 72}) {
		t.Errorf("priority 0 at shutdown for VRIDs %v, want [70 71 72]", stops)
	}
}
