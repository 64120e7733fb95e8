package health

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golvs/golvs/internal/config"
)

// upBody is served at /up; its MD5, from md5sum: printf 'GoLVS is up\n' | md5sum.
const (
	upBody   = "GoLVS is up\n"
	upDigest = "50b0155a454ffd7b35a8491bec22eabe"
)

// webMux serves the test pages: status and body variants, a Host echo, a redirect, a slow
// page and a large one.
func webMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/up", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(upBody)) })
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/host", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("host=" + r.Host + " ua=" + r.UserAgent()))
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/up", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", httpBodyLimit+10)))
	})
	mux.HandleFunc("/short", func(w http.ResponseWriter, r *http.Request) {
		// Promises more than it sends: keepalived only logs the mismatch.
		hj, _ := w.(http.Hijacker)
		c, buf, _ := hj.Hijack()
		defer c.Close()
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + upBody)
		buf.Flush()
	})
	return mux
}

// startWeb starts a plain HTTP server on a loopback address and counts its connections.
func startWeb(t testing.TB, network string) (netip.AddrPort, *connCounter) {
	addr := "127.0.0.1:0"
	if network == "tcp6" {
		addr = "[::1]:0"
	}
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Skipf("no %s loopback: %v", network, err)
	}
	srv := httptest.NewUnstartedServer(webMux())
	srv.Listener.Close()
	srv.Listener = ln
	cc := &connCounter{}
	srv.Config.ConnState = cc.track
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().(*net.TCPAddr).AddrPort(), cc
}

type connCounter struct {
	mu  sync.Mutex
	new int
}

func (c *connCounter) track(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		c.mu.Lock()
		c.new++
		c.mu.Unlock()
	}
}

func (c *connCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.new
}

func TestHTTPChecker(t *testing.T) {
	web, _ := startWeb(t, "tcp4")
	tests := []struct {
		name   string
		check  config.Check
		target Target
		ok     bool
		reason string
	}{
		{"200", config.Check{URLs: []config.URL{{Path: "/up"}}}, Target{}, true, "GET /up: HTTP 200"},
		{"503 refused by default", config.Check{URLs: []config.URL{{Path: "/down"}}}, Target{}, false, "GET /down: HTTP status 503, want 200-299"},
		{"503 accepted", config.Check{URLs: []config.URL{{Path: "/down", Status: []config.StatusRange{{Min: 200, Max: 200}, {Min: 500, Max: 503}}}}}, Target{}, true, "HTTP 503"},
		{"404", config.Check{URLs: []config.URL{{Path: "/nothing", Status: []config.StatusRange{{Min: 200, Max: 200}}}}}, Target{}, false, "HTTP status 404, want 200"},
		{"redirect not followed", config.Check{URLs: []config.URL{{Path: "/moved"}}}, Target{}, false, "HTTP status 302"},
		{"redirect accepted", config.Check{URLs: []config.URL{{Path: "/moved", Status: []config.StatusRange{{Min: 300, Max: 399}}}}}, Target{}, true, "HTTP 302"},
		{"digest", config.Check{URLs: []config.URL{{Path: "/up", Digest: upDigest}}}, Target{}, true, "HTTP 200"},
		{"digest upper case", config.Check{URLs: []config.URL{{Path: "/up", Digest: strings.ToUpper(upDigest)}}}, Target{}, true, "HTTP 200"},
		{"digest mismatch", config.Check{URLs: []config.URL{{Path: "/up", Digest: "d41d8cd98f00b204e9800998ecf8427e"}}}, Target{}, false, "MD5 digest " + upDigest + ", want d41d8cd98f00b204e9800998ecf8427e"},
		{"digest of a body too long", config.Check{URLs: []config.URL{{Path: "/big", Digest: upDigest}}}, Target{}, false, "digest not computed"},
		{"short body is judged", config.Check{URLs: []config.URL{{Path: "/short", Digest: upDigest}}}, Target{}, true, "HTTP 200"},
		{"regex", config.Check{URLs: []config.URL{{Path: "/up", Regex: "is (up|alive)"}}}, Target{}, true, "HTTP 200"},
		{"regex on the body only", config.Check{URLs: []config.URL{{Path: "/up", Regex: "Content-Type"}}}, Target{}, false, `body does not match regex "Content-Type"`},
		{"regex on a long body", config.Check{URLs: []config.URL{{Path: "/big", Regex: "^x{64}"}}}, Target{}, true, "HTTP 200"},
		{"host is the address", config.Check{URLs: []config.URL{{Path: "/host", Regex: `^host=` + strings.ReplaceAll(web.String(), ".", `\.`) + ` ua=KeepAliveClient$`}}}, Target{}, true, "HTTP 200"},
		{"host is the target's virtual host", config.Check{URLs: []config.URL{{Path: "/host", Regex: `^host=www\.example\.org `}}}, Target{VirtualHost: "www.example.org"}, true, "HTTP 200"},
		{"host is the check's virtual host", config.Check{VirtualHost: "check.example.org", URLs: []config.URL{{Path: "/host", Regex: `^host=check\.example\.org `}}}, Target{VirtualHost: "www.example.org"}, true, "HTTP 200"},
		{"all urls pass", config.Check{URLs: []config.URL{{Path: "/up"}, {Path: "/host"}}}, Target{}, true, "2 urls passed"},
		{"first failing url", config.Check{URLs: []config.URL{{Path: "/up"}, {Path: "/down"}, {Path: "/nothing"}}}, Target{}, false, "GET /down: HTTP status 503"},
		{"HEAD", config.Check{Method: "HEAD", URLs: []config.URL{{Path: "/up"}}}, Target{}, true, "HEAD /up: HTTP 200"},
		{"ldirectord request and receive", config.Check{Request: "up", Receive: "GoLVS"}, Target{}, true, "GET up: HTTP 200"},
		{"timeout", config.Check{URLs: []config.URL{{Path: "/slow"}}}, Target{}, false, "GET /slow: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.check
			c.Kind = config.CheckHTTP
			tg := tt.target
			tg.Addr = web
			wantResult(t, runCheck(t, mustChecker(t, &c, tg), checkTimeout), tt.ok, tt.reason)
		})
	}
}

