package ipvsadm

import (
	"slices"
	"strings"
	"testing"
)

func TestParseRestoreWords(t *testing.T) {
	for _, tt := range []struct {
		name  string
		input string
		lines []int
		words [][]string
	}{
		{"plain", "-C\n-Z\n", []int{1, 2}, [][]string{{"-C"}, {"-Z"}}},
		{"blank lines and indents", "\n\n  \t\n ipvsadm -C\n\t-Z  ipvsadm \n", []int{4, 5}, [][]string{{"-C"}, {"-Z"}}},
		{"crlf", "-C\r\n-Z\r\n", []int{1, 2}, [][]string{{"-C"}, {"-Z"}}},
		{"no final newline", "-C\n-Z", []int{1, 2}, [][]string{{"-C"}, {"-Z"}}},
		{"one trailing blank", "-C\n-Z ", []int{1, 2}, [][]string{{"-C"}, {"-Z"}}},
		{"two trailing blanks drop the line", "-C\n-Z  ", []int{1}, [][]string{{"-C"}}},
		{"blank line at the end stops", "-C\n  ", []int{1}, [][]string{{"-C"}}},
		{"only ipvsadm", "ipvsadm\n-C\n", []int{2}, [][]string{{"-C"}}},
		{"NUL ends a word", "-C\x00x\n", []int{1}, [][]string{{"-C"}}},
		{"comment is a word", "# hi\n", []int{1}, [][]string{{"#", "hi"}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := testParser().ParseRestore(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			var nums []int
			var words [][]string
			for _, l := range lines {
				nums = append(nums, l.Line)
				words = append(words, l.Args)
			}
			if !slices.Equal(nums, tt.lines) || !slices.EqualFunc(words, tt.words, slices.Equal) {
				t.Errorf("lines %v words %q, want %v %q", nums, words, tt.lines, tt.words)
			}
		})
	}
}

func TestParseRestoreErrors(t *testing.T) {
	lines, err := testParser().ParseRestore(strings.NewReader("-A -t 10.9.0.70:80\n# comment\n-A -Q\n-R\n-A -t 10.9.0.300:80\n-h\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		msg    string
		status int
		fatal  bool
	}{
		{"", 0, false},
		{"Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255, true},
		{"-Q: unknown option", 255, false},
		{"Try `ipvsadm -h' or 'ipvsadm --help' for more information.", 255, true},
		{"illegal virtual server address[:port] specified", 2, true},
		{"", 0, false},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		w := want[i]
		switch {
		case w.msg == "" && (l.Err != nil || l.Cmd == nil):
			t.Errorf("line %d: %v", l.Line, l.Err)
		case w.msg != "" && (l.Err == nil || l.Err.Msg != w.msg || l.Err.Status != w.status || l.Err.Fatal != w.fatal || l.Cmd != nil):
			t.Errorf("line %d: %+v, want %+v", l.Line, l.Err, w)
		}
	}
	if lines[5].Cmd.Kind != Help {
		t.Errorf("line 6: %v", lines[5].Cmd.Kind)
	}
}

// TestSaveRestoreRoundTrip: what -S writes, -R reads back into the same table, with and
// without -n, for every kind of service and real the model has.
func TestSaveRestoreRoundTrip(t *testing.T) {
	setup := []string{
		"-A -t 10.9.0.1:80 -s wlc",
		"-a -t 10.9.0.1:80 -r 10.1.0.11:80 -m -w 3",
		"-a -t 10.9.0.1:80 -r 10.1.0.12:8080 -m -w 0",
		"-A -t 10.9.0.3:80 -s sh -b sh-fallback,sh-port",
		"-a -t 10.9.0.3:80 -r 10.1.0.11 -i",
		"-a -t 10.9.0.3:80 -r 10.1.0.12 -i --tun-type gue --tun-port 6080 --tun-remcsum",
		"-a -t 10.9.0.3:80 -r 10.1.0.13 -i --tun-type gre --tun-csum",
		"-A -u 10.9.0.4:53 -s rr -o",
		"-a -u 10.9.0.4:53 -r 10.1.0.12:5353 -m",
		"-A -u 10.9.0.10:5060 -s rr -p 60 --pe sip",
		"-A -t 10.9.0.6:0 -s rr -p",
		"-a -t 10.9.0.6:0 -r 10.1.0.11 -g -w 5",
		"-A -t 10.9.0.7:80 -s wrr -b flag-1,flag-3",
		"-A --sctp-service 10.9.0.8:3868 -s nq",
		"-a --sctp-service 10.9.0.8:3868 -r 10.1.0.12:3868 -m",
		"-A -t [fd00::9]:80 -s dh -p 30 -M 64",
		"-a -t [fd00::9]:80 -r [fd01::11]:8080 -m -w 2",
		"-a -t [fd00::9]:80 -r 10.1.0.11:80 -i",
		"-A -f 1 -s wlc -p 600 -M 255.255.255.0",
		"-a -f 1 -r 10.1.0.11:0 -g",
		"-A -f 2 -6 -s rr -p 60 -M 48",
		"-a -f 2 -6 -r [fd01::12]:0 -g",
	}
	s := newSim(testResolver())
	for _, l := range setup {
		if _, errs, st := s.run(l, ""); st != 0 {
			t.Fatalf("%s: %s", l, errs)
		}
	}
	want, _, _ := s.run("-S -n", "")
	for _, save := range []string{"-S -n", "-S"} {
		rules, _, _ := s.run(save, "")
		r := newSim(testResolver())
		if _, errs, st := r.run("-R", rules); st != 0 {
			t.Fatalf("%s | -R: status %d %s", save, st, errs)
		}
		if got, _, _ := r.run("-S -n", ""); got != want {
			t.Errorf("%s | -R | -S -n:\n%s\nwant:\n%s", save, got, want)
		}
	}
}
