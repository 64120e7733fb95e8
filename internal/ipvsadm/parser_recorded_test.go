package ipvsadm

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// parserCase is one case of testdata/parser-cases.out, recorded from the real ipvsadm 1.31
// and kernel by testdata/record/record-parser from testdata/record/parser-cases.txt.
type parserCase struct {
	line            string // the case line: shell words, optionally TAB and a printf format for stdin
	rc              int
	out, err, saved string
}

func loadParserCases(t *testing.T) []parserCase {
	t.Helper()
	data, err := os.ReadFile("testdata/parser-cases.out")
	if err != nil {
		t.Fatal(err)
	}
	var cases []parserCase
	for len(data) > 0 {
		line := func() string {
			i := bytes.IndexByte(data, '\n')
			if i < 0 {
				t.Fatal("parser-cases.out: truncated")
			}
			l := string(data[:i])
			data = data[i+1:]
			return l
		}
		section := func(name string) string {
			var n int
			h := strings.Fields(line())
			if len(h) != 2 || h[0] != name {
				t.Fatalf("parser-cases.out: want section %s, got %q", name, h)
			}
			n, _ = strconv.Atoi(h[1])
			s := string(data[:n])
			data = data[n+1:]
			return s
		}
		var c parserCase
		c.line = strings.TrimPrefix(line(), "=== ")
		c.rc, _ = strconv.Atoi(strings.TrimPrefix(line(), "rc "))
		c.out, c.err, c.saved = section("out"), section("err"), section("save")
		cases = append(cases, c)
	}
	return cases
}

// shellWords splits a case line as sh does for the quoting the corpus uses: blanks separate
// words, '...' quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	in, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			in, quoted = true, true
		case c == ' ' || c == '\t':
			if in || quoted {
				words = append(words, cur.String())
			}
			cur.Reset()
			in, quoted = false, false
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in || quoted {
		words = append(words, cur.String())
	}
	return words
}

// printfFormat expands the escapes printf(1) gives \n, \t and \r.
func printfFormat(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r").Replace(s)
}

// lbDiffers lists recorded cases where the sim's kernel model (lb.State) differs from the
// real kernel, so only the parse is checked there: check gets the parsed command.
func lbDiffers() map[string]lbDiff {
	return map[string]lbDiff{}
}

type lbDiff struct {
	why   string
	check func(*Command) bool
}

// TestRecordedParserCases replays the recorded corpus: for each case, the baseline table is
// restored, the command runs through Parse and the sim, and its exit status, stdout, stderr
// and the table saved afterwards (ipvsadm -S -n) must equal the real ipvsadm's.
func TestRecordedParserCases(t *testing.T) {
	baseline, err := os.ReadFile("testdata/record/parser-baseline.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := loadParserCases(t)
	if len(cases) < 200 {
		t.Fatalf("only %d recorded parser cases", len(cases))
	}
	// The kernel's hash order of the baseline's services, as the recorded --nosort listing
	// shows it.
	kernelOrder := []string{"UDP 10.9.0.4:53", "TCP 10.9.0.1:80", "TCP [fd00::9]:80", "FWM 1"}
	differs := lbDiffers()
	for _, c := range cases {
		s := newSim(testResolver())
		if _, errs, st := s.run("ipvsadm -R", string(baseline)); st != 0 {
			t.Fatalf("baseline: %s", errs)
		}
		slices.SortStableFunc(s.t.Services, func(a, b ServiceView) int {
			return slices.Index(kernelOrder, numericKey(&a)) - slices.Index(kernelOrder, numericKey(&b))
		})
		args, input, _ := strings.Cut(c.line, "\t")
		if d, ok := differs[c.line]; ok {
			cmd, err := s.parser.Parse(shellWords(args))
			if err != nil || !d.check(cmd) {
				t.Errorf("ipvsadm %s: parsed %+v, %v", c.line, cmd, err)
			}
			t.Logf("%s: parse checked only: %s", c.line, d.why)
			continue
		}
		out, errs, st := s.runArgs(shellWords(args), printfFormat(input))
		saved, _, _ := s.run("ipvsadm -S -n", "")
		if st != c.rc || out != c.out || errs != c.err || saved != c.saved {
			t.Errorf("ipvsadm %s\n got: status %d\nstdout:\n%s\nstderr:\n%s\nsaved:\n%s\nwant: status %d\nstdout:\n%s\nstderr:\n%s\nsaved:\n%s",
				c.line, st, out, errs, saved, c.rc, c.out, c.err, c.saved)
		}
	}
	t.Logf("%d recorded parser cases", len(cases))
}
