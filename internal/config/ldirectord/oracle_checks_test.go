package ldirectord

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/config"
)

func sortStrings(s []string) { sort.Strings(s) }

// wantKinds is the checks _check_real runs for a section, as this package maps them.
func wantKinds(v *recVirtual) []config.CheckKind {
	ct, svc := str(v.f["checktype"]), str(v.f["service"])
	udp := strings.HasPrefix(str(v.f["id"]), "udp:")
	var neg []config.CheckKind
	switch svc {
	case "http":
		neg = []config.CheckKind{config.CheckHTTP}
	case "https":
		neg = []config.CheckKind{config.CheckHTTPS}
	case "dns":
		neg = []config.CheckKind{config.CheckDNS}
	case "none":
	default:
		neg = []config.CheckKind{config.CheckNegotiate}
	}
	switch ct {
	case "connect":
		if udp {
			return []config.CheckKind{config.CheckPing}
		}
		return []config.CheckKind{config.CheckTCP}
	case "ping":
		return []config.CheckKind{config.CheckPing}
	case "external", "external-perl":
		return []config.CheckKind{config.CheckExternal}
	case "negotiate":
		return neg
	case "combined":
		if num(v.f["num_connects"]) == 0 || udp {
			return neg
		}
		return append([]config.CheckKind{config.CheckTCP}, neg...)
	}
	return nil
}

// compareChecks compares the checks of real r with what ldirectord would run for rr.
func compareChecks(key string, r *config.Real, v *recVirtual, rr map[string]*string) []string {
	var diffs []string
	add := func(format string, a ...any) {
		diffs = append(diffs, fmt.Sprintf("%s: real %s: ", key, r.AddrPort())+fmt.Sprintf(format, a...))
	}
	want := wantKinds(v)
	var got []config.CheckKind
	for _, c := range r.Checks {
		got = append(got, c.Kind)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		add("checks %v, ldirectord %v (checktype %s, service %s)", got, want, str(v.f["checktype"]), str(v.f["service"]))
		return diffs
	}
	svc := str(v.f["service"])
	interval := time.Duration(num(v.f["interval"])) * time.Second
	ct := time.Duration(num(v.f["checktimeout"])) * time.Second
	nt := time.Duration(num(v.f["negotiatetimeout"])) * time.Second
	receive, err := goRegexp(str(rr["receive"]))
	if str(rr["receive"]) == "" {
		receive = ""
	} else if err != nil {
		receive = "untranslatable"
	}
	req := str(rr["request"])
	for _, c := range r.Checks {
		every := interval
		timeout := nt
		switch {
		case c.Kind == config.CheckTCP || c.Kind == config.CheckPing || c.Kind == config.CheckExternal:
			timeout = ct
		case c.Kind == config.CheckNegotiate && (svc == "ldap" || svc == "ldaps" || svc == "radius"):
			timeout = ct
		}
		if str(v.f["checktype"]) == "combined" && c.Kind != config.CheckTCP {
			every = interval * time.Duration(num(v.f["num_connects"])+1)
		}
		if c.Interval != every || c.RetryDelay != interval || c.Timeout != timeout || c.Retries != num(v.f["failurecount"])-1 {
			add("%s every %s (retry %s) timeout %s retries %d, ldirectord every %s timeout %s failurecount %s",
				c.Kind, c.Interval, c.RetryDelay, c.Timeout, c.Retries, every, timeout, str(v.f["failurecount"]))
		}
		if c.Kind != config.CheckPing && c.Kind != config.CheckExternal && !c.Addr.IsValid() && int(c.Port) != num(rr["checkport"]) {
			add("%s port %d, ldirectord %s", c.Kind, c.Port, str(rr["checkport"]))
		}
		switch c.Kind {
		case config.CheckHTTP, config.CheckHTTPS:
			host := str(rr["server"])
			if c.Addr.IsValid() {
				host = ldAddr(c.Addr, c.Addr.String())
			}
			url := string(c.Kind) + "://" + host + ":" + strconv.Itoa(int(c.Port)) + c.URLs[0].Path
			receive := receive
			if str(v.f["httpmethod"]) == "HEAD" {
				receive = "" // a receive that matches an empty body checks nothing
			}
			if url != str(rr["url"]) || c.URLs[0].Regex != receive || c.VirtualHost != str(v.f["virtualhost"]) || c.Method != str(v.f["httpmethod"]) {
				add("GET %s %q host %q method %s, ldirectord %s %q host %q method %s", url, c.URLs[0].Regex, c.VirtualHost, c.Method,
					str(rr["url"]), receive, str(v.f["virtualhost"]), str(v.f["httpmethod"]))
			}
		case config.CheckDNS:
			name, typ := strings.TrimPrefix(req, "/"), "A"
			if a, err := netip.ParseAddr(name); err == nil {
				name, typ = reverseName(a), "PTR"
			}
			if c.DNSName != name || c.DNSType != typ || c.Receive != receive {
				add("dns %s %s %q, ldirectord %s %s %q", c.DNSType, c.DNSName, c.Receive, typ, name, receive)
			}
		case config.CheckNegotiate:
			wantReq := ""
			switch svc {
			case "ftp":
				wantReq = req
			case "ldap", "ldaps":
				wantReq = req[1:]
			case "simpletcp":
				wantReq = strings.ReplaceAll(req[1:], `\n`, "\n")
			case "mysql", "pgsql", "oracle":
				wantReq = strings.TrimPrefix(req, "/")
			case "http_proxy":
				wantReq = str(rr["url"])
			}
			if c.Service != svc || c.Request != wantReq {
				add("negotiate %s %q, ldirectord %s %q", c.Service, c.Request, svc, wantReq)
			}
			if svc != "sip" && c.Login != "" && (c.Login != str(v.f["login"]) || c.Password != str(v.f["passwd"])) {
				add("login %q %q, ldirectord %q %q", c.Login, c.Password, str(v.f["login"]), str(v.f["passwd"]))
			}
		case config.CheckExternal:
			vserver := str(v.f["server"])
			if v.f["fwm"] != nil {
				vserver = str(v.f["fwm"])
			}
			cmd := strings.Join([]string{quoteArg(str(v.f["checkcommand"])), quoteArg(vserver), quoteArg(str(v.f["port"])),
				quoteArg(str(rr["server"])), quoteArg(str(rr["port"]))}, " ")
			if c.Command != cmd {
				add("command %q, ldirectord runs %q", c.Command, cmd)
			}
		}
	}
	return diffs
}
