// Package config is the canonical configuration of lvsd: the virtual services with their real
// servers, health checks, sorry servers and quorum rules, and the VRRP failover setup. Every
// adapter (keepalived.conf, ldirectord.cf, ipvsadm rules) produces a *Config; nothing here
// knows about engines. Adapters report what they accept but ignore as warnings, and what is
// wrong as errors, each with its file and line.
package config

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/golvs/golvs/internal/lb"
)

// Config is one whole configuration.
type Config struct {
	// Services are the virtual services, in file order.
	Services []*Service
	// Timeouts, when set, are the protocol timeouts the config asks for (ipvsadm --set).
	Timeouts *lb.Timeouts
	// Global holds the global settings lvsd acts on.
	Global Global
	// VRRP is the failover configuration (instances, scripts, sync groups).
	VRRP VRRP
	// Warnings are what the adapter accepted but ignores or changed, in file order.
	Warnings []Diag
}

// Global settings.
type Global struct {
	// RouterID names this director in logs and notifications (keepalived router_id).
	RouterID string
	// Callback is run when the configuration file changed and was reloaded (ldirectord
	// callback, as its check_cfgfile runs it), with the file name as its argument.
	Callback string
	// AutoReload: reload the file when it changes (ldirectord autoreload).
	AutoReload bool
}

// Pos is where something was defined.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return fmt.Sprintf("line %d", p.Line)
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Diag is a warning or an error about a configuration, at a position.
type Diag struct {
	Pos
	Msg string
}

func (d Diag) String() string { return d.Pos.String() + ": " + d.Msg }

// Errors is the error of a configuration that has one or more errors; a configuration with
// errors is refused as a whole.
type Errors []Diag

func (e Errors) Error() string {
	var b strings.Builder
	for i, d := range e {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(d.String())
	}
	return b.String()
}

// Service is a virtual service with its real servers and health-check rules.
type Service struct {
	// Service holds the key, scheduler, flags, persistence and PE. Its Reals are empty: the
	// reals are below, and which of them are in the table depends on their health.
	lb.Service
	Pos Pos
	// Group is the name of the virtual_server_group the service came from, "" if none.
	Group string
	Reals []*Real
	// Sorry is the sorry server (keepalived sorry_server, ldirectord fallback): installed
	// when the service loses quorum (by default: when no real is alive), removed when it
	// regains it.
	Sorry *Sorry
	// Quorum is the sum of the weights of alive reals the service needs (default 1), with
	// Hysteresis: quorum is lost below Quorum-Hysteresis and regained at Quorum+Hysteresis.
	Quorum, Hysteresis uint32
	// QuorumUp and QuorumDown are commands run when quorum is regained or lost.
	QuorumUp, QuorumDown string
	// Alpha: reals start down and come up with their first successful check (default: up).
	Alpha bool
	// Omega: at shutdown, notify_down of every real in the table and then QuorumDown run
	// (keepalived; a reload that removes a service notifies whatever Omega says).
	Omega bool
	// HASuspend: checks are suspended while the service's VIP is not on this director.
	HASuspend bool
	// VirtualHost is the default Host header of HTTP checks.
	VirtualHost string
}

// Sorry is a sorry server.
type Sorry struct {
	Addr    netip.Addr
	Port    uint16
	Forward lb.Forward
	// Inhibit keeps the sorry server in the table with weight 0 while it is not needed,
	// instead of removing it (keepalived sorry_server_inhibit).
	Inhibit bool
}

// Real is a real server of a service.
type Real struct {
	// Real holds address, port, forwarding method, configured weight and thresholds.
	lb.Real
	Pos Pos
	// InhibitOnFailure: a failed real stays in the table with weight 0 (so its established
	// connections keep flowing) instead of being removed (keepalived inhibit_on_failure,
	// ldirectord quiescent=yes).
	InhibitOnFailure bool
	// NotifyUp and NotifyDown are commands run when the real comes up or goes down.
	NotifyUp, NotifyDown string
	// Checks must all pass for the real to be up. No checks: always up.
	Checks []*Check
}

