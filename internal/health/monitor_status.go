package health

import (
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// Status is a snapshot of the monitor for the API: plain values, JSON-encodable.
type Status struct {
	// Running is the number of checks in progress; Queued the number due and waiting for
	// a worker (a persistent backlog means too few Workers).
	Running  int             `json:"running"`
	Queued   int             `json:"queued"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is the health of one virtual service.
type ServiceStatus struct {
	Service string        `json:"service"` // as ipvsadm names it: "-t 10.0.0.1:80"
	Key     lb.ServiceKey `json:"key"`
	// Suspended: the checks do not run (HASuspend while the VIP is elsewhere).
	Suspended bool          `json:"suspended"`
	Quorum    ServiceQuorum `json:"quorum"`
	Reals     []RealStatus  `json:"reals"`
}

// RealStatus is the health of one real server of a service.
type RealStatus struct {
	Real netip.AddrPort `json:"real"`
	Up   bool           `json:"up"`
	// Since is when the real took its current state (start or reload for one that never
	// changed); Reason is why.
	Since  time.Time `json:"since"`
	Reason string    `json:"reason"`
	// Weight is the effective weight (Dynamic: set by a check); InTable and TableWeight
	// say whether and how the real is in the table now.
	Weight      int32 `json:"weight"`
	Dynamic     bool  `json:"dynamic"`
	InTable     bool  `json:"in_table"`
	TableWeight int32 `json:"table_weight"`
	// Failures is the longest run of consecutive failures among its checks.
	Failures int           `json:"failures"`
	Checks   []CheckStatus `json:"checks"`
}

// CheckStatus is the state of one check of a real.
type CheckStatus struct {
	Kind     config.CheckKind `json:"kind"`
	Up       bool             `json:"up"`
	Running  bool             `json:"running"`
	Runs     uint64           `json:"runs"`
	Failures int              `json:"failures"` // consecutive failed results
	// Retries counts the failures already retried toward taking the check down.
	Retries int `json:"retries"`
	// The last result: zero before the first.
	LastOK       bool          `json:"last_ok"`
	LastReason   string        `json:"last_reason"`
	LastRun      time.Time     `json:"last_run,omitzero"`
	LastDuration time.Duration `json:"last_duration_ns"`
	// NextRun is when the check is due; zero while it runs or waits for a worker.
	NextRun time.Time `json:"next_run,omitzero"`
}

// Status returns a snapshot of every service, real and check. It returns ErrStopped if the
// monitor is not running.
func (m *Monitor) Status() (Status, error) {
	var st Status
	err := m.do(func() {
		st = m.sched.status(m.table)
		st.Running, st.Queued = m.running, len(m.pending)
	})
	return st, err
}

func (s *sched) status(t *Table) Status {
	st := Status{Services: make([]ServiceStatus, 0, len(s.services))}
	for _, sr := range s.services {
		ss := ServiceStatus{Service: sr.key.String(), Key: sr.key, Suspended: sr.suspended,
			Reals: make([]RealStatus, 0, len(sr.reals))}
		ss.Quorum, _ = t.Quorum(sr.key)
		inTable := t.weights(sr.key)
		for _, r := range sr.reals {
			rs := RealStatus{Real: r.id.Real, Up: r.alive, Since: r.since, Reason: r.reason,
				Weight: r.weight(), Dynamic: r.dyn >= 0, Checks: make([]CheckStatus, len(r.checks))}
			rs.TableWeight, rs.InTable = inTable[r.id.Real]
			for i, c := range r.checks {
				cs := CheckStatus{Kind: c.cfg.Kind, Up: c.st.up, Running: c.running, Runs: c.st.runs,
					Failures: c.st.fails, LastOK: c.st.last.OK, LastReason: c.st.last.Reason,
					LastRun: c.st.lastAt, LastDuration: c.st.lastDur}
				if c.st.hasRun {
					cs.Retries = c.st.retryIt
				}
				if c.hidx >= 0 {
					cs.NextRun = c.due
				}
				rs.Failures = max(rs.Failures, c.st.fails)
				rs.Checks[i] = cs
			}
			ss.Reals = append(ss.Reals, rs)
		}
		st.Services = append(st.Services, ss)
	}
	return st
}
