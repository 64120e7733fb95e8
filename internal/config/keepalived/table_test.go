package keepalived

import (
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/golvs/golvs/internal/config"
)

// mapFS makes an in-memory file system from names and contents.
func mapFS(files map[string]string) fstest.MapFS {
	m := fstest.MapFS{}
	for n, s := range files {
		m[n] = &fstest.MapFile{Data: []byte(s)}
	}
	return m
}

// parseString parses src as the file k.conf.
func parseString(src string, opts Options) (*config.Config, config.Errors) {
	cfg, err := Parse(mapFS(map[string]string{"k.conf": src}), "k.conf", opts)
	if err != nil {
		errs, _ := err.(config.Errors)
		if errs == nil {
			errs = config.Errors{{Msg: err.Error()}}
		}
		return cfg, errs
	}
	return cfg, nil
}

// checkDiags verifies that every "N: text" of want is a diagnostic of got at line N.
func checkDiags(t *testing.T, what string, got []config.Diag, want []string) {
	t.Helper()
	for _, w := range want {
		line, text, _ := strings.Cut(w, ": ")
		found := false
		for _, d := range got {
			if d.Pos.String() == "k.conf:"+line && strings.Contains(d.Msg, text) {
				found = true
			}
		}
		if !found {
			t.Errorf("want %s at line %s containing %q; got %v", what, line, text, got)
		}
	}
	if len(want) == 0 && len(got) > 0 {
		t.Errorf("want no %s, got %v", what, got)
	}
}

// vsWrap puts body in a virtual_server with one real server whose block is rs; the
// virtual_server keyword is on line 1, body starts on line 2.
func vsWrap(body, rs string) string {
	return "virtual_server 192.0.2.1 80 {\n" + body + "\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 10.0.0.1 80 {\n" + rs + "\n}\n}\n"
}

