package sched

import (
	"bufio"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// The kernel recordings: testdata/kernel/sched-NAME.txt, written by the real kernel's IPVS in
// a VM (scripts/record-kernel). Each connection line gives the counters the kernel's scheduler
// saw and the real it chose; the replay sets the same counters on a Pool, schedules the same
// flow and must choose the same real. See the header of any recording for the format.
const kernelDir = "../../testdata/kernel"

func TestKernelReplay(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(kernelDir, "sched*-*.txt"))
	if len(files) == 0 {
		t.Fatalf("no recordings in %s", kernelDir)
	}
	for _, f := range files {
		base := strings.TrimSuffix(filepath.Base(f), ".txt")
		if base == "sched-skipped" {
			continue
		}
		t.Run(base, func(t *testing.T) { replayFile(t, f) })
	}
}

// rsName names real server 10.1.0.1N or fd01::1N as rsN, the recordings' names.
func rsName(a netip.Addr) string {
	s := a.String()
	n, err := strconv.Atoi(s[strings.LastIndexAny(s, ".:")+1:])
	if err != nil || n < 11 {
		return s
	}
	return fmt.Sprintf("rs%d", n-10)
}

// rsAddr is the address of real server name in the family of service k.
func rsAddr(name string, k lb.ServiceKey) (netip.Addr, bool) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "rs"))
	if err != nil || !strings.HasPrefix(name, "rs") {
		return netip.Addr{}, false
	}
	if k.Is6() {
		a, err := netip.ParseAddr(fmt.Sprintf("fd01::%d", 10+n))
		return a, err == nil
	}
	return netip.AddrFrom4([4]byte{10, 1, 0, byte(10 + n)}), true
}

type replay struct {
	t      *testing.T
	pools  map[lb.ServiceKey]*Pool
	svcs   map[lb.ServiceKey]*lb.Service
	now    time.Time
	scen   string
	checks int
}

