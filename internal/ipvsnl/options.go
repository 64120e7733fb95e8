package ipvsnl

import (
	"errors"
	"fmt"
	"os"
)

// Options configure Open. The zero value acts in the caller's network namespace.
type Options struct {
	// NetNS is the path of a network namespace to act in: /run/netns/NAME (ip netns add),
	// /proc/PID/ns/net, or a bind mount of one. Empty: the caller's namespace.
	NetNS string
	// NetNSFD is an open descriptor of a network namespace to act in, used when positive
	// (descriptor 0 is standard input, never a namespace here). The client keeps a
	// duplicate; the caller may close its own. Set at most one of NetNS and NetNSFD.
	NetNSFD int
}

// namespace opens the namespace o names, or returns nil for the caller's.
func (o Options) namespace() (*os.File, error) {
	switch {
	case o.NetNS != "" && o.NetNSFD > 0:
		return nil, errors.New("ipvs: both NetNS and NetNSFD are set")
	case o.NetNS != "":
		f, err := os.Open(o.NetNS)
		if err != nil {
			return nil, fmt.Errorf("ipvs: network namespace: %w", err)
		}
		return f, nil
	case o.NetNSFD > 0:
		return dupFile(o.NetNSFD)
	}
	return nil, nil
}