// TestParseTable covers the keyword families: input, a check of the Config, and the errors
// and warnings wanted ("LINE: substring").
func TestParseTable(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		opts   Options
		check  func(*testing.T, *config.Config)
		errs   []string
		warns  []string
		anyWrn bool // other warnings allowed
	}{
		{name: "router_id and ignored globals", src: "global_defs {\nrouter_id R1\nsmtp_server 1.2.3.4\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.Global.RouterID, "R1") },
			warns: []string{"3: lvsd ignores 'smtp_server'"}},
		{name: "lvs_timeouts", src: "global_defs {\nlvs_timeouts tcp 7200 udp 60\n}\n",
			check: func(t *testing.T, c *config.Config) {
				eq(t, c.Timeouts.TCP, uint32(7200))
				eq(t, c.Timeouts.TCPFin, uint32(120))
				eq(t, c.Timeouts.UDP, uint32(60))
			}},
		{name: "lvs_timeouts bad", src: "global_defs {\nlvs_timeouts tcp x\n}\n", errs: []string{"2: invalid number 'x'"}},
		{name: "scheduler and flags", src: "virtual_server 192.0.2.1 80 {\nlvs_sched mh\nmh-port\nmh-fallback\nflag-3\nlb_kind NAT\nprotocol TCP\nreal_server 10.0.0.1 80 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) {
				s := c.Services[0]
				eq(t, s.Scheduler, "mh")
				eq(t, uint32(s.Flags), uint32(0x38))
			}, errs: nil, anyWrn: true},
		{name: "sh-port with rr", src: vsWrap("sh-port", ""), warns: []string{"2: sh-port only applies to sh scheduler - ignoring"}},
		{name: "hashed ignored", src: vsWrap("hashed", ""), warns: []string{"2: lvsd ignores 'hashed'"}},
		{name: "persistence default and granularity", src: vsWrap("persistence_timeout\npersistence_granularity 255.255.0.0\npersistence_engine sip", ""),
			check: func(t *testing.T, c *config.Config) {
				s := c.Services[0]
				eq(t, s.Timeout, uint32(360))
				eq(t, s.Netmask, uint32(0xffff0000))
				eq(t, s.PE, "sip")
				eq(t, s.Persistent(), true)
			}},
		{name: "ipv6 granularity", src: "virtual_server 2001:db8::1 80 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\npersistence_granularity 64\nreal_server 2001:db8::10 80 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) {
				eq(t, c.Services[0].Netmask, uint32(64))
				eq(t, c.Services[0].Timeout, uint32(360))
			}},
		{name: "ipv6 granularity bad", src: "virtual_server 2001:db8::1 80 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\npersistence_granularity 129\nreal_server 2001:db8::10 80 {\n}\n}\n",
			errs: []string{"5: Invalid IPv6 persistence_granularity specified - 129"}},
		{name: "protocol sctp and ops udp", src: "virtual_server 192.0.2.1 80 {\nlb_algo rr\nlb_kind NAT\nprotocol sctp\nreal_server 10.0.0.1 80 {\n}\n}\nvirtual_server 192.0.2.1 53 {\nlb_algo rr\nlb_kind NAT\nprotocol UDP\nops\nreal_server 10.0.0.1 53 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) {
				eq(t, c.Services[0].Protocol.String(), "SCTP")
				eq(t, uint32(c.Services[1].Flags), uint32(0x4))
			}},
		{name: "tunnel gue", src: vsWrap("", "lvs_method TUN type gue port 6080 csum"),
			check: func(t *testing.T, c *config.Config) {
				r := c.Services[0].Reals[0]
				eq(t, r.Forward.String(), "Tunnel")
				eq(t, r.TunType.String(), "gue")
				eq(t, r.TunPort, uint16(6080))
				eq(t, uint16(r.TunFlags), uint16(1))
			}},
		{name: "tunnel gue without port", src: vsWrap("", "lvs_method TUN type gue"), errs: []string{"7: needs 'port N'"}},
		{name: "real server settings", src: vsWrap("inhibit_on_failure", "weight 0\nuthreshold 100\nlthreshold 10\nnotify_up /bin/up.sh\nnotify_down \"/bin/down.sh 'x y'\"\ninhibit_on_failure off"),
			check: func(t *testing.T, c *config.Config) {
				r := c.Services[0].Reals[0]
				eq(t, r.Weight, int32(0))
				eq(t, r.UThreshold, uint32(100))
				eq(t, r.LThreshold, uint32(10))
				eq(t, r.NotifyUp, "/bin/up.sh")
				eq(t, strings.Join(argv(r.NotifyDown), "|"), "/bin/down.sh|x y")
				eq(t, r.InhibitOnFailure, false)
			}, anyWrn: true},
		{name: "thresholds reversed", src: vsWrap("", "uthreshold 5\nlthreshold 10"), errs: []string{"6: lthreshold 10 is above uthreshold 5"}},
		{name: "notify user ignored", src: vsWrap("", "notify_up /bin/up.sh nobody"), warns: []string{"7: lvsd ignores the user/group"}},
		{name: "sorry server", src: vsWrap("sorry_server 10.9.9.9\nsorry_server_inhibit\nsorry_server_lvs_method DR", ""),
			check: func(t *testing.T, c *config.Config) {
				s := c.Services[0].Sorry
				eq(t, s.Addr.String(), "10.9.9.9")
				eq(t, s.Port, uint16(80))
				eq(t, s.Forward.String(), "Route")
				eq(t, s.Inhibit, true)
			}},
		{name: "quorum and hysteresis", src: vsWrap("quorum 1\nhysteresis 1", ""), warns: []string{"1: hysteresis 1 >= quorum 1; setting hysteresis to 0"}},
		{name: "quorum 0", src: vsWrap("quorum 0", ""), errs: []string{"2: Condition not met: Quorum >= 1"}},
		{name: "checker inheritance", src: vsWrap("delay_loop 20\nconnect_timeout 4\nretry 5\ndelay_before_retry 7\nwarmup 9", "delay_loop 10\nTCP_CHECK {\nretry 2\n}\nSSL_GET {\nurl {\npath /\n}\n}\nDNS_CHECK {\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\n"),
			check: func(t *testing.T, c *config.Config) {
				ch := c.Services[0].Reals[0].Checks
				eq(t, len(ch), 4)
				eq(t, ch[0].Interval.String()+" "+ch[0].Timeout.String()+" "+strconvI(ch[0].Retries)+" "+ch[0].RetryDelay.String()+" "+ch[0].Warmup.String(), "10s 4s 2 7s 9s")
				eq(t, ch[1].Retries, 5)
				eq(t, ch[2].DNSType+" "+ch[2].DNSName, "SOA .")
				eq(t, ch[3].Timeout.String(), "20s") // misc: the virtual server's delay_loop
			}},
		{name: "checker defaults", src: vsWrap("", "HTTP_GET {\nurl {\npath /\n}\n}\nDNS_CHECK {\ndelay_loop 4\n}\nMISC_CHECK {\nmisc_path /bin/true\n}\nTCP_CHECK {\n}\n"),
			check: func(t *testing.T, c *config.Config) {
				ch := c.Services[0].Reals[0].Checks
				eq(t, ch[0].Interval.String()+" "+ch[0].Timeout.String()+" "+strconvI(ch[0].Retries)+" "+ch[0].RetryDelay.String()+" "+ch[0].Warmup.String(), "1m0s 5s 1 3s 1m0s")
				eq(t, strconvI(ch[1].Retries)+" "+ch[1].RetryDelay.String(), "3 4s")
				eq(t, strconvI(ch[2].Retries)+" "+ch[2].Timeout.String(), "0 1m0s")
				eq(t, ch[3].RetryDelay.String(), "1s")
			}},
		{name: "url", src: vsWrap("virtualhost vs.example", "HTTP_GET {\nurl {\npath /a\ndigest 9B3A0C85A887A256D6939DA88AABD8CD\nstatus_code 200 300-399\nregex ^ok\n}\nconnect_ip 10.0.0.9\nconnect_port 8080\nbindto 10.0.0.2\nbind_port 4000\n}"),
			check: func(t *testing.T, c *config.Config) {
				k := c.Services[0].Reals[0].Checks[0]
				u := k.URLs[0]
				eq(t, u.Digest, "9b3a0c85a887a256d6939da88aabd8cd")
				eq(t, len(u.Status), 2)
				eq(t, u.Status[1], config.StatusRange{Min: 300, Max: 399})
				eq(t, u.Regex, "^ok")
				eq(t, k.VirtualHost, "vs.example")
				eq(t, k.Addr.String()+" "+strconvI(int(k.Port)), "10.0.0.9 8080")
				eq(t, k.BindAddr.String()+" "+strconvI(int(k.BindPort)), "10.0.0.2 4000")
			}},
		{name: "bad digest", src: vsWrap("", "HTTP_GET {\nurl {\npath /\ndigest xyz\n}\n}"), errs: []string{"10: digest 'xyz' is not an MD5 digest"}},
		{name: "http without url", src: vsWrap("", "HTTP_GET {\n}"), errs: []string{"7: HTTP_GET has no url"}},
		{name: "connect_port range", src: vsWrap("", "TCP_CHECK {\nconnect_port 70000\n}"), errs: []string{"8: Invalid checker connect_port '70000'"}},
		{name: "misc user and dynamic", src: vsWrap("", "MISC_CHECK {\nmisc_path /bin/x.sh a b\nmisc_dynamic\nuser nobody\n}"),
			check: func(t *testing.T, c *config.Config) {
				k := c.Services[0].Reals[0].Checks[0]
				eq(t, k.Command, "/bin/x.sh a b")
				eq(t, k.Dynamic, true)
			}, warns: []string{"10: lvsd ignores 'user' of MISC_CHECK"}},
		{name: "udp_check ignored", src: vsWrap("", "UDP_CHECK {\n}"), warns: []string{"7: lvsd ignores 'UDP_CHECK'"}},
		{name: "dns type bad", src: vsWrap("", "DNS_CHECK {\ntype ANY\n}"), errs: []string{"8: DNS_CHECK: unknown type 'ANY'"}},
		{name: "fwmark DR port cleared", src: "virtual_server fwmark 3 {\nlb_algo rr\nlb_kind DR\nreal_server 10.0.0.1 80 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) {
				eq(t, c.Services[0].FWMark, uint32(3))
				eq(t, c.Services[0].Reals[0].Port, uint16(0))
			}, warns: []string{"4: has port specified - clearing"}},
		{name: "fwmark inet6", src: "virtual_server fwmark 3 {\nip_family inet6\nlb_algo rr\nlb_kind TUN\nreal_server 10.0.0.1 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.Services[0].Is6(), true) }},
		{name: "group range and missing group", src: "virtual_server_group G {\n10.0.0.1-3 80\n2001:db8::1-a 443\n10.1.0.0/30 25\n}\nvirtual_server group G {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 10.0.0.9 {\n}\n}\nvirtual_server group H {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 10.0.0.9 {\n}\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, len(c.Services), 0) },
			errs:  []string{"13: virtual_server_group H not found", "6: virtual_server_group G mixes IPv4 and IPv6"}},
		{name: "group bad range", src: "virtual_server_group G {\n10.0.0.9-3 80\n}\n", errs: []string{"2: VS group G: invalid address range"}, anyWrn: true},
		{name: "duplicate service", src: vsWrap("", "") + vsWrap("", ""), errs: []string{"10: virtual server -t 192.0.2.1:80 is already defined at k.conf:1"}},
		{name: "real family mismatch", src: vsWrap("", "") + "virtual_server 192.0.2.2 80 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\nreal_server 2001:db8::1 80 {\n}\n}\n",
			errs: []string{"14: Address family of virtual server and real server 2001:db8::1 don't match"}, anyWrn: true},
		{name: "comments quotes braces", src: "global_defs { router_id \"my # router\" ! comment\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.Global.RouterID, "my # router") }},
		{name: "allman braces", src: "global_defs\n{\nrouter_id R2\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.Global.RouterID, "R2") }},
		{name: "unterminated quote", src: "global_defs {\nrouter_id \"abc\n}\n", errs: []string{"2: unterminated quoted string"}},
		{name: "definitions", src: "$ID=R9\n$MULTI= \\\nrouter_id ${ID} \\\n\nglobal_defs {\n$MULTI\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.Global.RouterID, "R9") }},
		{name: "conditionals", src: "global_defs {\n@a router_id A\n@b router_id B\n@^a router_id NOTA\n}\n", opts: Options{ConfigID: "a"},
			check: func(t *testing.T, c *config.Config) { eq(t, c.Global.RouterID, "A") },
			warns: []string{"3: line skipped: '@b' does not match config id 'a'", "4: line skipped: '@^a'"}},
		{name: "seq refused", src: "~SEQ(X, 1, 3) global_defs {\n}\n", errs: []string{"1: lvsd does not support keepalived's ~SEQ"}},
		{name: "include missing", src: "include nothing/*.conf\nincludea nothing.conf\n", warns: []string{"1: include nothing/*.conf matches no file"}, errs: []string{"2: includea nothing.conf matches no file"}},
		{name: "vrrp instance full", src: "vrrp_script s {\nscript \"/bin/true\"\ninterval 3\nweight 10\nrise 2\nfall 4\n}\nvrrp_instance V {\nstate BACKUP\ninterface eth0\nvirtual_router_id 7\npriority 90\nadvert_int 0.25\nversion 3\npreempt_delay 4.5\nvirtual_ipaddress {\n10.0.0.7/24 dev eth1 label eth1:7 scope link\n10.0.0.8\n}\ntrack_script {\ns weight -5\n}\nnotify_stop /bin/stop.sh\n}\n",
			check: func(t *testing.T, c *config.Config) {
				in := c.VRRP.Instances[0]
				eq(t, in.Version, 3)
				eq(t, in.AdvertInt.String(), "250ms")
				eq(t, in.PreemptDelay.String(), "4.5s")
				eq(t, in.Addresses[0].Prefix.String()+" "+in.Addresses[0].Dev+" "+in.Addresses[0].Label+" "+in.Addresses[0].Scope, "10.0.0.7/24 eth1 eth1:7 link")
				eq(t, in.Addresses[1].Prefix.String(), "10.0.0.8/32")
				eq(t, in.TrackScripts[0], config.TrackScript{Name: "s", Weight: -5, HasWeight: true})
				eq(t, in.NotifyStop, "/bin/stop.sh")
				sc := c.VRRP.Scripts[0]
				eq(t, sc.Interval.String()+" "+sc.Timeout.String()+" "+strconvI(sc.Weight)+" "+strconvI(sc.Rise)+" "+strconvI(sc.Fall), "3s 3s 10 2 4")
			}},
		{name: "vrrp nopreempt with state MASTER", src: "vrrp_instance V {\nstate MASTER\ninterface eth0\nvirtual_router_id 7\npriority 100\nnopreempt\n}\n",
			warns: []string{"6: (V) Warning - nopreempt will not work with initial state MASTER - clearing"},
			check: func(t *testing.T, c *config.Config) { eq(t, c.VRRP.Instances[0].NoPreempt, false) }},
		{name: "vrrp state unset stays unset", src: "vrrp_instance V {\ninterface eth0\nvirtual_router_id 7\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.VRRP.Instances[0].InitialState, "") }},
		{name: "vrrp AH", src: "vrrp_instance V {\ninterface eth0\nvirtual_router_id 7\nauthentication {\nauth_type AH\nauth_pass x\n}\n}\n",
			warns: []string{"5: lvsd does not support IPSEC AH"}},
		{name: "vrrp ipv6 forces v3", src: "vrrp_instance V {\ninterface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n2001:db8::7/64\n}\n}\n",
			check: func(t *testing.T, c *config.Config) { eq(t, c.VRRP.Instances[0].Version, 3) }},
		{name: "vrrp mixed families", src: "vrrp_instance V {\ninterface eth0\nvirtual_router_id 7\nvirtual_ipaddress {\n10.0.0.1\n2001:db8::7/64\n}\n}\n",
			errs: []string{"1: (V) virtual_ipaddress mixes IPv4 and IPv6"}},
		{name: "vrrp unicast same vrid different peers", src: "vrrp_instance A {\ninterface eth0\nvirtual_router_id 7\nunicast_peer {\n10.0.0.1\n}\n}\nvrrp_instance B {\ninterface eth0\nvirtual_router_id 7\nunicast_peer {\n10.0.0.2\n}\n}\n"},
		{name: "vrrp no interface", src: "vrrp_instance A {\nvirtual_router_id 7\n}\n", errs: []string{"1: (A) no interface specified"}},
		{name: "vrrp unknown keyword", src: "vrrp_instance A {\ninterface eth0\nvirtual_router_id 7\npriorty 5\n}\n", errs: []string{"4: Unknown keyword 'priorty'"}},
		{name: "vrrp ignored keyword", src: "vrrp_instance A {\ninterface eth0\nvirtual_router_id 7\nuse_vmac\n}\n", warns: []string{"4: lvsd ignores 'use_vmac'"}},
		{name: "vrrp track reverse", src: "vrrp_script s {\nscript /bin/true\n}\nvrrp_instance A {\ninterface eth0\nvirtual_router_id 7\ntrack_script {\ns weight 5 reverse\n}\n}\n", errs: []string{"8: lvsd does not support 'reverse'"}},
		{name: "vrrp script without script", src: "vrrp_script s {\ninterval 2\n}\n", errs: []string{"1: vrrp_script s has no script"}},
		{name: "sync group twice and sync daemon", src: "global_defs {\nlvs_sync_daemon eth1 A id 3\n}\nvrrp_instance A {\ninterface eth0\nvirtual_router_id 7\n}\nvrrp_instance B {\ninterface eth0\nvirtual_router_id 8\n}\nvrrp_sync_group G {\ngroup {\nA B\n}\n}\nvrrp_sync_group H {\ngroup {\nA\n}\n}\n",
			check: func(t *testing.T, c *config.Config) {
				eq(t, c.VRRP.Instances[0].SyncDaemon.Interface, "eth1")
				eq(t, c.VRRP.Instances[0].SyncDaemon.SyncID, 3)
				eq(t, strings.Join(c.VRRP.SyncGroups[0].Instances, ","), "A,B")
			},
			errs: []string{"19: Virtual router A cannot exist in more than one sync group"}},
		{name: "sync daemon unknown instance", src: "global_defs {\nlvs_sync_daemon eth1 Z\n}\n", errs: []string{"2: lvs_sync_daemon vrrp instance Z not found"}},
		{name: "missing value", src: "global_defs {\nrouter_id\n}\n", errs: []string{"2: 'router_id' needs a value"}},
		{name: "block on simple keyword", src: "global_defs {\nrouter_id x {\n}\n}\n", errs: []string{"2: 'router_id' takes no block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, errs := parseString(tt.src, tt.opts)
			checkDiags(t, "error", errs, tt.errs)
			if !tt.anyWrn || len(tt.warns) > 0 {
				if tt.anyWrn {
					checkDiags(t, "warning", cfg.Warnings, tt.warns)
				} else {
					checkDiags(t, "warning", cfg.Warnings, tt.warns)
				}
			}
			if tt.check != nil && !t.Failed() {
				tt.check(t, cfg)
			}
		})
	}
}

func eq[T comparable](t *testing.T, got, want T) {
	t.Helper()
	if got != want {
		t.Errorf("got %v, want %v", got, want)
	}
}

func strconvI(i int) string { return strconv.Itoa(i) }

func TestInclude(t *testing.T) {
	fsys := mapFS(map[string]string{
		"etc/k.conf":           "global_defs {\nrouter_id R\n}\ninclude conf.d/*.conf\n",
		"etc/conf.d/a.conf":    "virtual_server 192.0.2.1 80 {\nlb_algo rr\nlb_kind NAT\nprotocol TCP\ninclude ../rs/*.conf\n}\n",
		"etc/rs/one.conf":      "real_server 10.0.0.1 80 {\n}\n",
		"etc/rs/two.conf":      "real_server 10.0.0.2 80 {\nbogus\n}\n",
		"etc/conf.d/loop.conf": "include /etc/k.conf\n",
	})
	cfg, err := Parse(fsys, "etc/k.conf", Options{})
	if _, ok := err.(config.Errors); !ok {
		t.Fatalf("want config.Errors, got %v", err)
	}
	want := []string{"etc/rs/two.conf:2: Unknown keyword 'bogus'", "etc/conf.d/loop.conf:1: include loop"}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("want %q in %v", w, err)
		}
	}
	eq(t, len(cfg.Services[0].Reals), 2)
}