func replayFile(t *testing.T, path string) {
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := &replay{t: t, now: time.Unix(1_700_000_000, 0)}
	sc := bufio.NewScanner(fh)
	ln := 0
	var scenT *testing.T
	for sc.Scan() {
		ln++
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		word, rest, _ := strings.Cut(line, " ")
		switch word {
		case "scenario":
			name, _, _ := strings.Cut(rest, ":")
			r.scen = name
			r.pools = map[lb.ServiceKey]*Pool{}
			r.svcs = map[lb.ServiceKey]*lb.Service{}
			scenT = t
		case "cmd":
			r.cmd(fmt.Sprintf("%s:%d", filepath.Base(path), ln), strings.Fields(rest))
		case "order":
			r.order(ln, strings.Fields(rest))
		case "conn", "hold":
			r.conn(ln, rest)
		case "release", "sequence", "settle-timeout", "cmd-failed", "probe-failed", "kernel":
			switch word {
			case "settle-timeout", "cmd-failed":
				scenT.Logf("line %d: recording says %q", ln, line)
			case "probe-failed":
				t.Errorf("line %d: the recording is incomplete: %q", ln, line)
			}
		default:
			t.Fatalf("line %d: unknown line %q", ln, line)
		}
		// a kernel decision takes ~50 ms under the VM; lblc/lblcr see time move
		r.now = r.now.Add(50 * time.Millisecond)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if r.checks == 0 {
		t.Fatalf("%s: no decisions replayed", path)
	}
}

// cmd replays the ipvsadm commands the recordings use: -A/-a/-e/-d with -t or -f, -s, -b,
// -r, -m, -w. Other commands (nft) are ignored.
func (r *replay) cmd(where string, args []string) {
	if len(args) == 0 || args[0] != "ipvsadm" {
		return
	}
	var (
		op, sched, flags string
		key              lb.ServiceKey
		real             lb.Real
		haveReal         bool
	)
	real.Weight = 1
	real.Forward = lb.Route
	for i := 1; i < len(args); i++ {
		a := args[i]
		next := func() string { i++; return args[i] }
		switch a {
		case "-A", "-a", "-e", "-d":
			op = a
		case "-t":
			ap := netip.MustParseAddrPort(next())
			key = lb.ServiceKey{Protocol: lb.TCP, Addr: ap.Addr(), Port: ap.Port()}
		case "-f":
			m, _ := strconv.Atoi(next())
			key = lb.FWMarkKey(uint32(m), false)
		case "-6":
			key = lb.FWMarkKey(key.FWMark, true)
		case "-s":
			sched = next()
		case "-b":
			flags = next()
		case "-r":
			ap := netip.MustParseAddrPort(next())
			real.Addr, real.Port, haveReal = ap.Addr(), ap.Port(), true
		case "-m":
			real.Forward = lb.Masq
		case "-w":
			w, _ := strconv.Atoi(next())
			real.Weight = int32(w)
		default:
			r.t.Fatalf("%s: unhandled ipvsadm argument %q", where, a)
		}
	}
	switch op {
	case "-A":
		s := &lb.Service{ServiceKey: key, Scheduler: sched}
		for _, f := range strings.Split(flags, ",") {
			switch {
			case f == "":
			case strings.HasSuffix(f, "-fallback"):
				s.Flags |= lb.Sched1
			case strings.HasSuffix(f, "-port"):
				s.Flags |= lb.Sched2
			default:
				r.t.Fatalf("%s: unknown flag %q", where, f)
			}
		}
		now := func() time.Time { return r.now }
		p, err := NewPool(s, Config{Now: now, Rand: func() uint32 { return 0 }})
		if err != nil {
			r.t.Fatalf("%s: %v", where, err)
		}
		r.pools[key], r.svcs[key] = p, s
	case "-a", "-e", "-d":
		p := r.pools[key]
		if p == nil || !haveReal {
			r.t.Fatalf("%s: no service %v or no real", where, key)
		}
		var err error
		switch op {
		case "-a":
			err = p.AddDest(real)
		case "-e":
			err = p.EditDest(real)
		case "-d":
			err = p.DelDest(real.Addr, real.Port)
		}
		if err != nil {
			r.t.Fatalf("%s: %v", where, err)
		}
	}
}

// current returns the pool of the scenario's newest service.
func (r *replay) current(dst netip.AddrPort) (*Pool, lb.ServiceKey) {
	for k, p := range r.pools {
		if !k.IsFWMark() && k.Addr == dst.Addr() && k.Port == dst.Port() {
			return p, k
		}
	}
	for k, p := range r.pools {
		if k.IsFWMark() && k.Is6() == dst.Addr().Is6() {
			return p, k
		}
	}
	return nil, lb.ServiceKey{}
}

func (r *replay) order(ln int, want []string) {
	// the order line follows the service it describes: the one most recently changed
	var p *Pool
	for _, q := range r.pools {
		p = q // scenarios have one service each
	}
	if p == nil {
		r.t.Fatalf("line %d: order without a service", ln)
	}
	var got []string
	for _, d := range p.Dests() {
		got = append(got, rsName(d.Addr()))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		r.t.Errorf("%s line %d: kernel order %v, pool order %v", r.scen, ln, want, got)
	}
}

// conn parses "N SRC:PORT DST before rsA:wW/aA/iI ... -> rsY" and checks the decision.
func (r *replay) conn(ln int, rest string) {
	f := strings.Fields(rest)
	if len(f) < 5 || f[len(f)-2] != "->" || f[3] != "before" {
		r.t.Fatalf("line %d: bad conn line %q", ln, rest)
	}
	srcS, dstS, want := f[1], f[2], f[len(f)-1]
	dst := netip.MustParseAddrPort(dstS)
	p, key := r.current(dst)
	if p == nil {
		r.t.Fatalf("line %d: no service for %s", ln, dstS)
	}
	src, perr := netip.ParseAddrPort(srcS)
	if perr != nil {
		// "ADDR:?": the recorder did not learn the port of a refused connection
		if r.svcs[key].Flags&lb.Sched2 != 0 {
			r.t.Logf("%s line %d: source port unknown (%s) and hashed; decision not checked", r.scen, ln, srcS)
			return
		}
		src = netip.AddrPortFrom(netip.MustParseAddr(strings.TrimSuffix(srcS, ":?")), 0)
	}
	for _, c := range f[4 : len(f)-2] {
		if c == "-" { // counters not recorded: the scheduler does not read them
			continue
		}
		var name string
		var w, a, i int32
		if _, err := fmt.Sscanf(strings.Replace(c, ":", " ", 1), "%s w%d/a%d/i%d", &name, &w, &a, &i); err != nil {
			r.t.Fatalf("line %d: bad counters %q: %v", ln, c, err)
		}
		addr, _ := rsAddr(name, key)
		d := p.Find(addr, 80)
		if d == nil {
			r.t.Fatalf("line %d: %s not in the pool", ln, name)
		}
		if d.Weight() != w {
			r.t.Fatalf("line %d: %s weight %d, kernel %d", ln, name, d.Weight(), w)
		}
		if err := p.SetCounters(addr, 80, a, i); err != nil {
			r.t.Fatal(err)
		}
	}
	flow := Flow{Protocol: lb.TCP, Client: src, Dest: dst}
	got := "NONE"
	if d := p.Schedule(flow); d != nil {
		got = rsName(d.Addr())
	}
	r.checks++
	if got != want {
		r.t.Errorf("%s line %d: %s conn %s from %s to %s: kernel chose %s, we chose %s", r.scen, ln, p.Scheduler(), f[0], srcS, dstS, want, got)
	}
}
