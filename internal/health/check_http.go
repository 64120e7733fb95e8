package health

import (
	"context"
	"crypto/md5"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// httpBodyLimit bounds the part of a response body a check reads. keepalived streams the
// whole body through MD5 and its regex (check_http.c http_process_response); we keep at most
// this much: a digest of a longer body fails, a regex is matched against this prefix.
const httpBodyLimit = 1 << 20

// HTTPChecker fetches URLs over HTTP or HTTPS, as keepalived's HTTP_GET and SSL_GET
// (keepalived/check/check_http.c, check_ssl.c) and ldirectord's negotiate checks for
// service=http/https (ld_check_http, /usr/sbin/ldirectord from ldirectord 4.12).
//
// Every URL of the check must pass, in order; the first that fails fails the check (as
// keepalived's url_it walk in epilog). A URL passes when:
//   - a response arrives (status line and headers) before the timeout;
//   - its status is in the URL's accepted ranges, 200-299 when none are set (keepalived's
//     HTTP_DEFAULT_STATUS_CODE_MIN..MAX, and ldirectord's $res->is_success);
//   - with a digest, the MD5 of the body, as lower-case hex, equals it (keepalived digest);
//   - with a regex, the body matches it (keepalived regex, ldirectord receive=, both on the
//     body only, not the headers).
//
// Each request goes on a new connection that is closed after it (keepalived connects once
// per URL; nothing is reused between checks). Redirects are not followed: a 301 is judged as
// a 301 (keepalived; ldirectord's LWP follows them, so a redirecting URL that ldirectord
// accepted needs status_code 300-399 here). The Host header is the virtual host, else the
// target's address and port (keepalived's request_template). HTTPS does not verify the
// server's certificate, as keepalived's SSL_GET (no SSL_VERIFY_PEER) and ldirectord
// (verify_hostname => 0) do not: the check is about liveness, not identity. SNI carries the
// virtual host when the check asks for it (SSL_GET enable_sni); otherwise none is sent.
type HTTPChecker struct {
	method string
	host   string // Host header
	urls   []httpURL
	client *http.Client
}

type httpURL struct {
	path   string
	url    *url.URL
	digest []byte // nil: not checked
	status []config.StatusRange
	re     *regexp.Regexp
}

// Interface guards.
var _ Checker = (*HTTPChecker)(nil)

func newHTTPChecker(c *config.Check, t Target) (*HTTPChecker, error) {
	scheme := "http"
	if c.Kind == config.CheckHTTPS {
		scheme = "https"
	}
	method := strings.ToUpper(c.Method)
	switch method {
	case "":
		method = http.MethodGet
	case http.MethodGet, http.MethodHead:
	default:
		return nil, fmt.Errorf("health: HTTP method %q: want GET or HEAD", c.Method)
	}
	urls := c.URLs
	if len(urls) == 0 && c.Request != "" {
		// ldirectord negotiate: request= is the path, receive= the regex.
		urls = []config.URL{{Path: c.Request, Regex: c.Receive}}
	}
	if len(urls) == 0 {
		return nil, errors.New("health: HTTP check has no url")
	}
	hc := &HTTPChecker{method: method, host: c.VirtualHost}
	if hc.host == "" {
		hc.host = t.VirtualHost
	}
	if hc.host == "" {
		hc.host = hostPort(t.Addr)
	}
	for _, u := range urls {
		hu, err := newHTTPURL(u, scheme, t)
		if err != nil {
			return nil, err
		}
		if method == http.MethodHead && (hu.digest != nil || hu.re != nil) {
			return nil, fmt.Errorf("health: url %s: a digest or regex needs method GET, not HEAD", u.Path)
		}
		hc.urls = append(hc.urls, hu)
	}
	tlsConf := &tls.Config{
		InsecureSkipVerify: true, // as keepalived SSL_GET and ldirectord: see the type's doc
		MinVersion:         tls.VersionTLS10,
	}
	if c.SNI {
		if h, _, err := net.SplitHostPort(hc.host); err == nil {
			tlsConf.ServerName = h
		} else {
			tlsConf.ServerName = hc.host
		}
	}
	d := net.Dialer{LocalAddr: bindTCP(t)}
	addr := t.Addr.String()
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "tcp", addr)
		},
		TLSClientConfig:        tlsConf,
		DisableKeepAlives:      true,
		DisableCompression:     true, // the digest is of the body as served
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxResponseHeaderBytes: 64 << 10,
	}
	hc.client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return hc, nil
}

// newHTTPProxyChecker is ldirectord's service=http_proxy (check_http with $ua->proxy): the
// request is an absolute http:// URL, asked of the real as of a proxy ("GET http://... "),
// with the URL's host in the Host header; a 2xx status and, with receive, a matching body
// pass. The real, not the URL's host, is the one connected to.
func newHTTPProxyChecker(c *config.Check, t Target) (*HTTPChecker, error) {
	u, err := url.Parse(c.Request)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("health: http_proxy request %q is not an http:// URL", c.Request)
	}
	pc := *c
	pc.Kind, pc.VirtualHost, pc.SNI = config.CheckHTTP, u.Host, false
	pc.URLs = []config.URL{{Path: u.RequestURI(), Regex: c.Receive}}
	hc, err := newHTTPChecker(&pc, t)
	if err != nil {
		return nil, err
	}
	hc.urls[0].url, hc.urls[0].path = u, c.Request
	proxy := &url.URL{Scheme: "http", Host: hostPort(t.Addr)}
	hc.client.Transport.(*http.Transport).Proxy = func(*http.Request) (*url.URL, error) { return proxy, nil }
	return hc, nil
}

