package health

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

func TestNewCheckerErrors(t *testing.T) {
	url := func(u config.URL) []config.URL { return []config.URL{u} }
	tests := []struct {
		name  string
		check *config.Check
		want  string
	}{
		{"nil", nil, "health: nil check"},
		{"no kind", &config.Check{}, "health: check kind missing"},
		{"unknown kind", &config.Check{Kind: "gopher"}, `health: unknown check kind "gopher"`},
		{"http without url", &config.Check{Kind: config.CheckHTTP}, "health: HTTP check has no url"},
		{"url without path", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{})}, "health: url with no path"},
		{"bad regex", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{Path: "/", Regex: "a("})}, `health: url /: regex "a(": error parsing regexp`},
		{"perl regex", &config.Check{Kind: config.CheckHTTPS, URLs: url(config.URL{Path: "/", Regex: `(?<=up)`})}, `health: url /: regex "(?<=up)"`},
		{"short digest", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{Path: "/x", Digest: "abc"})}, `health: url /x: digest "abc" is not 32 hex digits`},
		{"non-hex digest", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{Path: "/x", Digest: strings.Repeat("g", 32)})}, "is not 32 hex digits"},
		{"status below 100", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{Path: "/", Status: []config.StatusRange{{Min: 99, Max: 200}}})}, "health: url /: status range 99-200 outside 100-599"},
		{"status reversed", &config.Check{Kind: config.CheckHTTP, URLs: url(config.URL{Path: "/", Status: []config.StatusRange{{Min: 300, Max: 200}}})}, "status range 300-200"},
		{"method", &config.Check{Kind: config.CheckHTTP, Method: "POST", URLs: url(config.URL{Path: "/"})}, `health: HTTP method "POST": want GET or HEAD`},
		{"HEAD with digest", &config.Check{Kind: config.CheckHTTP, Method: "head", URLs: url(config.URL{Path: "/", Digest: upDigest})}, "health: url /: a digest or regex needs method GET, not HEAD"},
		{"no command", &config.Check{Kind: config.CheckExternal, Command: "  "}, "health: external check has no command"},
		{"unmatched quote", &config.Check{Kind: config.CheckExternal, Command: "/bin/check 'a b"}, `health: external command "/bin/check 'a b": `},
		{"DNS type", &config.Check{Kind: config.CheckDNS, DNSType: "SRV"}, `health: unknown DNS type "SRV" (want A, NS, CNAME, SOA, PTR, MX, TXT or AAAA)`},
		{"DNS label", &config.Check{Kind: config.CheckDNS, DNSName: strings.Repeat("a", 64) + ".org"}, "label \"aaaa"},
		{"DNS empty label", &config.Check{Kind: config.CheckDNS, DNSName: "a..org"}, `health: DNS name "a..org": label "" must have 1 to 63 characters`},
		{"DNS receive", &config.Check{Kind: config.CheckDNS, Receive: "["}, `health: DNS receive regex "["`},
		{"negotiate without service", &config.Check{Kind: config.CheckNegotiate}, "health: negotiate check without a service"},
		{"pgsql", &config.Check{Kind: config.CheckNegotiate, Service: "pgsql"}, `health: negotiate service "pgsql" is not supported`},
		{"oracle", &config.Check{Kind: config.CheckNegotiate, Service: "oracle"}, `negotiate service "oracle" is not supported`},
		{"radius", &config.Check{Kind: config.CheckNegotiate, Service: "radius"}, `negotiate service "radius" is not supported`},
		{"sip", &config.Check{Kind: config.CheckNegotiate, Service: "sip"}, `negotiate service "sip" is not supported`},
		{"http_proxy", &config.Check{Kind: config.CheckNegotiate, Service: "http_proxy", Request: "/index.html"}, `health: http_proxy request "/index.html" is not an http:// URL`},
		{"unknown service", &config.Check{Kind: config.CheckNegotiate, Service: "gopher"}, `health: unknown negotiate service "gopher"`},
		{"receive regex", &config.Check{Kind: config.CheckNegotiate, Service: "ftp", Receive: "*"}, `health: negotiate ftp: receive regex "*"`},
		{"simpletcp without receive", &config.Check{Kind: config.CheckNegotiate, Service: "simpletcp", Request: "/x"}, "health: negotiate simpletcp needs a receive regex"},
		{"negotiate http without request", &config.Check{Kind: config.CheckNegotiate, Service: "http"}, "health: HTTP check has no url"},
	}
	tg := Target{Addr: netip.MustParseAddrPort("127.0.0.1:80")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ck, err := NewChecker(tt.check, tg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewChecker = %v, %v; want error containing %q", ck, err, tt.want)
			}
		})
	}
}

