package vrrp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// inst describes the vrrp_instance of one director; the same text goes to lvsd and to
// keepalived.
type inst struct {
	Version      int    // 2 or 3
	Advert       string // advert_int: "1", "0.1"
	State        string // MASTER or BACKUP ("" leaves it out)
	Prio         int
	VRID         int    // default 51
	AuthPass     string // VRRPv2 PASS authentication
	NoPreempt    bool
	PreemptDelay string
	// Flag, when set, makes the instance track a vrrp_script that succeeds while the
	// file exists, with weight Weight.
	Flag   string
	Weight int
	// Notify is a file the generic notify script appends its arguments to.
	Notify string
	// Extra is appended to the configuration (virtual_server blocks).
	Extra string
}

// conf renders the keepalived.conf of a director.
func (c inst) conf(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("global_defs {\n    router_id golvs_vrrp_test\n    script_user root\n}\n")
	if c.Flag != "" {
		fmt.Fprintf(&b, "vrrp_script chk_flag {\n    script \"/usr/bin/test -e %s\"\n    interval 1\n    fall 1\n    rise 1\n    weight %d\n}\n", c.Flag, c.Weight)
	}
	vrid := c.VRID
	if vrid == 0 {
		vrid = 51
	}
	b.WriteString("vrrp_instance VI_1 {\n")
	if c.State != "" {
		fmt.Fprintf(&b, "    state %s\n", c.State)
	}
	fmt.Fprintf(&b, "    interface eth0\n    virtual_router_id %d\n    priority %d\n    advert_int %s\n    version %d\n",
		vrid, c.Prio, c.Advert, c.Version)
	if c.AuthPass != "" {
		fmt.Fprintf(&b, "    authentication {\n        auth_type PASS\n        auth_pass %s\n    }\n", c.AuthPass)
	}
	if c.NoPreempt {
		b.WriteString("    nopreempt\n")
	}
	if c.PreemptDelay != "" {
		fmt.Fprintf(&b, "    preempt_delay %s\n", c.PreemptDelay)
	}
	if c.Flag != "" {
		b.WriteString("    track_script {\n        chk_flag\n    }\n")
	}
	if c.Notify != "" {
		fmt.Fprintf(&b, "    notify \"%s %s\"\n", notifyScript(t), c.Notify)
	}
	fmt.Fprintf(&b, "    virtual_ipaddress {\n        %s dev eth0\n    }\n}\n", vipCIDR)
	b.WriteString(c.Extra)
	return b.String()
}

// notifyScript writes (once per test) a notify script that appends its arguments after
// the first to the file named by the first.
func notifyScript(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "notify.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nf=$1\nshift\necho \"$@\" >> \"$f\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// version is one VRRP flavour the scenarios run with.
type version struct {
	name   string
	v      int
	advert string
}

var versions = []version{{"v2", 2, "1"}, {"v3", 3, "0.1"}}
