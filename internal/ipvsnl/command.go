package ipvsnl

import (
	"fmt"

	"github.com/mdlayher/genetlink"
	"github.com/mdlayher/netlink"
)

// Command is one IPVS generic netlink message, request or reply, in decoded form. The
// client builds its requests from Commands, the fake kernel (package ipvsnltest) decodes
// them and encodes its replies with them, and tests print them with String.
type Command struct {
	Cmd      Cmd
	Service  *Service
	Dest     *Dest
	Daemon   *Daemon
	Timeouts *Timeouts
	// Info is the body of a CmdSetInfo reply.
	Info *Info
	// Reply marks a kernel reply: Encode then writes every attribute, counters included,
	// as ip_vs_genl_fill_service, ip_vs_genl_fill_dest and ip_vs_genl_fill_daemon do.
	Reply bool
}

// fullService reports whether the command carries a service's settings, not only its key.
func (c *Command) fullService() bool {
	return c.Reply || c.Cmd == CmdNewService || c.Cmd == CmdSetService
}

func (c *Command) fullDest() bool { return c.Cmd == CmdNewDest || c.Cmd == CmdSetDest }

// Encode returns the command as a generic netlink message (version FamilyVersion).
func (c *Command) Encode() (genetlink.Message, error) {
	ae := netlink.NewAttributeEncoder()
	if c.Info != nil {
		ae.Uint32(infoAttrVersion, c.Info.Version)
		ae.Uint32(infoAttrConnTabSize, c.Info.ConnTabSize)
	}
	if c.Service != nil {
		ae.Nested(cmdAttrService, func(n *netlink.AttributeEncoder) error {
			putService(n, c.Service, c.fullService(), c.Reply)
			return nil
		})
	}
	if c.Dest != nil {
		ae.Nested(cmdAttrDest, func(n *netlink.AttributeEncoder) error {
			putDest(n, c.Dest, c.fullDest(), c.Reply)
			return nil
		})
	}
	if c.Daemon != nil {
		ae.Nested(cmdAttrDaemon, func(n *netlink.AttributeEncoder) error {
			putDaemon(n, c.Daemon, c.Cmd == CmdDelDaemon && !c.Reply)
			return nil
		})
	}
	if c.Timeouts != nil {
		ae.Uint32(cmdAttrTimeoutTCP, c.Timeouts.TCP)
		ae.Uint32(cmdAttrTimeoutFin, c.Timeouts.TCPFin)
		ae.Uint32(cmdAttrTimeoutUDP, c.Timeouts.UDP)
	}
	b, err := ae.Encode()
	if err != nil {
		return genetlink.Message{}, fmt.Errorf("ipvs: encode %s: %w", c.Cmd, err)
	}
	return genetlink.Message{Header: genetlink.Header{Command: uint8(c.Cmd), Version: FamilyVersion}, Data: b}, nil
}

// DecodeCommand decodes a generic netlink message of the IPVS family. The top-level
// attributes of a CmdSetInfo message are read as Info, those of every other command as
// service, destination, daemon and timeouts. A destination's family defaults to its
// service's when the message does not say it.
func DecodeCommand(m genetlink.Message) (Command, error) {
	c := Command{Cmd: Cmd(m.Header.Command)}
	ad, err := netlink.NewAttributeDecoder(m.Data)
	if err != nil {
		return c, fmt.Errorf("ipvs: decode %s: %w", c.Cmd, err)
	}
	var destData []byte
	var t Timeouts
	hasTimeouts := false
	for ad.Next() {
		if c.Cmd == CmdSetInfo {
			if c.Info == nil {
				c.Info = &Info{}
			}
			switch ad.Type() {
			case infoAttrVersion:
				c.Info.Version = ad.Uint32()
			case infoAttrConnTabSize:
				c.Info.ConnTabSize = ad.Uint32()
			}
			continue
		}
		switch ad.Type() {
		case cmdAttrService:
			ad.Nested(func(n *netlink.AttributeDecoder) (err error) {
				c.Service, err = decodeService(n)
				return err
			})
		case cmdAttrDest:
			destData = ad.Bytes()
		case cmdAttrDaemon:
			ad.Nested(func(n *netlink.AttributeDecoder) (err error) {
				c.Daemon, err = decodeDaemon(n)
				return err
			})
		case cmdAttrTimeoutTCP:
			t.TCP, hasTimeouts = ad.Uint32(), true
		case cmdAttrTimeoutFin:
			t.TCPFin, hasTimeouts = ad.Uint32(), true
		case cmdAttrTimeoutUDP:
			t.UDP, hasTimeouts = ad.Uint32(), true
		}
	}
	if err := ad.Err(); err != nil {
		return c, fmt.Errorf("ipvs: decode %s: %w", c.Cmd, err)
	}
	if hasTimeouts {
		c.Timeouts = &t
	}
	if destData != nil {
		svcAF := AFInet
		if c.Service != nil {
			svcAF = c.Service.AF
		}
		nad, err := netlink.NewAttributeDecoder(destData)
		if err == nil {
			c.Dest, err = decodeDest(nad, svcAF)
		}
		if err != nil {
			return c, fmt.Errorf("ipvs: decode %s: %w", c.Cmd, err)
		}
	}
	return c, nil
}

// String describes the command on one line, for logs and tests:
//
//	new-service tcp 10.0.0.1:80 sched rr netmask 0xffffffff
//	set-dest tcp 10.0.0.1:80 dest 10.1.0.1:80 masq weight 3
//	set-config timeouts 900 120 300
//	new-daemon master eth0 syncid 5
//
// Counters, connection counts and FlagsMask are not shown.
func (c *Command) String() string {
	s := c.Cmd.String()
	if c.Service != nil {
		if c.fullService() {
			s += " " + describeService(c.Service)
		} else {
			s += " " + c.Service.ServiceKey.String()
		}
	}
	if c.Dest != nil {
		s += " dest " + describeDest(c.Dest, c.fullDest() || c.Reply)
	}
	if c.Daemon != nil {
		if c.Cmd == CmdDelDaemon && !c.Reply {
			s += " " + stateName(c.Daemon.State)
		} else {
			s += " " + c.Daemon.String()
		}
	}
	if c.Timeouts != nil {
		s += fmt.Sprintf(" timeouts %d %d %d", c.Timeouts.TCP, c.Timeouts.TCPFin, c.Timeouts.UDP)
	}
	if c.Info != nil {
		s += fmt.Sprintf(" version %s size %d", c.Info.VersionString(), c.Info.ConnTabSize)
	}
	return s
}
