package lb

// Stats are the traffic counters of a service or a real server, as ipvsadm --stats shows
// them. Counters are totals since the entry was created or last zeroed (-Z).
type Stats struct {
	Conns    uint64 // connections scheduled
	InPkts   uint64 // packets from clients
	OutPkts  uint64 // packets to clients
	InBytes  uint64
	OutBytes uint64
}

// Rates are per-second rates of the same counters, as the kernel's estimator smooths them
// (ipvsadm --rate).
type Rates struct {
	CPS    uint64 // connections per second
	InPPS  uint64
	OutPPS uint64
	InBPS  uint64 // bytes per second
	OutBPS uint64
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{
		Conns: s.Conns + o.Conns, InPkts: s.InPkts + o.InPkts, OutPkts: s.OutPkts + o.OutPkts,
		InBytes: s.InBytes + o.InBytes, OutBytes: s.OutBytes + o.OutBytes,
	}
}

// ConnClass is how a connection entry counts against its real server: the kernel's
// ActiveConn, InActConn and PersistConn columns.
type ConnClass uint8

// Connection classes. ClassNone is "not counted" (not bound, or gone).
const (
	ClassNone ConnClass = iota
	ClassActive
	ClassInactive
	ClassPersist
)
