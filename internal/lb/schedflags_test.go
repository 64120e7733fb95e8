package lb

import "testing"

func TestParseSchedFlags(t *testing.T) {
	cases := []struct {
		sched, arg string
		want       SvcFlags
		err        string
	}{
		{"rr", "", 0, ""},
		{"rr", "flag-1,flag-3", Sched1 | Sched3, ""},
		{"sh", "sh-fallback,sh-port", Sched1 | Sched2, ""},
		{"mh", ",mh-port,,", Sched2, ""},
		{"sh", "flag-2", Sched2, ""},
		{"rr", "sh-port", 0, "incompatible scheduler flag `sh-port'"},
		{"sh", "mh-fallback", 0, "incompatible scheduler flag `mh-fallback'"},
		{"sh", "sh-bogus", 0, "invalid scheduler flag `sh-bogus'"},
		{"rr", "flag-4", 0, "invalid scheduler flag `flag-4'"},
	}
	for _, c := range cases {
		got, err := ParseSchedFlags(c.sched, c.arg)
		switch {
		case c.err != "" && (err == nil || err.Error() != c.err):
			t.Errorf("%s %q: error %v, want %q", c.sched, c.arg, err, c.err)
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s %q: %v, %v; want %v", c.sched, c.arg, got, err, c.want)
		}
	}
}
