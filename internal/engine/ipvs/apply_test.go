package ipvs

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/golvs/golvs/internal/engine"
	"github.com/golvs/golvs/internal/ipvsnl"
	"github.com/golvs/golvs/internal/lb"
)

// applyStep is one state of a sequence and the commands applying it must send.
type applyStep struct {
	name  string
	rules string
	edit  func(st *lb.State)
	want  []string
}

const applyBase = `
-A -t 10.9.0.1:80 -s rr
-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -m -w 2
-A -u 10.9.0.2:53 -s wlc
-a -u 10.9.0.2:53 -r 10.1.0.11:53 -g -w 1`

// applySteps is a sequence of states, each applied to the engine that applied the
// previous ones, with the exact commands the kernel must receive: the minimal difference,
// nothing for what did not change.
var applySteps = []applyStep{
	{"empty kernel: everything is created, reals oldest first", applyBase, nil, []string{
		"new-service tcp 10.9.0.1:80 sched rr netmask 0xffffffff",
		"new-dest tcp 10.9.0.1:80 dest 10.1.0.11:80 masq weight 1",
		"new-dest tcp 10.9.0.1:80 dest 10.1.0.12:80 masq weight 2",
		"new-service udp 10.9.0.2:53 sched wlc netmask 0xffffffff",
		"new-dest udp 10.9.0.2:53 dest 10.1.0.11:53 route weight 1",
	}},
	{"same state: nothing", applyBase, nil, nil},
	{"one weight", applyBase, func(st *lb.State) { st.Services[0].Reals[1].Weight = 5 }, []string{
		"set-dest tcp 10.9.0.1:80 dest 10.1.0.12:80 masq weight 5",
	}},
	{"thresholds (the weight stays 5)", applyBase, func(st *lb.State) {
		st.Services[0].Reals[1].Weight = 5
		st.Services[0].Reals[0].UThreshold, st.Services[0].Reals[0].LThreshold = 100, 50
	}, []string{
		"set-dest tcp 10.9.0.1:80 dest 10.1.0.11:80 masq weight 1 thresholds 100/50",
	}},
	{"real removed, real added, one changed to route", `
-A -t 10.9.0.1:80 -s rr
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -g -w 2
-a -t 10.9.0.1:80 -r 10.1.0.13:80 -m -w 1
-A -u 10.9.0.2:53 -s wlc
-a -u 10.9.0.2:53 -r 10.1.0.11:53 -g -w 1`, nil, []string{
		"del-dest tcp 10.9.0.1:80 dest 10.1.0.11:80",
		"set-dest tcp 10.9.0.1:80 dest 10.1.0.12:80 route weight 2",
		"new-dest tcp 10.9.0.1:80 dest 10.1.0.13:80 masq weight 1",
	}},
	{"scheduler, persistence with netmask, sched flags, one-packet", `
-A -t 10.9.0.1:80 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -g -w 2
-a -t 10.9.0.1:80 -r 10.1.0.13:80 -m -w 1
-A -u 10.9.0.2:53 -s wlc -o
-a -u 10.9.0.2:53 -r 10.1.0.11:53 -g -w 1`, nil, []string{
		"set-service tcp 10.9.0.1:80 sched sh flags 0x19 timeout 600 netmask 0xffffff00",
		"set-service udp 10.9.0.2:53 sched wlc flags 0x4 netmask 0xffffffff",
	}},
	{"persistence engine, then the service without it", `
-A -t 10.9.0.1:80 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -g -w 2
-a -t 10.9.0.1:80 -r 10.1.0.13:80 -m -w 1
-A -u 10.9.0.2:53 -s wlc -p 60 --pe sip
-a -u 10.9.0.2:53 -r 10.1.0.11:53 -g -w 1`, nil, []string{
		"set-service udp 10.9.0.2:53 sched wlc flags 0x1 timeout 60 netmask 0xffffffff pe sip",
	}},
	{"tunnels: gue with port and checksum, gre, ipip", `
-A -t 10.9.0.1:80 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 10.9.0.1:80 -r 10.1.0.13:80 -i -w 1 --tun-type gre --tun-csum
-a -t 10.9.0.1:80 -r 10.1.0.14:80 -i -w 1
-A -u 10.9.0.2:53 -s wlc -p 60
-a -u 10.9.0.2:53 -r 10.1.0.11:53 -g -w 1`, nil, []string{
		"set-dest tcp 10.9.0.1:80 dest 10.1.0.12:80 tunnel weight 2 tun 1 port 6080 flags 0x2",
		"set-dest tcp 10.9.0.1:80 dest 10.1.0.13:80 tunnel weight 1 tun 2 port 0 flags 0x1",
		"new-dest tcp 10.9.0.1:80 dest 10.1.0.14:80 tunnel weight 1 tun 0 port 0 flags 0x0",
		"set-service udp 10.9.0.2:53 sched wlc flags 0x1 timeout 60 netmask 0xffffffff",
	}},
	{"fwmark services of both families and an IPv6 service with an IPv4 tunnel real; one service removed", `
-A -t 10.9.0.1:80 -s sh -b sh-fallback,sh-port -p 600 -M 255.255.255.0
-a -t 10.9.0.1:80 -r 10.1.0.12:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-remcsum
-a -t 10.9.0.1:80 -r 10.1.0.13:80 -i -w 1 --tun-type gre --tun-csum
-a -t 10.9.0.1:80 -r 10.1.0.14:80 -i -w 1
-A -f 1 -s wlc -p 600 -M 255.255.0.0
-a -f 1 -r 10.1.0.11:0 -g -w 1
-A -f 2 -6 -s mh -p 60 -M 64
-a -f 2 -6 -r [fd01::11]:0 -g -w 1
-A -t [fd00::9]:443 -s dh
-a -t [fd00::9]:443 -r [fd01::12]:443 -m -w 3
-a -t [fd00::9]:443 -r 10.1.0.15:443 -i -w 1`, nil, []string{
		"del-service udp 10.9.0.2:53",
		"new-service fwmark 1 sched wlc flags 0x1 timeout 600 netmask 0xffff0000",
		"new-dest fwmark 1 dest 10.1.0.11:0 route weight 1",
		"new-service fwmark 2 ipv6 sched mh flags 0x1 timeout 60 netmask 64",
		"new-dest fwmark 2 ipv6 dest [fd01::11]:0 route weight 1",
		"new-service tcp [fd00::9]:443 sched dh netmask 128",
		"new-dest tcp [fd00::9]:443 dest [fd01::12]:443 masq weight 3",
		"new-dest tcp [fd00::9]:443 dest 10.1.0.15:443 tunnel weight 1 tun 0 port 0 flags 0x0",
	}},
	{"timeouts only when they change; zero keeps the kernel's", `-A -f 1 -s wlc -p 600 -M 255.255.0.0
-a -f 1 -r 10.1.0.11:0 -g -w 1`, func(st *lb.State) { st.Timeouts = lb.Timeouts{TCP: 1000, UDP: 0, TCPFin: 120} }, []string{
		"set-config timeouts 1000 120 0",
		"del-service tcp 10.9.0.1:80",
		"del-service fwmark 2 ipv6",
		"del-service tcp [fd00::9]:443",
	}},
	{"same timeouts again: nothing", `-A -f 1 -s wlc -p 600 -M 255.255.0.0
-a -f 1 -r 10.1.0.11:0 -g -w 1`, func(st *lb.State) { st.Timeouts = lb.Timeouts{TCP: 1000, TCPFin: 120} }, nil},
	{"empty state", "", nil, []string{"set-config timeouts 900 120 300", "del-service fwmark 1"}},
}

