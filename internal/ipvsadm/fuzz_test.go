package ipvsadm

import (
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParse: Parse never panics, returns exactly one of a Command and an *Error, with
// ipvsadm's statuses, and whatever it accepts can be printed or restored without a panic.
// Arguments are the input split at NUL bytes.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 30s ./internal/ipvsadm
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"-Ln", "-A\x00-t\x0010.9.0.1:80\x00-s\x00rr\x00-p", "-a\x00-t\x00[fd00::9]:80\x00-r\x0010.1.0.11\x00-i\x00--tun-type\x00gue\x00--tun-port\x005",
		"--set\x001\x002\x003", "-A\x00-s\x00!#:+\x00-t\x00x:80\x00rr", "-L\x00--numeric=1", "--start-daemon\x00master\x00--mcast-group\x00ff02::1",
		"-A\x00-f\x001\x00-6\x00-M\x0064\x00-p=7", "-e\x00-f\x001\x00-r\x00rs1:http\x00-m\x00-w\x000", "-R", "-Z\x00-u\x00vip-nat:domain",
	} {
		f.Add(s)
	}
	p := Parser{Resolver: StaticResolver{
		Hosts:    []HostEntry{{"vip-nat", vip1().Addr}, {"rs1", rs11()}},
		Services: []ServiceEntry{{"http", 80, "tcp"}, {"domain", 53, "udp"}},
	}}
	pr := Printer{Resolver: p.Resolver}
	tab := &Table{Services: []ServiceView{{ServiceKey: vip1(), Scheduler: "rr", Netmask: defaultNetmask}}}
	f.Fuzz(func(t *testing.T, in string) {
		if len(in) > 512 {
			return // long inputs add nothing but slow minimization down
		}
		var args []string
		if in != "" {
			args = strings.Split(in, "\x00")
		}
		cmd, err := p.Parse(args)
		if (cmd == nil) == (err == nil) {
			t.Fatalf("Parse(%q) = %v, %v", args, cmd, err)
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Msg == "" || (e.Status != 2 && e.Status != 255) {
				t.Fatalf("Parse(%q): bad error %#v", args, err)
			}
			return
		}
		if cmd.Kind < AddService || cmd.Kind > Version {
			t.Fatalf("Parse(%q): kind %d", args, cmd.Kind)
		}
		switch cmd.Kind {
		case List, Save, Help, Version:
			_ = pr.Print(io.Discard, cmd, tab)
		}
		_ = KernelError(cmd, io.EOF)
		if _, err := p.ParseRestore(strings.NewReader(strings.ReplaceAll(in, "\x00", " "))); err != nil {
			t.Fatal(err)
		}
	})
}
