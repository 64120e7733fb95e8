package health

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

const vip = "10.0.0.1:80"

// tableStep is one event for a Table and what must follow: the actions and the reals of
// the service in the table.
type tableStep struct {
	name  string
	do    func(t *Table) []Action
	acts  []string
	reals []string
}

func realTr(kind TransitionKind, ap string) func(*Table) []Action {
	return func(t *Table) []Action {
		return t.Step(Transition{Kind: kind, Service: svcKey(vip), Real: mustAP(ap), Up: kind == RealUp})
	}
}

func weightTr(ap string, w int32) func(*Table) []Action {
	return func(t *Table) []Action {
		return t.Step(Transition{Kind: WeightChanged, Service: svcKey(vip), Real: mustAP(ap), Weight: w, Dynamic: w >= 0})
	}
}

func runTable(t *testing.T, cfg *config.Config, h Health, startActs, startReals []string, steps []tableStep) *Table {
	t.Helper()
	if h == nil {
		h = InitialHealth(cfg)
	}
	tb, acts := NewTable(cfg, h)
	if got := actionStrings(acts); !reflect.DeepEqual(got, nonNil(startActs)) {
		t.Fatalf("start: actions %q, want %q", got, startActs)
	}
	if got := tableReals(tb.State(), svcKey(vip)); !reflect.DeepEqual(got, nonNil(startReals)) {
		t.Fatalf("start: table %q, want %q", got, startReals)
	}
	for _, st := range steps {
		acts := st.do(tb)
		if got := actionStrings(acts); !reflect.DeepEqual(got, nonNil(st.acts)) {
			t.Fatalf("%s: actions %q, want %q", st.name, got, st.acts)
		}
		if got := tableReals(tb.State(), svcKey(vip)); !reflect.DeepEqual(got, nonNil(st.reals)) {
			t.Fatalf("%s: table %q, want %q", st.name, got, st.reals)
		}
	}
	return tb
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func TestTableInhibitVersusRemove(t *testing.T) {
	r1 := mkReal("10.1.0.1:80", 3)
	r1.InhibitOnFailure = true
	r2 := mkReal("10.1.0.2:80", 2)
	runTable(t, mkConfig(mkService(vip, r1, r2)), nil, nil,
		[]string{"10.1.0.1:80=3", "10.1.0.2:80=2"},
		[]tableStep{
			{"inhibited real down", realTr(RealDown, "10.1.0.1:80"),
				[]string{"notify_down 10.1.0.1:80"}, []string{"10.1.0.1:80=0", "10.1.0.2:80=2"}},
			{"same state again", realTr(RealDown, "10.1.0.1:80"), nil,
				[]string{"10.1.0.1:80=0", "10.1.0.2:80=2"}},
			{"other real down: removed, quorum lost", realTr(RealDown, "10.1.0.2:80"),
				[]string{"notify_down 10.1.0.2:80", "quorum_down"}, []string{"10.1.0.1:80=0"}},
			{"back up: notify first, then quorum", realTr(RealUp, "10.1.0.2:80"),
				[]string{"notify_up 10.1.0.2:80", "quorum_up"}, []string{"10.1.0.1:80=0", "10.1.0.2:80=2"}},
			{"inhibited real up at its weight", realTr(RealUp, "10.1.0.1:80"),
				[]string{"notify_up 10.1.0.1:80"}, []string{"10.1.0.1:80=3", "10.1.0.2:80=2"}},
			{"unknown real ignored", func(t *Table) []Action {
				return t.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.9.9.9:80")})
			}, nil, []string{"10.1.0.1:80=3", "10.1.0.2:80=2"}},
		})
}

// TestTableQuorumHysteresis: quorum 5, hysteresis 2, three reals of weight 3: quorum is
// lost below 3 (or at 0) and regained at 7.
func TestTableQuorumHysteresis(t *testing.T) {
	svc := mkService(vip, mkReal("10.1.0.1:80", 3), mkReal("10.1.0.2:80", 3), mkReal("10.1.0.3:80", 3))
	svc.Quorum, svc.Hysteresis = 5, 2
	svc.QuorumUp, svc.QuorumDown = "/bin/qup", "/bin/qdown"
	tb := runTable(t, mkConfig(svc), nil, nil, []string{"10.1.0.1:80=3", "10.1.0.2:80=3", "10.1.0.3:80=3"},
		[]tableStep{
			{"sum 6", realTr(RealDown, "10.1.0.1:80"), []string{"notify_down 10.1.0.1:80"},
				[]string{"10.1.0.2:80=3", "10.1.0.3:80=3"}},
			{"sum 3: not below 5-2", realTr(RealDown, "10.1.0.2:80"), []string{"notify_down 10.1.0.2:80"},
				[]string{"10.1.0.3:80=3"}},
			{"sum 2 by weight: lost", weightTr("10.1.0.3:80", 2), []string{"quorum_down"},
				[]string{"10.1.0.3:80=2"}},
			{"sum 3: not regained", weightTr("10.1.0.3:80", -1), nil, []string{"10.1.0.3:80=3"}},
			{"sum 6: not regained", realTr(RealUp, "10.1.0.1:80"), []string{"notify_up 10.1.0.1:80"},
				[]string{"10.1.0.1:80=3", "10.1.0.3:80=3"}},
			{"sum 9: regained", realTr(RealUp, "10.1.0.2:80"), []string{"notify_up 10.1.0.2:80", "quorum_up"},
				[]string{"10.1.0.1:80=3", "10.1.0.2:80=3", "10.1.0.3:80=3"}},
			{"dynamic weight 0 stays in the table", weightTr("10.1.0.1:80", 0), nil,
				[]string{"10.1.0.1:80=0", "10.1.0.2:80=3", "10.1.0.3:80=3"}},
		})
	q, _ := tb.Quorum(svcKey(vip))
	if !q.Up || q.WeightSum != 6 || q.SorryServer {
		t.Errorf("quorum %+v", q)
	}
	tb2, _ := NewTable(mkConfig(svc), nil)
	acts := tb2.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.1:80")})
	acts = append(acts, tb2.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.2:80")})...)
	acts = append(acts, tb2.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.3:80")})...)
	last := acts[len(acts)-1]
	if last.Command != "/bin/qdown" || last.Reason != "Lost quorum 5-2=3 > 0" || last.Service != svcKey(vip) {
		t.Errorf("quorum_down action %+v", last)
	}
}

func sorryService(inhibit bool, quorum uint32) *config.Service {
	svc := mkService(vip, mkReal("10.1.0.1:80", 1), mkReal("10.1.0.2:80", 1))
	svc.Quorum = quorum
	svc.Sorry = &config.Sorry{Addr: netip.MustParseAddr("127.0.0.1"), Port: 8080, Forward: lb.Masq, Inhibit: inhibit}
	return svc
}

func TestTableSorryServer(t *testing.T) {
	t.Run("no inhibit", func(t *testing.T) {
		runTable(t, mkConfig(sorryService(false, 1)), nil, nil, []string{"10.1.0.1:80=1", "10.1.0.2:80=1"},
			[]tableStep{
				{"one down", realTr(RealDown, "10.1.0.1:80"), []string{"notify_down 10.1.0.1:80"},
					[]string{"10.1.0.2:80=1"}},
				{"all down: sorry in", realTr(RealDown, "10.1.0.2:80"),
					[]string{"notify_down 10.1.0.2:80", "quorum_down"}, []string{"127.0.0.1:8080=1"}},
				{"one up: sorry out", realTr(RealUp, "10.1.0.2:80"),
					[]string{"notify_up 10.1.0.2:80", "quorum_up"}, []string{"10.1.0.2:80=1"}},
			})
	})
	t.Run("inhibit", func(t *testing.T) {
		runTable(t, mkConfig(sorryService(true, 1)), nil, nil,
			[]string{"10.1.0.1:80=1", "10.1.0.2:80=1", "127.0.0.1:8080=0"},
			[]tableStep{
				{"one down", realTr(RealDown, "10.1.0.1:80"), []string{"notify_down 10.1.0.1:80"},
					[]string{"10.1.0.2:80=1", "127.0.0.1:8080=0"}},
				{"all down: sorry enabled", realTr(RealDown, "10.1.0.2:80"),
					[]string{"notify_down 10.1.0.2:80", "quorum_down"}, []string{"127.0.0.1:8080=1"}},
				{"one up: sorry disabled", realTr(RealUp, "10.1.0.1:80"),
					[]string{"notify_up 10.1.0.1:80", "quorum_up"}, []string{"10.1.0.1:80=1", "127.0.0.1:8080=0"}},
			})
	})
	// Quorum 2: when it is lost, the real still up leaves the table too
	// (perform_quorum_state), or goes to weight 0 with inhibit_on_failure; while the sorry
	// server serves, the reals' changes do not reach the table.
	t.Run("live reals removed while sorry serves", func(t *testing.T) {
		svc := sorryService(false, 2)
		svc.Reals[1].InhibitOnFailure = true
		runTable(t, mkConfig(svc), nil, nil, []string{"10.1.0.1:80=1", "10.1.0.2:80=1"},
			[]tableStep{
				{"sum 1 < 2: sorry in", realTr(RealDown, "10.1.0.1:80"),
					[]string{"notify_down 10.1.0.1:80", "quorum_down"}, []string{"10.1.0.2:80=0", "127.0.0.1:8080=1"}},
				{"weight up while sorry serves", weightTr("10.1.0.2:80", 1), nil,
					[]string{"10.1.0.2:80=0", "127.0.0.1:8080=1"}},
				{"sum 2: reals back", realTr(RealUp, "10.1.0.1:80"),
					[]string{"notify_up 10.1.0.1:80", "quorum_up"}, []string{"10.1.0.1:80=1", "10.1.0.2:80=1"}},
			})
	})
}

// TestTableAlphaStart: with Alpha every real starts down; a service with a sorry server
// starts with it and runs quorum_down ("Starting with quorum down"); one without runs
// nothing. A first failed check runs notify_down.
func TestTableAlphaStart(t *testing.T) {
	withSorry := sorryService(false, 1)
	withSorry.Alpha = true
	withSorry.Reals[0].Checks = []*config.Check{mkCheck(1)}
	withSorry.Reals[1].Checks = []*config.Check{mkCheck(1)}
	tb := runTable(t, mkConfig(withSorry), nil, []string{"quorum_down"}, []string{"127.0.0.1:8080=1"},
		[]tableStep{
			{"first failure", realTr(FirstResult, "10.1.0.1:80"), []string{"notify_down 10.1.0.1:80"},
				[]string{"127.0.0.1:8080=1"}},
			{"first success", realTr(RealUp, "10.1.0.2:80"), []string{"notify_up 10.1.0.2:80", "quorum_up"},
				[]string{"10.1.0.2:80=1"}},
		})
	_ = tb
	_, acts := NewTable(mkConfig(withSorry), nil)
	if !strings.HasPrefix(acts[0].Reason, "Starting with quorum down") {
		t.Errorf("reason %q", acts[0].Reason)
	}

	noSorry := sorryService(false, 1)
	noSorry.Sorry, noSorry.Alpha = nil, true
	noSorry.Reals[0].Checks = []*config.Check{mkCheck(1)}
	runTable(t, mkConfig(noSorry), nil, nil, []string{"10.1.0.2:80=1"}, nil) // real 2 has no check: up
}

// TestTableOmega: shutdown runs notify_down and quorum_down only with Omega; removing a
// service on reload runs them whatever Omega says.
func TestTableOmega(t *testing.T) {
	svc := mkService(vip, mkReal("10.1.0.1:80", 1), mkReal("10.1.0.2:80", 1))
	tb, _ := NewTable(mkConfig(svc), nil)
	tb.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.2:80")})
	if acts := tb.Shutdown(); len(acts) != 0 {
		t.Errorf("shutdown without omega: %q", actionStrings(acts))
	}
	svc.Omega = true
	tb, _ = NewTable(mkConfig(svc), nil)
	tb.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.2:80")})
	want := []string{"notify_down 10.1.0.1:80", "quorum_down"}
	if got := actionStrings(tb.Shutdown()); !reflect.DeepEqual(got, want) {
		t.Errorf("shutdown with omega: %q, want %q", got, want)
	}
	svc.Omega = false
	tb, _ = NewTable(mkConfig(svc), nil)
	if got := actionStrings(tb.Reload(mkConfig(), nil, "/etc/x.cf")); !reflect.DeepEqual(got,
		[]string{"notify_down 10.1.0.1:80", "notify_down 10.1.0.2:80", "quorum_down"}) {
		t.Errorf("service removed on reload: %q", got)
	}
	if st := tb.State(); len(st.Services) != 0 {
		t.Errorf("removed service still in the table")
	}
}

func TestTableReload(t *testing.T) {
	r3 := mkReal("10.1.0.3:80", 1, mkCheck(0))
	svc := sorryService(false, 1)
	cfg := mkConfig(svc)
	cfg.Global.Callback = "/usr/local/bin/cb --flag"
	tb, _ := NewTable(cfg, nil)

	// Real 1 removed while up; real 3 added (no notify); quorum raised to 3 with two reals
	// of weight 1 left: quorum lost at once, sorry in; the callback last.
	svc2 := sorryService(false, 3)
	svc2.Reals = []*config.Real{svc.Reals[1], r3}
	cfg2 := mkConfig(svc2)
	cfg2.Global.Callback = cfg.Global.Callback
	h := Health{{svcKey(vip), mustAP("10.1.0.2:80")}: {Up: true, Weight: -1},
		{svcKey(vip), mustAP("10.1.0.3:80")}: {Up: true, Weight: -1}}
	acts := tb.Reload(cfg2, h, "/etc/ha.d/ldirectord.cf")
	want := []string{"notify_down 10.1.0.1:80", "quorum_down", "callback /etc/ha.d/ldirectord.cf"}
	if got := actionStrings(acts); !reflect.DeepEqual(got, want) {
		t.Fatalf("actions %q, want %q", got, want)
	}
	if acts[2].Command != "/usr/local/bin/cb --flag" {
		t.Errorf("callback command %q", acts[2].Command)
	}
	if got := tableReals(tb.State(), svcKey(vip)); !reflect.DeepEqual(got, []string{"127.0.0.1:8080=1"}) {
		t.Errorf("table %q", got)
	}

	// A reload that changes a real's state (its failing check removed): notify, quorum.
	svc3 := sorryService(false, 1)
	svc3.Reals = []*config.Real{svc.Reals[1], r3}
	tb, _ = NewTable(mkConfig(svc3), nil)
	tb.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.2:80")})
	tb.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.3:80")})
	h[RealID{svcKey(vip), mustAP("10.1.0.3:80")}] = RealHealth{Up: true, Weight: -1}
	h[RealID{svcKey(vip), mustAP("10.1.0.2:80")}] = RealHealth{Up: false, Weight: -1}
	got := actionStrings(tb.Reload(mkConfig(svc3), h, ""))
	if want := []string{"notify_up 10.1.0.3:80", "quorum_up"}; !reflect.DeepEqual(got, want) {
		t.Errorf("actions %q, want %q", got, want)
	}
}

// TestTableStateShared: State reuses unchanged services and never returns a state that a
// later change modifies.
func TestTableStateShared(t *testing.T) {
	a := mkService(vip, mkReal("10.1.0.1:80", 1))
	b := mkService("10.0.0.2:80", mkReal("10.1.0.2:80", 1))
	tb, _ := NewTable(mkConfig(a, b), nil)
	st1 := tb.State()
	tb.Step(Transition{Kind: RealDown, Service: svcKey(vip), Real: mustAP("10.1.0.1:80")})
	st2 := tb.State()
	if st1.Services[1] != st2.Services[1] {
		t.Error("unchanged service rebuilt")
	}
	if len(st1.Services[0].Reals) != 1 || len(st2.Services[0].Reals) != 0 {
		t.Error("a published state changed")
	}
}