// A regex match that would outlast the check's deadline is abandoned.
func TestMatchBodyHonoursContext(t *testing.T) {
	body := []byte(strings.Repeat("x", 8<<20))
	re := regexp.MustCompile(`(x+x+)+y`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	m, err := matchBody(ctx, re, body)
	if m || err == nil || time.Since(start) > 20*time.Millisecond+slack {
		t.Errorf("matchBody = %v, %v after %v; want the context's error by its deadline", m, err, time.Since(start))
	}
	if m, err := matchBody(context.Background(), re, []byte("xxy")); !m || err != nil {
		t.Errorf("matchBody on a short body = %v, %v", m, err)
	}
}

// ldirectord's http_proxy asks the real, as a proxy, for an absolute URL.
func TestHTTPProxyChecker(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.RequestURI != "http://www.example.org/status" || r.Host != "www.example.org" {
			http.Error(w, "not a proxy request: "+r.RequestURI, http.StatusBadRequest)
			return
		}
		w.Write([]byte("proxied ok"))
	}))
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr).AddrPort()
	for _, tc := range []struct {
		request, receive string
		ok               bool
		reason           string
	}{
		{"http://www.example.org/status", "proxied", true, "GET http://www.example.org/status: HTTP 200"},
		{"http://www.example.org/status", "direct", false, `body does not match regex "direct"`},
		{"http://www.example.org/other", "", false, "HTTP status 400"},
	} {
		c := &config.Check{Kind: config.CheckNegotiate, Service: "http_proxy", Request: tc.request, Receive: tc.receive}
		wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: addr}), checkTimeout), tc.ok, tc.reason)
	}
}

