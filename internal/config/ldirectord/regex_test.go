package ldirectord

import (
	"bufio"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

func TestGoRegexp(t *testing.T) {
	for _, c := range []struct{ perl, goRE, err string }{
		{perl: "Test Page", goRE: "Test Page"},
		{perl: `^OK$`, goRE: `^OK(?:\n?\z)`},
		{perl: `a\Z`, goRE: `a(?:\n?\z)`},
		{perl: `[$]x`, goRE: `[$]x`},
		{perl: `\$5`, goRE: `\$5`},
		{perl: `a\Qb\E`, goRE: `aQbE`},
		{perl: `\e\cA\x4\x{263a}\o{101}\101`, goRE: `\x1b\x{1}\x{4}\x{263a}\x{41}\x{41}`},
		{perl: `\N+`, goRE: `[^\n]+`},
		{perl: `[\b\1]`, goRE: `[\x08\x{1}]`},
		{perl: `[]a]`, goRE: `[\]a]`},
		{perl: `[^]a[:alpha:]]`, goRE: `[^\]a[:alpha:]]`},
		{perl: `a{,3}b{2,}c{1}`, goRE: `a{0,3}b{2,}c{1}`},
		{perl: `x{y}`, goRE: `x{y}`},
		{perl: `a+?b*?`, goRE: `a+?b*?`},
		{perl: `(?i)ok(?-i:X)(?s:.)`, goRE: `(?i)ok(?-i:X)(?s:.)`},
		{perl: `(?<n>a)(?'m'b)(?P<o>c)`, goRE: `(?P<n>a)(?P<m>b)(?P<o>c)`},
		{perl: `a(?# comment )b`, goRE: `ab`},
		{perl: `\d+\.\w\s\b`, goRE: `\d+\.\w\s\b`},
		{perl: `(a)\1`, err: `backreference \1`},
		{perl: `\g{1}`, err: `backreference \g`},
		{perl: `\k<n>`, err: `backreference \k`},
		{perl: `a(?=b)`, err: "lookahead (?="},
		{perl: `(?<!a)b`, err: "lookbehind (?<!"},
		{perl: `(?>a+)`, err: "atomic group"},
		{perl: `a++`, err: "possessive quantifier"},
		{perl: `a{2}+`, err: "possessive quantifier"},
		{perl: `(?|a|b)`, err: "branch reset"},
		{perl: `(?(1)a|b)`, err: "conditional"},
		{perl: `(?{ 1 })`, err: "code block"},
		{perl: `(?R)`, err: "recursion"},
		{perl: `(?1)`, err: "recursion"},
		{perl: `(*FAIL)`, err: "backtracking control verb"},
		{perl: `(?x) a b`, err: "(?x) flag"},
		{perl: `(?m)^a$`, err: "(?m) flag"},
		{perl: `\Gx`, err: `\G`},
		{perl: `a\Kb`, err: `\K`},
		{perl: `\R`, err: `\R`},
		{perl: `\h`, err: `\h`},
		{perl: `\N{U+263A}`, err: `named character`},
		{perl: `a\`, err: `trailing \`},
		{perl: `[a`, err: "unmatched ["},
		{perl: `(a`, err: "not a regular expression Go can use"},
		{perl: `a{1001}`, err: "not a regular expression Go can use"},
	} {
		got, err := goRegexp(c.perl)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("goRegexp(%q) = %q, %v; want error %q", c.perl, got, err, c.err)
		case c.err == "" && (err != nil || got != c.goRE):
			t.Errorf("goRegexp(%q) = %q, %v; want %q", c.perl, got, err, c.goRE)
		}
	}
}

// TestRegexpOracle matches translated patterns against subjects and compares with what
// Perl matched (testdata/oracle/regex.txt, recorded by record.sh into regex.out).
func TestRegexpOracle(t *testing.T) {
	in, err := os.ReadFile("testdata/oracle/regex.txt")
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.ReadFile("testdata/oracle/regex.out")
	if err != nil {
		t.Fatalf("%v (run testdata/oracle/record.sh)", err)
	}
	results := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	sc := bufio.NewScanner(strings.NewReader(string(in)))
	i := 0
	for sc.Scan() {
		pattern, subject, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		subject = unescape(subject)
		if i >= len(results) {
			t.Fatalf("regex.out has %d results; record again", len(results))
		}
		want := results[i]
		i++
		re, err := goRegexp(pattern)
		if err != nil {
			t.Errorf("%q: %v", pattern, err)
			continue
		}
		got := "0"
		if regexp.MustCompile(re).MatchString(subject) {
			got = "1"
		}
		if got != want {
			t.Errorf("%q (Go %q) on %q: Go %s, Perl %s", pattern, re, subject, got, want)
		}
	}
	if i != len(results) {
		t.Errorf("%d patterns, %d results; record again", i, len(results))
	}
}

// TestQuoteArg checks that config.SplitCommand reads every quoted word back whole.
func TestQuoteArg(t *testing.T) {
	for _, s := range []string{"/bin/true", "[2001:db8::1]", "a b", `it's`, `back\slash`, `"q"`, "tab\there", "$HOME", "x'\\'y"} {
		got, err := config.SplitCommand("cmd " + quoteArg(s))
		if err != nil || len(got) != 2 || got[1] != s {
			t.Errorf("SplitCommand(%q) = %q, %v; want [cmd %q]", "cmd "+quoteArg(s), got, err, s)
		}
	}
	for line, want := range map[string][]string{
		"/bin/fb start 10.0.0.1:80 tcp":        {"/bin/fb", "start", "10.0.0.1:80", "tcp"},
		`"/bin/fb" start 10.0.0.1:80 tcp`:      {"/bin/sh", "-c", `"/bin/fb" start 10.0.0.1:80 tcp`},
		"/bin/fb start [2001:db8::1]:80 tcp":   {"/bin/sh", "-c", "/bin/fb start [2001:db8::1]:80 tcp"},
		"/bin/fb start 1:80 tcp >>/tmp/fb.log": {"/bin/sh", "-c", "/bin/fb start 1:80 tcp >>/tmp/fb.log"},
	} {
		got, err := config.SplitCommand(shellCommand(line))
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("shellCommand(%q) splits into %q, %v; want %q", line, got, err, want)
		}
	}
}
