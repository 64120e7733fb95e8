package vrrp

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/nsutil"
)

// healthStatus is the part of lvsd's GET /v1/health the test reads.
type healthStatus struct {
	Services []struct {
		Service   string `json:"service"`
		Suspended bool   `json:"suspended"`
		Reals     []struct {
			Up     bool `json:"up"`
			Checks []struct {
				Runs uint64 `json:"runs"`
			} `json:"checks"`
		} `json:"reals"`
	} `json:"services"`
}

func (d *daemon) health() healthStatus {
	d.t.Helper()
	var h healthStatus
	d.api("/v1/health", &h)
	if len(h.Services) != 1 || len(h.Services[0].Reals) != 1 || len(h.Services[0].Reals[0].Checks) != 1 {
		d.t.Fatalf("lvsd on %s: health %+v", d.node.name, h)
	}
	return h
}

// waitSuspended waits until the service's checks on d are suspended (or running).
func (d *daemon) waitSuspended(want bool) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for d.health().Services[0].Suspended != want {
		if time.Now().After(deadline) {
			d.t.Fatalf("lvsd on %s: checks suspended %v, want %v%s", d.node.name, !want, want, logs(d))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// serveReal runs the real server on n: port 80 greets with "rs saw ADDR" (the address
// the connection came from) and then echoes lines.
func serveReal(t *testing.T, n *node) {
	t.Helper()
	var ln net.Listener
	if err := nsutil.Run(n.ns.Handle, func() error {
		var err error
		ln, err = net.Listen("tcp4", n.ip.String()+":80")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
				fmt.Fprintf(c, "rs saw %s\n", host)
				io.Copy(c, c)
			}()
		}
	}()
}

// dialVIP opens a connection from the client to the virtual service and returns it with
// its greeting.
func (tp *topo) dialVIP(port int) (net.Conn, string, error) {
	var c net.Conn
	err := nsutil.Run(tp.client.ns.Handle, func() error {
		var err error
		c, err = net.DialTimeout("tcp4", fmt.Sprintf("%s:%d", vipAddr, port), time.Second)
		return err
	})
	if err != nil {
		return nil, "", err
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		c.Close()
		return nil, "", err
	}
	return c, strings.TrimSpace(line), nil
}

// waitVia waits until a new connection to the virtual service is proxied by director d.
func (tp *topo) waitVia(d *node, ds ...*daemon) net.Conn {
	tp.t.Helper()
	want := "rs saw " + d.ip.String()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, got, err := tp.dialVIP(8080)
		if err == nil && got == want {
			return c
		}
		if c != nil {
			c.Close()
		}
		if time.Now().After(deadline) {
			tp.t.Fatalf("virtual service: %q, %v; want %q%s", got, err, want, logs(ds...))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestProxyHASuspend: lvsd on both directors with a virtual_server on the VIP (proxy
// engine, ha_suspend, a TCP_CHECK to a real server in a third namespace). The master's
// checks run and it proxies the client to the real server (which sees the director's
// address: the proxy is a full NAT); the backup's checks are suspended (keepalived's
// ha_suspend: the VIP is not on it). After a clean stop of the master the backup takes
// the VIP, its checks start, and new connections go through it, while the connection
// that went through the old master is gone: the proxy terminates connections on the
// director, so they do not survive a failover.
func TestProxyHASuspend(t *testing.T) {
	tp := newTopo(t, 2)
	a, b := tp.dirs[0], tp.dirs[1]
	tp.rs = tp.attach("rs", "10.99.0.20")
	serveReal(t, tp.rs)
	vs := "virtual_server " + vipAddr + " 8080 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    ha_suspend\n" +
		"    real_server 10.99.0.20 80 {\n        TCP_CHECK {\n            connect_timeout 1\n        }\n    }\n}\n"
	v := versions[1]
	adv := v.interval(t)
	da := tp.start("lvsd", a, inst{Version: v.v, Advert: v.advert, State: "MASTER", Prio: 150, Extra: vs}.conf(t))
	db := tp.start("lvsd", b, inst{Version: v.v, Advert: v.advert, State: "BACKUP", Prio: 100, Extra: vs}.conf(t))
	tp.waitHolder(a, masterDown(adv, 150)+3*time.Second, "election", da, db)
	da.waitSuspended(false)
	db.waitSuspended(true)
	held := tp.waitVia(a, da, db)
	defer held.Close()
	deadline := time.Now().Add(5 * time.Second)
	for da.health().Services[0].Reals[0].Checks[0].Runs == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the master's check never ran%s", logs(da))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if runs := db.health().Services[0].Reals[0].Checks[0].Runs; runs != 0 {
		t.Fatalf("the backup's suspended check ran %d times", runs)
	}

	if err := da.proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	tp.waitHolder(b, masterDown(adv, 100)+3*time.Second, "after the master stopped", da, db)
	db.waitSuspended(false)
	c := tp.waitVia(b, db)
	c.Close()
	held.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintln(held, "still there?")
	if line, err := bufio.NewReader(held).ReadString('\n'); err == nil {
		t.Fatalf("a connection through the stopped master still works: %q", line)
	}
}