// CheckKind is the kind of a health check.
type CheckKind string

// Check kinds.
const (
	CheckTCP      CheckKind = "tcp"      // TCP connect (TCP_CHECK, checktype=connect)
	CheckHTTP     CheckKind = "http"     // HTTP GET (HTTP_GET, negotiate with service=http)
	CheckHTTPS    CheckKind = "https"    // HTTPS GET (SSL_GET, negotiate with service=https)
	CheckExternal CheckKind = "external" // a command (MISC_CHECK, checktype=external)
	CheckDNS      CheckKind = "dns"      // a DNS query (DNS_CHECK, service=dns)
	CheckPing     CheckKind = "ping"     // ICMP echo (PING_CHECK, checktype=ping)
	CheckSMTP     CheckKind = "smtp"     // SMTP greeting and HELO (SMTP_CHECK, service=smtp)
	// CheckNegotiate is ldirectord's negotiate for other services (ftp, imap, pop, ldap,
	// mysql, ...): Service says which, with Request/Receive/Login/Password.
	CheckNegotiate CheckKind = "negotiate"
)

// Check is one health check of a real server.
type Check struct {
	Kind CheckKind
	Pos  Pos
	// Addr and Port are where to connect; zero means the real's address and port.
	Addr netip.Addr
	Port uint16
	// BindAddr and BindPort are the local address and port to check from; zero: any.
	BindAddr netip.Addr
	BindPort uint16
	// Interval is the time between two checks (keepalived delay_loop, ldirectord
	// checkinterval).
	Interval time.Duration
	// Timeout bounds one check (connect_timeout, checktimeout/negotiatetimeout, misc_timeout).
	Timeout time.Duration
	// Retries is how many more times a failed check is tried, RetryDelay apart, before the
	// real is declared down (keepalived retry/nb_get_retry; ldirectord failurecount - 1).
	Retries    int
	RetryDelay time.Duration
	// Warmup is the longest random delay before the first check (keepalived warmup).
	Warmup time.Duration

	// HTTP and HTTPS.
	URLs        []URL
	VirtualHost string // Host header; "" = the service's, else the address
	Method      string // "GET" (default) or "HEAD"
	SNI         bool   // send the virtual host as TLS SNI (SSL_GET enable_sni)

	// External (MISC_CHECK): the command line, run with a timeout. With Dynamic, exit codes
	// 2..255 set the real's weight to code-2 (misc_dynamic); 0 is up, 1 is down.
	Command string
	Dynamic bool

	// DNS.
	DNSType string // A, AAAA, MX, ... (default SOA)
	DNSName string // the name queried (default ".")

	// Negotiate (ldirectord): the service spoken, what to send and what to expect.
	Service  string
	Request  string
	Receive  string // a regular expression, as ldirectord's receive=
	Login    string
	Password string
}

// URL is one URL an HTTP(S) check fetches; every URL of a check must pass.
type URL struct {
	Path string
	// Digest is the expected MD5 of the body, lower-case hex ("" = not checked).
	Digest string
	// Status are the accepted status codes; empty means 200-299.
	Status []StatusRange
	// Regex, when set, must match the body (ldirectord receive=).
	Regex string
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Min, Max int }

// Desired returns the table the configuration asks for when every real is up: each service
// with all its reals at their configured weights. Health checks then remove reals or set
// their weight to 0, and may add sorry servers; see package health.
func (c *Config) Desired(cat lb.Catalog) (*lb.State, error) {
	st := &lb.State{Timeouts: lb.DefaultTimeouts}
	if c.Timeouts != nil {
		st.Timeouts = *c.Timeouts
	}
	var errs Errors
	for _, s := range c.Services {
		svc := s.Service
		svc.Reals = nil
		for _, r := range s.Reals {
			svc.Reals = append(svc.Reals, r.Real)
		}
		if err := st.AddService(&svc, cat); err != nil {
			errs = append(errs, Diag{s.Pos, err.Error()})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return st, nil
}