func TestNewCheckerKinds(t *testing.T) {
	tests := []struct {
		check config.Check
		want  string
	}{
		{config.Check{Kind: config.CheckTCP}, "*health.TCPChecker"},
		{config.Check{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/"}}}, "*health.HTTPChecker"},
		{config.Check{Kind: config.CheckHTTPS, URLs: []config.URL{{Path: "/", Digest: strings.ToUpper(upDigest), Regex: "up"}}}, "*health.HTTPChecker"},
		{config.Check{Kind: config.CheckExternal, Command: "/bin/true"}, "*health.ExternalChecker"},
		{config.Check{Kind: config.CheckDNS, DNSType: "aaaa", DNSName: "example.org."}, "*health.DNSChecker"},
		{config.Check{Kind: config.CheckPing}, "*health.PingChecker"},
		{config.Check{Kind: config.CheckSMTP}, "*health.SMTPChecker"},
		{config.Check{Kind: config.CheckNegotiate, Service: "SMTP"}, "*health.SMTPChecker"},
		{config.Check{Kind: config.CheckNegotiate, Service: "https", Request: "/", Receive: "ok"}, "*health.HTTPChecker"},
		{config.Check{Kind: config.CheckNegotiate, Service: "dns", Request: "/example.org"}, "*health.DNSChecker"},
		{config.Check{Kind: config.CheckNegotiate, Service: "none"}, "health.noneChecker"},
		{config.Check{Kind: config.CheckNegotiate, Service: "http_proxy", Request: "http://www.example.org/"}, "*health.HTTPChecker"},
	}
	for _, svc := range []string{"ftp", "pop", "pops", "imap", "imaps", "ldap", "ldaps", "nntp", "mysql"} {
		tests = append(tests, struct {
			check config.Check
			want  string
		}{config.Check{Kind: config.CheckNegotiate, Service: svc}, "*health.NegotiateChecker"})
	}
	tg := Target{Addr: netip.MustParseAddrPort("127.0.0.1:80")}
	for _, tt := range tests {
		ck, err := NewChecker(&tt.check, tg)
		if err != nil {
			t.Errorf("%+v: %v", tt.check, err)
			continue
		}
		if got := fmt.Sprintf("%T", ck); got != tt.want {
			t.Errorf("%s %s: %s, want %s", tt.check.Kind, tt.check.Service, got, tt.want)
		}
	}
}

// A check whose context has already ended returns at once, failed.
func TestCheckersHonourEndedContext(t *testing.T) {
	web, _ := startWeb(t, "tcp4")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []config.Check{
		{Kind: config.CheckTCP},
		{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/up"}}},
		{Kind: config.CheckExternal, Command: "/bin/true"},
		{Kind: config.CheckDNS},
		{Kind: config.CheckSMTP},
		{Kind: config.CheckNegotiate, Service: "imap"},
	} {
		r := mustChecker(t, &c, Target{Addr: web}).Check(ctx)
		if r.OK || !strings.Contains(r.Reason, "context canceled") {
			t.Errorf("%s: %+v after cancel, want a failure saying so", c.Kind, r)
		}
	}
}