func newHTTPURL(u config.URL, scheme string, t Target) (httpURL, error) {
	path := u.Path
	if path == "" {
		return httpURL{}, errors.New("health: url with no path")
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path // as ldirectord does with request=
	}
	parsed, err := url.Parse(scheme + "://" + hostPort(t.Addr) + path)
	if err != nil {
		return httpURL{}, fmt.Errorf("health: url path %q: %v", u.Path, err)
	}
	hu := httpURL{path: u.Path, url: parsed, status: u.Status}
	if u.Digest != "" {
		d, err := hex.DecodeString(u.Digest)
		if err != nil || len(d) != md5.Size {
			return httpURL{}, fmt.Errorf("health: url %s: digest %q is not 32 hex digits", u.Path, u.Digest)
		}
		hu.digest = d
	}
	for _, r := range u.Status {
		if r.Min < 100 || r.Max > 599 || r.Min > r.Max {
			return httpURL{}, fmt.Errorf("health: url %s: status range %d-%d outside 100-599", u.Path, r.Min, r.Max)
		}
	}
	if u.Regex != "" {
		re, err := regexp.Compile(u.Regex)
		if err != nil {
			return httpURL{}, fmt.Errorf("health: url %s: regex %q: %v", u.Path, u.Regex, err)
		}
		hu.re = re
	}
	return hu, nil
}

// Check fetches each URL in turn and fails with the first URL that fails, saying why
// ("GET /health: HTTP status 503, want 200-299"). It returns by ctx's deadline.
func (c *HTTPChecker) Check(ctx context.Context) Result {
	var last int
	for i := range c.urls {
		u := &c.urls[i]
		status, r := c.fetch(ctx, u)
		if !r.OK {
			return r
		}
		last = status
	}
	if len(c.urls) == 1 {
		return checkOK("%s %s: HTTP %d", c.method, c.urls[0].path, last)
	}
	return checkOK("%d urls passed", len(c.urls))
}

func (c *HTTPChecker) fetch(ctx context.Context, u *httpURL) (int, Result) {
	step := c.method + " " + u.path
	req := &http.Request{
		Method:     c.method,
		URL:        u.url,
		Host:       c.host,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     http.Header{"User-Agent": {"KeepAliveClient"}},
	}
	req = req.WithContext(ctx)
	resp, err := c.client.Do(req)
	if err != nil {
		if errors.Is(err, io.EOF) && ctx.Err() == nil {
			// keepalived: "Read, no data received from" the server.
			return 0, checkDown("%s: connection closed without a response", step)
		}
		return 0, checkDownErr(ctx, step, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if !statusOK(resp.StatusCode, u.status) {
		return resp.StatusCode, checkDown("%s: HTTP status %d, want %s", step, resp.StatusCode, statusText(u.status))
	}
	if u.digest == nil && u.re == nil {
		// Read what comes (bounded), like keepalived reading to EOF, so the server
		// sees the response consumed; the verdict does not depend on it.
		io.Copy(io.Discard, io.LimitReader(resp.Body, httpBodyLimit))
		return resp.StatusCode, checkOK("")
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, httpBodyLimit+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		// A body shorter than its Content-Length is only logged by keepalived
		// (content_len != rx_bytes); other read errors fail it.
		return resp.StatusCode, checkDownErr(ctx, step+": read body", err)
	}
	if u.digest != nil {
		if len(body) > httpBodyLimit {
			return resp.StatusCode, checkDown("%s: body longer than %d bytes, digest not computed", step, httpBodyLimit)
		}
		sum := md5.Sum(body)
		if string(sum[:]) != string(u.digest) {
			return resp.StatusCode, checkDown("%s: MD5 digest %x, want %x", step, sum, u.digest)
		}
	}
	if u.re != nil {
		if len(body) > httpBodyLimit {
			body = body[:httpBodyLimit]
		}
		matched, err := matchBody(ctx, u.re, body)
		if err != nil {
			return resp.StatusCode, checkDownErr(ctx, step+": regex", err)
		}
		if !matched {
			return resp.StatusCode, checkDown("%s: body does not match regex %q", step, u.re.String())
		}
	}
	return resp.StatusCode, checkOK("")
}

// matchBody matches re against body, giving up when ctx ends first: RE2 is linear, but a
// megabyte-long body still takes milliseconds, and a check returns by its deadline. An
// abandoned match runs to its (bounded) end in the background.
func matchBody(ctx context.Context, re *regexp.Regexp, body []byte) (bool, error) {
	if len(body) <= 64<<10 {
		return re.Match(body), nil
	}
	done := make(chan bool, 1)
	go func() { done <- re.Match(body) }()
	select {
	case m := <-done:
		return m, nil
	case <-ctx.Done():
		return false, ctx.Err()
	}
}

// unwrapURLError drops the "Get \"http://...\":" wrapping of package http.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func statusOK(code int, ranges []config.StatusRange) bool {
	if len(ranges) == 0 {
		return code >= 200 && code <= 299
	}
	for _, r := range ranges {
		if code >= r.Min && code <= r.Max {
			return true
		}
	}
	return false
}

func statusText(ranges []config.StatusRange) string {
	if len(ranges) == 0 {
		return "200-299"
	}
	var b strings.Builder
	for i, r := range ranges {
		if i > 0 {
			b.WriteByte(',')
		}
		if r.Min == r.Max {
			fmt.Fprint(&b, r.Min)
		} else {
			fmt.Fprintf(&b, "%d-%d", r.Min, r.Max)
		}
	}
	return b.String()
}
