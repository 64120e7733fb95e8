// Package estimator computes the rates ipvsadm --rate shows (CPS, InPPS, OutPPS, InBPS,
// OutBPS) the way the kernel's IPVS estimator does (net/netfilter/ipvs/ip_vs_est.c): every
// 2 seconds the change of each counter becomes a rate that is smoothed as
// avg += (rate - avg) / 4, kept in fixed point (packets and connections scaled by 2^10,
// bytes by 2^5) and rounded when read. Engines that keep their own counters use it so that
// their rates match kernel IPVS's for the same traffic.
package estimator

import "github.com/golvs/golvs/internal/lb"

// Interval is how often Tick must be called.
const Interval = 2 // seconds

// Estimator smooths the rates of one set of counters. It is not safe for concurrent use; the
// owner serialises Tick, Read and Zero.
type Estimator struct {
	last               lb.Stats
	cps, inpps, outpps int64 // scaled by 2^10
	inbps, outbps      int64 // scaled by 2^5
}

// New returns an estimator whose first interval starts from the counters cur.
func New(cur lb.Stats) *Estimator { return &Estimator{last: cur} }

// Tick folds the interval that ends now, with counters cur, into the rates.
func (e *Estimator) Tick(cur lb.Stats) {
	// per-second rates of a 2-second interval: count << 10 / 2 = count << 9; bytes << 5 / 2
	e.cps = smooth(e.cps, int64(cur.Conns-e.last.Conns)<<9)
	e.inpps = smooth(e.inpps, int64(cur.InPkts-e.last.InPkts)<<9)
	e.outpps = smooth(e.outpps, int64(cur.OutPkts-e.last.OutPkts)<<9)
	e.inbps = smooth(e.inbps, int64(cur.InBytes-e.last.InBytes)<<4)
	e.outbps = smooth(e.outbps, int64(cur.OutBytes-e.last.OutBytes)<<4)
	e.last = cur
}

// smooth is the kernel's avg += (rate - avg) >> 2, an arithmetic shift.
func smooth(avg, rate int64) int64 { return avg + (rate-avg)>>2 }

// Read returns the rates, rounded as the kernel's ip_vs_read_estimator rounds them.
func (e *Estimator) Read() lb.Rates {
	return lb.Rates{
		CPS:    uint64((e.cps + 0x1FF) >> 10),
		InPPS:  uint64((e.inpps + 0x1FF) >> 10),
		OutPPS: uint64((e.outpps + 0x1FF) >> 10),
		InBPS:  uint64((e.inbps + 0xF) >> 5),
		OutBPS: uint64((e.outbps + 0xF) >> 5),
	}
}

// Zero restarts the estimator from counters cur with all rates 0, as -Z does.
func (e *Estimator) Zero(cur lb.Stats) { *e = Estimator{last: cur} }