func TestHTTPCheckerConnectErrors(t *testing.T) {
	tests := []struct {
		name   string
		addr   netip.AddrPort
		reason string
	}{
		{"closed port", closedPort(t), "GET /: connection refused"},
		{"silent server", silentServer(t), "GET /: timed out"},
		{"closes without a response", serve(t, "tcp4", func(c net.Conn) {
			// Read the whole request first, so the close is a FIN and not a reset.
			r := bufio.NewReader(c)
			for {
				if l, err := r.ReadString('\n'); err != nil || l == "\r\n" {
					return
				}
			}
		}), "GET /: connection closed without a response"},
		{"no handshake", blackhole(t), "GET /: timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &config.Check{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/"}}}
			wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: tt.addr}), checkTimeout), false, tt.reason)
		})
	}
}

// Each check opens a new connection: nothing is kept alive between checks.
func TestHTTPCheckerFreshConnection(t *testing.T) {
	web, cc := startWeb(t, "tcp4")
	ck := mustChecker(t, &config.Check{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/up"}, {Path: "/up"}}}, Target{Addr: web})
	for range 3 {
		wantResult(t, runCheck(t, ck, checkTimeout), true, "2 urls passed")
	}
	if n := cc.count(); n != 6 {
		t.Errorf("server saw %d connections for 3 checks of 2 urls, want 6", n)
	}
}

func TestHTTPCheckerIPv6(t *testing.T) {
	web, _ := startWeb(t, "tcp6")
	re := `^host=\[::1\]:` + strings.TrimPrefix(web.String(), "[::1]:") + " "
	c := &config.Check{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/host", Regex: re}}}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: web}), checkTimeout), true, "HTTP 200")
}

// selfSigned makes a certificate for www.example.org, signed by its own key.
func selfSigned(t testing.TB) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "www.example.org"},
		DNSNames:     []string{"www.example.org"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func TestHTTPSChecker(t *testing.T) {
	var mu sync.Mutex
	var sni []string
	srv := httptest.NewUnstartedServer(webMux())
	srv.TLS = &tls.Config{
		Certificates: []tls.Certificate{selfSigned(t)},
		GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
			mu.Lock()
			sni = append(sni, h.ServerName)
			mu.Unlock()
			return nil, nil
		},
	}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().(*net.TCPAddr).AddrPort()

	tests := []struct {
		name    string
		check   config.Check
		vhost   string
		ok      bool
		reason  string
		wantSNI string
	}{
		{"self-signed certificate accepted", config.Check{URLs: []config.URL{{Path: "/up", Digest: upDigest}}}, "", true, "HTTP 200", ""},
		{"virtual host without SNI", config.Check{URLs: []config.URL{{Path: "/host", Regex: `^host=www\.example\.org `}}}, "www.example.org", true, "HTTP 200", ""},
		{"SNI", config.Check{SNI: true, URLs: []config.URL{{Path: "/host", Regex: `^host=www\.example\.org `}}}, "www.example.org", true, "HTTP 200", "www.example.org"},
		{"SNI without port", config.Check{SNI: true, URLs: []config.URL{{Path: "/up"}}}, "www.example.org:8443", true, "HTTP 200", "www.example.org"},
		{"status", config.Check{URLs: []config.URL{{Path: "/down"}}}, "", false, "HTTP status 503", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			sni = nil
			mu.Unlock()
			c := tt.check
			c.Kind = config.CheckHTTPS
			wantResult(t, runCheck(t, mustChecker(t, &c, Target{Addr: addr, VirtualHost: tt.vhost}), checkTimeout), tt.ok, tt.reason)
			mu.Lock()
			defer mu.Unlock()
			if len(sni) != 1 || sni[0] != tt.wantSNI {
				t.Errorf("server saw SNI %q, want one handshake with %q", sni, tt.wantSNI)
			}
		})
	}

	// A plain HTTP server fails the TLS handshake.
	web, _ := startWeb(t, "tcp4")
	c := &config.Check{Kind: config.CheckHTTPS, URLs: []config.URL{{Path: "/up"}}}
	wantResult(t, runCheck(t, mustChecker(t, c, Target{Addr: web}), checkTimeout), false, "GET /up: ")
}
