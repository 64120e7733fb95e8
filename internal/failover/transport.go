package failover

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/vishvananda/netns"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/vrrp"
	"github.com/golvs/golvs/internal/vrrpnet"
)

// Transport opens each instance's vrrpnet.Conn in a network namespace: multicast on the
// instance's interface, or unicast from unicast_src_ip to unicast_peer.
type Transport struct {
	// NetNS is the namespace of the interfaces (zero: the current one).
	NetNS  netns.NsHandle
	Logger *slog.Logger
}

// Open listens on the instance's interface. It fails, naming the instance's interface,
// when vrrpnet.Listen does (no such interface, no usable source address yet, no
// CAP_NET_RAW); the Manager then retries the whole unit later.
func (t *Transport) Open(in *config.VRRPInstance) (vrrp.Conn, error) {
	c, err := vrrpnet.Listen(vrrpnet.Options{
		Interface: in.Interface, Family: instanceFamily(in), Unicast: in.UnicastSrc,
		Peers: in.UnicastPeers, NetNS: t.NetNS,
	})
	if err != nil {
		return nil, err
	}
	log := t.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return newConn(c, log.With("instance", in.Name, "interface", in.Interface)), nil
}

// instanceFamily is 6 when the instance's first advertised address is IPv6 (or, with no
// addresses, its unicast source is), else 4: the rule vrrp.New applies to the adverts.
func instanceFamily(in *config.VRRPInstance) int {
	switch {
	case len(in.Addresses) > 0:
		if in.Addresses[0].Prefix.Addr().Is6() {
			return 6
		}
	case in.UnicastSrc.IsValid() && in.UnicastSrc.Is6() && !in.UnicastSrc.Is4In6():
		return 6
	}
	return 4
}

// packetConn is the part of *vrrpnet.Conn a conn uses.
type packetConn interface {
	Src() netip.Addr
	Recv(ctx context.Context) (vrrpnet.Packet, error)
	Send(payload []byte, dst netip.Addr) error
	Close() error
}

// conn adapts a vrrpnet.Conn to vrrp.Conn: one goroutine receives and feeds Packets.
type conn struct {
	c      packetConn
	log    *slog.Logger
	pkts   chan vrrp.Packet
	cancel context.CancelFunc
	done   chan struct{} // closed when the receiver has returned (after closing pkts)

	closeOnce sync.Once
	closeErr  error
}

// recvRetry is the pause after a receive error that is not the end of the socket.
const recvRetry = 100 * time.Millisecond

func newConn(c packetConn, log *slog.Logger) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	k := &conn{c: c, log: log, pkts: make(chan vrrp.Packet, 16), cancel: cancel, done: make(chan struct{})}
	go k.receive(ctx)
	return k
}

// receive runs until the Conn is closed: every packet goes to pkts; a receive error
// other than the socket's end is logged and retried after recvRetry.
func (k *conn) receive(ctx context.Context) {
	defer close(k.done)
	defer close(k.pkts)
	for {
		p, err := k.c.Recv(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			k.log.Warn("receiving VRRP packets", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(recvRetry):
			}
			continue
		}
		vp := vrrp.Packet{Payload: p.Payload, Src: p.Src, Dst: p.Dst, TTL: p.TTL, IfIndex: p.IfIndex}
		select {
		case k.pkts <- vp:
		case <-ctx.Done():
			return
		}
	}
}

// LocalAddr is the source address of the socket.
func (k *conn) LocalAddr() netip.Addr { return k.c.Src() }

// Send sends one advert.
func (k *conn) Send(msg []byte, dst netip.Addr) error { return k.c.Send(msg, dst) }

// Packets delivers received packets; it is closed after Close.
func (k *conn) Packets() <-chan vrrp.Packet { return k.pkts }

// Close closes the socket and waits for the receiver to return; Packets is closed by
// then. Later calls return the first call's result.
func (k *conn) Close() error {
	k.closeOnce.Do(func() {
		k.cancel()
		if err := k.c.Close(); err != nil {
			k.closeErr = fmt.Errorf("failover: close VRRP socket: %w", err)
		}
		<-k.done
	})
	return k.closeErr
}

// Interface guards.
var (
	_ vrrp.Transport = (*Transport)(nil)
	_ vrrp.Conn      = (*conn)(nil)
	_ packetConn     = (*vrrpnet.Conn)(nil)
)