// stepState builds the state of step s.
func stepState(t *testing.T, s applyStep) *lb.State {
	t.Helper()
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	if strings.TrimSpace(s.rules) != "" {
		st = rules(t, s.rules)
	}
	if s.edit != nil {
		s.edit(st)
	}
	return st
}

// TestApplySequence applies applySteps to one engine on the fake kernel and checks the
// commands the kernel received after each.
func TestApplySequence(t *testing.T) {
	e, k := newFakeEngine(t, Options{})
	for _, s := range applySteps {
		st := stepState(t, s)
		k.ResetLog()
		if err := e.Apply(st); err != nil {
			t.Fatalf("%s: Apply: %v", s.name, err)
		}
		if got := k.Writes(); !slices.Equal(got, s.want) {
			t.Fatalf("%s: kernel received\n  %s\nwant\n  %s", s.name, strings.Join(got, "\n  "), strings.Join(s.want, "\n  "))
		}
		if got, want := shape(t, e), kernelShape(st); !slices.Equal(got, want) {
			t.Fatalf("%s: engine reports\n%q\nwant\n%q", s.name, got, want)
		}
	}
}

// shape renders Counters as "KEY: real real ...".
func shape(t *testing.T, e *Engine) []string {
	t.Helper()
	cs, err := e.Counters()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cs {
		line := c.Key.String() + ":"
		for _, r := range c.Reals {
			line += " " + r.Addr.String() + ":" + itoa(r.Port)
		}
		out = append(out, line)
	}
	return out
}

