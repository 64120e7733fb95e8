package health

import (
	"math"
	"net/netip"
	"time"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// TransitionKind says what changed about a real server.
type TransitionKind uint8

// Transition kinds.
const (
	// RealUp: every check of the real passes again (or its last failing check was removed
	// by a reload); the real goes back into the table.
	RealUp TransitionKind = iota + 1
	// RealDown: a check of the real failed Retries+1 times in a row; the real leaves the
	// table (or is quiesced with InhibitOnFailure).
	RealDown
	// WeightChanged: a check set a new weight for the real (MISC_CHECK misc_dynamic), or
	// reset it to the configured one.
	WeightChanged
	// FirstResult: the first result of a check confirmed the state the real started in.
	// The state does not change, but keepalived runs the real's notify script for it: with
	// Alpha, a real that starts down and fails its first check gets notify_down once
	// (update_svr_checker_state in keepalived/check/ipwrapper.c).
	FirstResult
)

// String names the kind as logs show it.
func (k TransitionKind) String() string {
	switch k {
	case RealUp:
		return "up"
	case RealDown:
		return "down"
	case WeightChanged:
		return "weight"
	case FirstResult:
		return "first-result"
	}
	return "unknown"
}

// MarshalText makes the kind readable in JSON.
func (k TransitionKind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// RealID names a real server of a virtual service. The same address can be a real of
// several services; each has its own checks and state, as in keepalived.
type RealID struct {
	Service lb.ServiceKey  `json:"service"`
	Real    netip.AddrPort `json:"real"`
}

// Transition is a change of a real server's health, as the Monitor emits it.
type Transition struct {
	Kind    TransitionKind `json:"kind"`
	Service lb.ServiceKey  `json:"service"`
	Real    netip.AddrPort `json:"real"`
	// Up is the real's state after the transition.
	Up bool `json:"up"`
	// Weight is the real's effective weight after the transition: the weight a check set
	// (Dynamic) or the configured one.
	Weight  int32 `json:"weight"`
	Dynamic bool  `json:"dynamic"`
	// Check and CheckIndex name the check whose result caused the transition (its kind and
	// position in the real's Checks); CheckIndex is -1 when a reload caused it.
	Check      config.CheckKind `json:"check,omitempty"`
	CheckIndex int              `json:"check_index"`
	// Reason is the result's reason ("connect: connection refused"), or why a reload
	// changed the state.
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// RealHealth is what the table logic needs of a real: whether it is up, and the weight a
// check set for it (-1: none, the configured weight applies).
type RealHealth struct {
	Up     bool
	Weight int32
}

// Health is the health of every real, by service and address. A real missing from it
// starts as keepalived starts it: down with Alpha (when it has checks), else up.
type Health map[RealID]RealHealth

// InitialHealth returns the health every real of cfg starts with (see Health).
func InitialHealth(cfg *config.Config) Health {
	h := make(Health)
	for _, s := range cfg.Services {
		k := serviceKey(s.ServiceKey)
		for _, r := range s.Reals {
			h[RealID{k, r.AddrPort()}] = initialHealth(s, r)
		}
	}
	return h
}

func initialHealth(s *config.Service, r *config.Real) RealHealth {
	return RealHealth{Up: !s.Alpha || len(r.Checks) == 0, Weight: -1}
}

// serviceKey gives a fwmark key its canonical form, as lb.State stores it.
func serviceKey(k lb.ServiceKey) lb.ServiceKey {
	if k.IsFWMark() {
		return lb.FWMarkKey(k.FWMark, k.Is6())
	}
	return k
}

// Defaults for check settings left at zero.
const (
	// DefaultInterval is keepalived's default delay_loop (KEEPALIVED_DEFAULT_DELAY, 60 s).
	DefaultInterval = 60 * time.Second
	// DefaultTimeout is keepalived's default connect_timeout (5 s); an external check
	// defaults to its interval instead (misc_timeout unset: delay_loop, check_misc.c).
	DefaultTimeout = 5 * time.Second
	// DefaultRetryDelay is keepalived's default delay_before_retry (1 s, check_api.c).
	DefaultRetryDelay = time.Second
)

func interval(c *config.Check) time.Duration {
	if c.Interval > 0 {
		return c.Interval
	}
	return DefaultInterval
}

func timeout(c *config.Check) time.Duration {
	switch {
	case c.Timeout > 0:
		return c.Timeout
	case c.Kind == config.CheckExternal:
		return interval(c)
	}
	return DefaultTimeout
}

func retryDelay(c *config.Check) time.Duration {
	if c.RetryDelay > 0 {
		return c.RetryDelay
	}
	return DefaultRetryDelay
}

// checkState is one check's state machine, keepalived's: is_up, has_run and retry_it of
// checker_t, stepped by one result at a time. It does no I/O and reads no clock.
type checkState struct {
	up      bool // the check passes (checker->is_up)
	hasRun  bool // a result was seen (checker->has_run)
	retryIt int  // failures counted against Retries (checker->retry_it)

	fails   int // consecutive failed results, for the status
	runs    uint64
	last    Result
	lastAt  time.Time
	lastDur time.Duration
}

// newCheckState returns the state of a check that has not run: up, or down with Alpha. As
// keepalived's check_parser.c does at start, "one failure is enough initially": retryIt
// starts at retries, so the first failed result decides without retrying.
func newCheckState(up bool, retries int) checkState {
	return checkState{up: up, retryIt: max(retries, 0)}
}

// checkStep is what one result did to a check.
type checkStep struct {
	changed bool // the check went up or down
	report  bool // the first result confirmed the state (see FirstResult)
	retry   bool // the next run comes after RetryDelay instead of Interval
}

// observe steps the state with one result, as the epilogues of keepalived's checkers do
// (dns_final in check_dns.c and misc_check_child_thread in check_misc.c, 2.2):
//
//   - a success resets the retry count and brings a down check up at once;
//   - a failure of an up check (or of the first run) is retried Retries times,
//     RetryDelay apart; the failure after the last retry takes the check down;
//   - failures of a check already down change nothing, and it is run every Interval.
//
// report follows update_svr_checker_state: a first result that leaves the state as it was
// is reported when the service has Alpha or the result is a failure.
func (s *checkState) observe(res Result, retries int, alpha bool) checkStep {
	var st checkStep
	first := !s.hasRun
	s.hasRun = true
	s.runs++
	if res.OK {
		s.fails = 0
		s.retryIt = 0
		if !s.up {
			s.up, st.changed = true, true
		} else if first && alpha {
			st.report = true
		}
		return st
	}
	s.fails++
	if !s.up && !first {
		return st
	}
	if s.retryIt < retries {
		s.retryIt++
		st.retry = true
		return st
	}
	s.retryIt = 0
	if s.up {
		s.up, st.changed = false, true
	} else {
		st.report = true
	}
	return st
}

// dynamicWeight returns the real's dynamic weight after an OK result of check c: the weight
// the result carries, or -1 (the configured weight) when a misc_dynamic check exits 0, as
// check_misc.c does (status 0: effective_weight = iweight). Other results keep cur.
func dynamicWeight(cur int32, c *config.Check, res Result) int32 {
	switch {
	case !res.OK:
		return cur
	case res.Weight >= 0:
		return int32(min(res.Weight, math.MaxInt32))
	case c.Dynamic:
		return -1
	}
	return cur
}
