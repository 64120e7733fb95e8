package vrrp

import (
	"bytes"
	"net/netip"
	"testing"
)

// FuzzParse: Parse never panics, and what it accepts re-encodes to the same bytes. The
// corpus is keepalived's adverts; the fuzzer also varies the address family and whether
// the destination is the group or a unicast peer.
func FuzzParse(f *testing.F) {
	for _, file := range []string{goldenPcap, eventsPcap} {
		pkts, err := parsePcap(mustRead(f, file))
		if err != nil {
			f.Fatal(err)
		}
		for _, p := range pkts {
			f.Add(p.payload, p.src.Is6(), p.dst.IsMulticast())
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, v6, group bool) {
		src, dst := kaSrc4, kaPeer
		switch {
		case v6 && group:
			src, dst = kaSrc6, GroupIPv6
		case v6:
			src, dst = kaSrc6, netip.MustParseAddr("fe80::2")
		case group:
			dst = GroupIPv4
		}
		a, err := Parse(b, src, dst)
		if err != nil {
			if a != nil {
				t.Fatalf("Parse returned %+v with error %v", a, err)
			}
			return
		}
		out, err := Marshal(a, src, dst)
		if err != nil {
			t.Fatalf("Marshal(Parse(%x)): %v", b, err)
		}
		if !bytes.Equal(out, b) {
			t.Fatalf("Marshal(Parse(x)) = %x, want %x", out, b)
		}
	})
}