func kernelShape(st *lb.State) []string {
	var out []string
	for _, s := range st.Services {
		line := s.ServiceKey.String() + ":"
		for _, r := range s.KernelOrder() {
			line += " " + r.Addr.String() + ":" + itoa(r.Port)
		}
		out = append(out, line)
	}
	return out
}

func itoa(p uint16) string { return strconv.Itoa(int(p)) }

// TestUnsupportedBeforeAnyMessage: a state the engine cannot apply is refused before the
// kernel hears anything (not even a dump).
func TestUnsupportedBeforeAnyMessage(t *testing.T) {
	tests := []struct {
		name     string
		rules    string
		edit     func(st *lb.State)
		sentinel error
		text     string
	}{
		{"fullnat real", "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m",
			func(st *lb.State) { st.Services[0].Reals[0].Forward = lb.FullNAT }, engine.ErrNotSupported,
			"ipvs engine: service -t 10.9.0.1:80: real 10.1.0.11:80: forwarding method FullNat needs the xdp or proxy engine: not supported"},
		{"scheduler module missing", "-A -t 10.9.0.1:80 -s rr", func(st *lb.State) { st.Services[0].Scheduler = "twos" }, engine.ErrNotSupported,
			"ipvs engine: service -t 10.9.0.1:80: scheduler twos needs a kernel with module ip_vs_twos or the proxy engine: not supported (Scheduler or persistence engine not found)"},
		{"persistence engine module missing", "-A -u 10.9.0.1:5060 -s rr -p 60", func(st *lb.State) { st.Services[0].PE = "foo" }, lb.ErrNoScheduler,
			"ipvs engine: service -u 10.9.0.1:5060: persistence engine foo needs a kernel with module ip_vs_pe_foo: not supported (Scheduler or persistence engine not found)"},
		{"port 0 without persistence", "-A -t 10.9.0.1:80 -s rr", func(st *lb.State) { st.Services[0].Port = 0 }, lb.ErrZeroPort,
			"ipvs engine: service -t 10.9.0.1:0: Zero port specified for non-persistent service"},
		{"same real twice", "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m",
			func(st *lb.State) { st.Services[0].Reals = append(st.Services[0].Reals, st.Services[0].Reals[0]) }, lb.ErrDestExists,
			"ipvs engine: service -t 10.9.0.1:80: real 10.1.0.11:80: twice in the service: Destination already exists"},
		{"same service twice", "-A -t 10.9.0.1:80 -s rr",
			func(st *lb.State) { st.Services = append(st.Services, st.Services[0]) }, lb.ErrServiceExists,
			"ipvs engine: service -t 10.9.0.1:80: twice in the state: Service already exists"},
		{"negative weight", "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m",
			func(st *lb.State) { st.Services[0].Reals[0].Weight = -1 }, lb.ErrRange,
			"ipvs engine: service -t 10.9.0.1:80: real 10.1.0.11:80: weight -1: Numerical result out of range"},
		{"ipv6 real of an ipv4 service by masq", "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m",
			func(st *lb.State) { st.Services[0].Reals[0].Addr = lb.FWMarkKey(0, true).Addr }, lb.ErrMixedFamily,
			"ipvs engine: service -t 10.9.0.1:80: real [::]:80: Different address family is allowed only for tunneling servers"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, k := newFakeEngine(t, Options{})
			st := rules(t, tc.rules)
			tc.edit(st)
			err := e.Apply(st)
			if !errors.Is(err, tc.sentinel) || err.Error() != tc.text {
				t.Errorf("Apply = %v\nwant %q wrapping %v", err, tc.text, tc.sentinel)
			}
			if log := k.Log(); len(log) != 0 {
				t.Errorf("the kernel received %d requests, first %s", len(log), log[0].Command.String())
			}
		})
	}
}

