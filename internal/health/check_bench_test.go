package health

import (
	"context"
	"net"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// benchCheck runs ck b.N times against a local listener and fails on a failed check.
func benchCheck(b *testing.B, ck Checker) {
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if r := ck.Check(ctx); !r.OK {
			b.Fatal(r.Reason)
		}
	}
}

// BenchmarkTCPCheck is one TCP_CHECK: connect to a loopback listener and close.
func BenchmarkTCPCheck(b *testing.B) {
	addr := serve(b, "tcp4", func(net.Conn) {})
	benchCheck(b, mustChecker(b, &config.Check{Kind: config.CheckTCP}, Target{Addr: addr}))
}

// BenchmarkHTTPCheck is one HTTP_GET of a small page on a new connection, with its digest.
func BenchmarkHTTPCheck(b *testing.B) {
	addr, _ := startWeb(b, "tcp4")
	c := &config.Check{Kind: config.CheckHTTP, URLs: []config.URL{{Path: "/up", Digest: upDigest}}}
	benchCheck(b, mustChecker(b, c, Target{Addr: addr}))
}

// BenchmarkDNSCheck is one DNS_CHECK against a loopback responder.
func BenchmarkDNSCheck(b *testing.B) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			buf[2] |= 0x80
			pc.WriteTo(buf[:n], from)
		}
	}()
	addr := pc.LocalAddr().(*net.UDPAddr).AddrPort()
	benchCheck(b, mustChecker(b, &config.Check{Kind: config.CheckDNS}, Target{Addr: addr}))
}
