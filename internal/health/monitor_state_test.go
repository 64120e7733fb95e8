package health

import (
	"testing"

	"github.com/golvs/golvs/internal/config"
)

// TestCheckStateMachine steps one check with sequences of results. Each step is a result
// ('+' pass, '-' fail) and what the check must do: its state after ('U'/'D') and the flag
// of the step ('c' changed, 'r' report, 't' retry, '.' nothing).
func TestCheckStateMachine(t *testing.T) {
	tests := []struct {
		name    string
		alpha   bool
		retries int
		steps   []string // "result state flag"
	}{
		{"start up, one failure is enough initially", false, 2,
			[]string{"- D c", "- D .", "+ U c"}},
		{"first success without alpha reports nothing", false, 1,
			[]string{"+ U .", "+ U ."}},
		{"retries before down, RetryDelay apart", false, 2,
			[]string{"+ U .", "- U t", "- U t", "- D c", "- D .", "- D ."}},
		{"a success resets the retries", false, 2,
			[]string{"+ U .", "- U t", "+ U .", "- U t", "- U t", "- D c"}},
		{"no retries: first failure takes it down", false, 0,
			[]string{"+ U .", "- D c", "+ U c"}},
		{"recovery is immediate after down", false, 3,
			[]string{"+ U .", "- U t", "- U t", "- U t", "- D c", "+ U c", "- U t"}},
		{"alpha starts down, first failure reported", true, 2,
			[]string{"- D r", "- D .", "- D .", "+ U c", "- U t"}},
		{"alpha first success brings it up", true, 1,
			[]string{"+ U c", "+ U ."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newCheckState(!tt.alpha, tt.retries)
			for i, step := range tt.steps {
				res := resFail("refused")
				if step[0] == '+' {
					res = resOK()
				}
				st := s.observe(res, tt.retries, tt.alpha)
				got := "D"
				if s.up {
					got = "U"
				}
				flag := "."
				switch {
				case st.changed:
					flag = "c"
				case st.report:
					flag = "r"
				case st.retry:
					flag = "t"
				}
				if want := step[2:]; got+" "+flag != want {
					t.Fatalf("step %d (%c): got %s %s, want %s", i, step[0], got, flag, want)
				}
			}
		})
	}
}

func TestDynamicWeight(t *testing.T) {
	misc := &config.Check{Kind: config.CheckExternal, Dynamic: true}
	tcp := &config.Check{Kind: config.CheckTCP}
	tests := []struct {
		name string
		cur  int32
		c    *config.Check
		res  Result
		want int32
	}{
		{"exit 7 sets 5", -1, misc, resWeight(5), 5},
		{"exit 2 sets 0", 5, misc, resWeight(0), 0},
		{"exit 0 resets to configured", 5, misc, resOK(), -1},
		{"failure keeps", 5, misc, resFail("exit status 1"), 5},
		{"tcp success keeps a dynamic weight", 5, tcp, resOK(), 5},
	}
	for _, tt := range tests {
		if got := dynamicWeight(tt.cur, tt.c, tt.res); got != tt.want {
			t.Errorf("%s: got %d, want %d", tt.name, got, tt.want)
		}
	}
}