// TestForeignServices: services the engine did not install are left alone, unless
// OwnTable, which removes them at the first Apply only; a service of the state that exists
// is taken over.
func TestForeignServices(t *testing.T) {
	for _, own := range []bool{false, true} {
		k := newKernelWith(t, `
-A -t 10.9.0.7:80 -s rr
-a -t 10.9.0.7:80 -r 10.1.0.77:80 -m -w 1
-A -t 10.9.0.1:80 -s wrr
-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1
-a -t 10.9.0.1:80 -r 10.1.0.99:80 -m -w 1`)
		c, _ := k.Client()
		e, err := New(Options{Client: c, OwnTable: own, HasModule: fakeModules})
		if err != nil {
			t.Fatal(err)
		}
		if got := e.Found(); len(got) != 2 {
			t.Errorf("Found() = %v", got)
		}
		k.ResetLog()
		st := rules(t, "-A -t 10.9.0.1:80 -s rr\n-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 1")
		if err := e.Apply(st); err != nil {
			t.Fatal(err)
		}
		want := []string{
			"set-service tcp 10.9.0.1:80 sched rr netmask 0xffffffff",
			"del-dest tcp 10.9.0.1:80 dest 10.1.0.99:80",
		}
		if own {
			want = append([]string{"del-service tcp 10.9.0.7:80"}, want...)
		}
		if got := k.Writes(); !slices.Equal(got, want) {
			t.Errorf("OwnTable %v: kernel received\n  %s\nwant\n  %s", own, strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		// A service added later by someone else stays, even with OwnTable.
		ipvsadmAdd(t, k, "-A -t 10.9.0.8:80 -s rr")
		k.ResetLog()
		if err := e.Apply(st); err != nil || len(k.Writes()) != 0 {
			t.Errorf("OwnTable %v: second Apply: %v %v", own, err, k.Writes())
		}
		if cs, _ := e.Counters(); len(cs) != 1 {
			t.Errorf("Counters reports services the engine does not manage: %+v", cs)
		}
		k.ResetLog()
		e.Close()
		if got := k.Writes(); !slices.Equal(got, []string{"del-service tcp 10.9.0.1:80"}) {
			t.Errorf("Close sent %v, want only the engine's service removed", got)
		}
	}
}

// TestKernelRefusal: a refusal stops Apply with the errno and ipvsadm's sentinel; applying
// the previous state again removes what was created.
func TestKernelRefusal(t *testing.T) {
	e, k := newFakeEngine(t, Options{})
	prev := rules(t, "-A -t 10.9.0.1:80 -s rr")
	if err := e.Apply(prev); err != nil {
		t.Fatal(err)
	}
	k.FailWith(func(c ipvsnl.Command) syscall.Errno {
		if c.Cmd == ipvsnl.CmdNewDest && c.Dest.Port == 99 {
			return syscall.EINVAL
		}
		return 0
	})
	next := rules(t, `
-A -t 10.9.0.1:80 -s rr
-A -t 10.9.0.2:80 -s rr
-a -t 10.9.0.2:80 -r 10.1.0.11:99 -m -w 1
-A -t 10.9.0.3:80 -s rr`)
	err := e.Apply(next)
	if !errors.Is(err, syscall.EINVAL) || !errors.Is(err, lb.ErrInvalid) ||
		err.Error() != "ipvs engine: ipvs: new dest 10.1.0.11:99 of tcp 10.9.0.2:80: invalid argument (Invalid argument)" {
		t.Fatalf("Apply = %v", err)
	}
	k.FailWith(nil)
	k.ResetLog()
	if err := e.Apply(prev); err != nil {
		t.Fatal(err)
	}
	if got := k.Writes(); !slices.Equal(got, []string{"del-service tcp 10.9.0.2:80"}) {
		t.Errorf("re-applying the previous state sent %v", got)
	}
}

// TestFWMarkKeyNormalized: a fwmark key built by hand with an address (lb.State builds
// them without) names the same kernel service; applying it twice sends nothing the second
// time.
func TestFWMarkKeyNormalized(t *testing.T) {
	e, k := newFakeEngine(t, Options{})
	st := &lb.State{Services: []*lb.Service{{ServiceKey: lb.ServiceKey{Addr: rules(t, "-A -t 10.9.0.1:80 -s rr").Services[0].Addr, FWMark: 4},
		Scheduler: "rr", Netmask: 0xffffffff}}}
	for i, want := range [][]string{{"new-service fwmark 4 sched rr netmask 0xffffffff"}, nil} {
		k.ResetLog()
		if err := e.Apply(st); err != nil {
			t.Fatal(err)
		}
		if got := k.Writes(); !slices.Equal(got, want) {
			t.Errorf("Apply %d sent %v, want %v", i+1, got, want)
		}
	}
	if cs, err := e.Counters(); err != nil || len(cs) != 1 {
		t.Errorf("Counters = %+v, %v", cs, err)
	}
}
