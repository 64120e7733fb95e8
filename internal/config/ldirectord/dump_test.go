package ldirectord

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// dump writes cfg in a stable text form for golden files: one line per service, sorry
// server, real and check, with every field that is set; warnings last.
func dump(cfg *config.Config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global callback=%q autoreload=%v\n", cfg.Global.Callback, cfg.Global.AutoReload)
	for _, s := range cfg.Services {
		fmt.Fprintf(&b, "service %s line=%d sched=%s", s.ServiceKey, s.Pos.Line, s.Scheduler)
		if s.Persistent() {
			fmt.Fprintf(&b, " persistent=%d", s.Timeout)
		}
		fmt.Fprintf(&b, " netmask=%s", netmask(&s.Service))
		if s.Flags&lb.OnePacket != 0 {
			b.WriteString(" ops")
		}
		if f := s.SchedFlagNames(); f != "" {
			fmt.Fprintf(&b, " schedflags=%s", f)
		}
		fmt.Fprintf(&b, " quorum=%d hysteresis=%d alpha=%v omega=%v\n", s.Quorum, s.Hysteresis, s.Alpha, s.Omega)
		if s.QuorumUp != "" || s.QuorumDown != "" {
			fmt.Fprintf(&b, "  quorum_up=%q quorum_down=%q\n", s.QuorumUp, s.QuorumDown)
		}
		if s.Sorry != nil {
			fmt.Fprintf(&b, "  sorry %s %s inhibit=%v\n", netip.AddrPortFrom(s.Sorry.Addr, s.Sorry.Port), s.Sorry.Forward, s.Sorry.Inhibit)
		}
		for _, r := range s.Reals {
			fmt.Fprintf(&b, "  real %s %s weight=%d line=%d", r.AddrPort(), r.Forward, r.Weight, r.Pos.Line)
			if r.UThreshold != 0 || r.LThreshold != 0 {
				fmt.Fprintf(&b, " x=%d y=%d", r.UThreshold, r.LThreshold)
			}
			fmt.Fprintf(&b, " inhibit=%v\n", r.InhibitOnFailure)
			for _, c := range r.Checks {
				b.WriteString("    " + dumpCheck(c) + "\n")
			}
		}
	}
	for _, w := range cfg.Warnings {
		fmt.Fprintf(&b, "warning %s\n", w)
	}
	return b.String()
}

func netmask(s *lb.Service) string {
	if s.Is6() {
		return fmt.Sprint(s.Netmask)
	}
	return fmt.Sprintf("%#08x", s.Netmask)
}

func dumpCheck(c *config.Check) string {
	var b strings.Builder
	fmt.Fprintf(&b, "check %s", c.Kind)
	if c.Addr.IsValid() {
		fmt.Fprintf(&b, " addr=%s", c.Addr)
	}
	if c.Port != 0 {
		fmt.Fprintf(&b, " port=%d", c.Port)
	}
	fmt.Fprintf(&b, " interval=%s timeout=%s retries=%d retry_delay=%s", c.Interval, c.Timeout, c.Retries, c.RetryDelay)
	for _, u := range c.URLs {
		fmt.Fprintf(&b, " url=%q", u.Path)
		if u.Regex != "" {
			fmt.Fprintf(&b, " regex=%q", u.Regex)
		}
	}
	str := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, " %s=%q", name, v)
		}
	}
	str("vhost", c.VirtualHost)
	str("method", c.Method)
	str("command", c.Command)
	str("dns_type", c.DNSType)
	str("dns_name", c.DNSName)
	str("service", c.Service)
	str("request", c.Request)
	str("receive", c.Receive)
	str("login", c.Login)
	str("password", c.Password)
	return b.String()
}
