package conntrack

import (
	"fmt"
	"net/netip"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// TestKernelListing replays the connections of the kernel recording
// testdata/kernel/ipvsadm/list-conn.out (made by ../shared/tools/ipvs-vm
// examples/ipvsadm-formats.sh on Debian 12's 6.1 kernel) through the table, and checks that
// the table then lists what the kernel listed: the same connections and persistence templates
// (which the replay does not feed in: the table makes them), with the same state names and
// expiry times, in ipvsadm -L -n -c's format 5.5 s after the traffic and in
// /proc/net/ip_vs_conn's 6.5 s after it.
func TestKernelListing(t *testing.T) {
	listing := readLines(t, "../../testdata/kernel/ipvsadm/list-conn.out")[2:]
	proc := readLines(t, "../../testdata/kernel/ipvsadm/proc-ip_vs_conn.out")[1:]

	// The services of the recording that persist (the others do not matter here).
	persist := func(vip netip.AddrPort) *lb.Service {
		switch {
		case vip.Addr() == netip.MustParseAddr("10.9.0.5"):
			return svcTCP("10.9.0.5", 443, 0xffffffff, 300)
		case vip.Addr() == netip.MustParseAddr("10.9.0.6"):
			return svcTCP("10.9.0.6", 0, 0xffffffff, lb.DefaultPersistTimeout)
		case vip.Addr() == netip.MustParseAddr("10.9.0.21"), vip.Addr() == netip.MustParseAddr("10.9.0.22"):
			return &lb.Service{ServiceKey: lb.FWMarkKey(1, false), Flags: lb.Persistent, Timeout: 600, Netmask: 0xffffff00}
		}
		return nil
	}
	forward := map[string]lb.Forward{"10.9.0.1": lb.Masq, "10.9.0.5": lb.Masq, "10.9.0.3": lb.Tunnel}
	// A DestID names a real of a service, as ipvsadm -L lists it: "TCP 10.9.0.1:80 10.1.0.11:80".
	ids := map[string]DestID{}
	destOf := func(vip, real netip.AddrPort) Dest {
		svc := "TCP " + vip.String()
		if s := persist(vip); s != nil && s.Port == 0 {
			svc = "TCP " + netip.AddrPortFrom(vip.Addr(), 0).String()
			if s.IsFWMark() {
				svc = fmt.Sprintf("FWM %d", s.FWMark)
			}
			real = netip.AddrPortFrom(real.Addr(), 0)
		}
		name := svc + " " + real.String()
		if ids[name] == 0 {
			ids[name] = DestID(len(ids) + 1)
		}
		fwd, ok := forward[vip.Addr().String()]
		if !ok {
			fwd = lb.Route
		}
		return Dest{ID: ids[name], Forward: fwd}
	}

	tb, clk, l := newTable(t, Config{})
	for _, line := range listing {
		f := strings.Fields(line)
		if f[2] == "ASSURED" {
			continue // templates come from the replay
		}
		client, vip, real := ap(f[3]), ap(f[4]), ap(f[5])
		d := destOf(vip, real)
		d.Addr = real // a connection of a fwmark or port-0 service goes to the port the client chose
		var tmpl Ref
		if svc := persist(vip); svc != nil {
			tk := TemplateKey(svc, lb.TCP, client.Addr(), vip)
			tc, ok := tb.LookupTemplate(tk)
			if !ok {
				var err error
				td := destOf(vip, real)
				td.Addr = real // InsertTemplate drops the port when the template has none
				tc, err = tb.InsertTemplate(tk, td, time.Duration(svc.Timeout)*time.Second)
				if err != nil {
					t.Fatal(err)
				}
			}
			tmpl = tc.Ref
		}
		r, err := tb.Insert(Key{lb.TCP, client, vip}, d, tmpl)
		if err != nil {
			t.Fatal(err)
		}
		seq := []struct {
			d Direction
			f TCPFlags
		}{{Input, SYN}, {Output, SYN | ACK}, {Input, ACK}}
		if f[2] == "TIME_WAIT" {
			seq = append(seq, []struct {
				d Direction
				f TCPFlags
			}{{Output, FIN | ACK}, {Input, ACK}, {Input, FIN | ACK}, {Output, ACK}}...)
		}
		for _, p := range seq {
			if _, err := tb.Transition(r, p.d, p.f); err != nil {
				t.Fatal(err)
			}
		}
	}

	clk.Set(5500 * time.Millisecond)
	compareLines(t, "ipvsadm -L -n -c", listConns(tb, formatIpvsadm), listing)
	clk.Set(6500 * time.Millisecond)
	compareLines(t, "/proc/net/ip_vs_conn", listConns(tb, formatProc), proc)

	// The counters ipvsadm -L showed at the same time (list-persistent-conn.out): PersistConn,
	// ActiveConn and InActConn of every real of every service.
	svc := ""
	for _, line := range readLines(t, "../../testdata/kernel/ipvsadm/list-persistent-conn.out")[3:] {
		f := strings.Fields(line)
		if f[0] != "->" {
			svc = f[0] + " " + f[1]
			continue
		}
		var want Counts
		fmt.Sscan(f[3]+" "+f[4]+" "+f[5], &want.Persist, &want.Active, &want.Inactive)
		if got := l.get(ids[svc+" "+f[1]]); got != want {
			t.Errorf("%s -> %s: got %+v, kernel %+v", svc, f[1], got, want)
		}
	}
	for id, c := range tb.Counts() {
		if l.get(id) != c {
			t.Errorf("dest %d: Counts %+v, accountant %+v", id, c, l.get(id))
		}
	}
	l.check(t)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(b), "\n"), "\n")
}

func listConns(tb *Table, format func(*Conn) string) []string {
	var out []string
	for c := range tb.All() {
		out = append(out, format(&c))
	}
	return out
}

// formatIpvsadm prints c as ipvsadm 1.31 -L -n -c does.
func formatIpvsadm(c *Conn) string {
	exp := int(c.Expires / time.Second)
	return fmt.Sprintf("%-3s %02d:%02d  %-11s %-18s %-18s %s", c.ProtocolName(), exp/60, exp%60,
		c.StateName(), c.Client, c.Virtual, c.Dest.Addr)
}

// formatProc prints an IPv4 entry as /proc/net/ip_vs_conn does.
func formatProc(c *Conn) string {
	hex := func(a netip.Addr) uint32 {
		b := a.As4()
		return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	}
	return fmt.Sprintf("%-3s %08X %04X %08X %04X %08X %04X %-11s %7d", c.ProtocolName(),
		hex(c.Client.Addr()), c.Client.Port(), hex(c.Virtual.Addr()), c.Virtual.Port(),
		hex(c.Dest.Addr.Addr()), c.Dest.Addr.Port(), c.StateName(), int(c.Expires/time.Second))
}

// compareLines compares two listings in any order (the kernel lists in hash order).
func compareLines(t *testing.T, what string, got, want []string) {
	t.Helper()
	got, want = slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Errorf("%s differs:\ngot:\n%s\nwant:\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
