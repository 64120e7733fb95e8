package ldirectord

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// goRegexp translates a receive string into Go's regexp syntax. ldirectord matches it as a
// Perl pattern (`$content =~ /$receive/`, no flags), so:
//
//   - "$" and "\Z" match at the end or before a final newline: they become (?:\n?\z), which
//     is the same test wherever nothing but the end of an alternative follows them;
//   - escapes Perl does not know (\Q, \E, \U, \y, ...) are the letter itself, as Perl passes
//     them through; \e, \cX, \o{...} and one-digit \xH become \x{...}; \N is [^\n];
//     \b in a character class is a backspace and \1..\7 there are octal;
//   - x{,n} is {0,n} (Perl 5.34 and later);
//   - (?#...) comments are dropped.
//
// It returns an error naming the construct when the pattern uses what Go's regexp cannot
// express: backreferences, lookahead and lookbehind, atomic groups, possessive quantifiers,
// recursion, conditionals, code blocks, backtracking verbs, \G \K \R \X \h \v, and the
// x, m and other non-Go flags; and Go's own error when the result does not compile.
func goRegexp(perl string) (string, error) {
	t := &translator{src: perl}
	if err := t.run(); err != nil {
		return "", err
	}
	out := t.out.String()
	if _, err := regexp.Compile(out); err != nil {
		return "", fmt.Errorf("not a regular expression Go can use: %v", err)
	}
	return out, nil
}

type translator struct {
	src    string
	i      int
	groups int // capture groups opened so far
	out    strings.Builder
}

func unsupported(what string) error {
	return fmt.Errorf("Perl's %s cannot be expressed in Go's regexp syntax", what)
}

func (t *translator) run() error {
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch c {
		case '\\':
			if err := t.escape(false); err != nil {
				return err
			}
			continue
		case '[':
			if err := t.class(); err != nil {
				return err
			}
			continue
		case '(':
			if err := t.group(); err != nil {
				return err
			}
			continue
		case '$':
			t.out.WriteString(`(?:\n?\z)`)
		case '{':
			if t.quantifier() {
				if err := t.possessive(); err != nil {
					return err
				}
				continue
			}
			t.out.WriteByte(c)
		case '*', '+', '?':
			t.out.WriteByte(c)
			t.i++
			if err := t.possessive(); err != nil {
				return err
			}
			continue
		default:
			t.out.WriteByte(c)
		}
		t.i++
	}
	return nil
}

// possessive refuses a "+" after a quantifier; a "?" (lazy) is copied.
func (t *translator) possessive() error {
	if t.i < len(t.src) {
		switch t.src[t.i] {
		case '+':
			return unsupported("possessive quantifier")
		case '?':
			t.out.WriteByte('?')
			t.i++
		}
	}
	return nil
}

var reQuantifier = regexp.MustCompile(`^\{([0-9]*)(,([0-9]*))?\}`)

// quantifier copies a {n}, {n,}, {n,m} or {,m} quantifier at t.i, or reports there is none
// (Perl then reads "{" as a literal).
func (t *translator) quantifier() bool {
	m := reQuantifier.FindStringSubmatch(t.src[t.i:])
	if m == nil || (m[1] == "" && m[3] == "") || (m[1] == "" && m[2] == "") {
		return false
	}
	if m[1] == "" {
		t.out.WriteString("{0" + m[2] + "}")
	} else {
		t.out.WriteString(m[0])
	}
	t.i += len(m[0])
	return true
}

// escape translates the escape at t.i (a backslash), inside a character class or not.
func (t *translator) escape(inClass bool) error {
	if t.i+1 >= len(t.src) {
		return errors.New("trailing \\ in regex")
	}
	d := t.src[t.i+1]
	t.i += 2
	switch {
	case d >= '1' && d <= '9' && !inClass:
		// \1..\9 are backreferences; \10 and up too when that many groups came
		// before, else octal (perlre, "Capture groups").
		j := t.i
		for j < len(t.src) && t.src[j] >= '0' && t.src[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(t.src[t.i-1 : j])
		if j == t.i || n <= t.groups || d > '7' {
			return unsupported(`backreference \` + t.src[t.i-1:j])
		}
		t.i--
		return t.octal()
	case d >= '0' && d <= '7':
		t.i--
		return t.octal()
	case d == '8' || d == '9':
		t.out.WriteByte(d)
	case d == 'b' && inClass:
		t.out.WriteString(`\x08`)
	case strings.IndexByte("dDwWsSpP", d) >= 0, !inClass && strings.IndexByte("bBAz", d) >= 0:
		t.out.WriteByte('\\')
		t.out.WriteByte(d)
	case strings.IndexByte("afnrt", d) >= 0:
		t.out.WriteByte('\\')
		t.out.WriteByte(d)
	case d == 'Z' && !inClass:
		t.out.WriteString(`(?:\n?\z)`)
	case d == 'e':
		t.out.WriteString(`\x1b`)
	case d == 'c':
		if t.i >= len(t.src) {
			return errors.New(`missing control character after \c`)
		}
		x := t.src[t.i]
		if x >= 'a' && x <= 'z' {
			x -= 'a' - 'A'
		}
		fmt.Fprintf(&t.out, `\x{%x}`, x^64)
		t.i++
	case d == 'x':
		return t.hex()
	case d == 'o':
		end := strings.IndexByte(t.src[t.i:], '}')
		if t.i >= len(t.src) || t.src[t.i] != '{' || end < 0 {
			return errors.New(`missing braces on \o{}`)
		}
		n, err := strconv.ParseUint(t.src[t.i+1:t.i+end], 8, 32)
		if err != nil {
			return fmt.Errorf(`bad octal escape \o%s`, t.src[t.i:t.i+end+1])
		}
		fmt.Fprintf(&t.out, `\x{%x}`, n)
		t.i += end + 1
	case d == 'N' && !inClass && (t.i >= len(t.src) || t.src[t.i] != '{'):
		t.out.WriteString(`[^\n]`)
	case d == 'N':
		return unsupported(`named character \N{...}`)
	case d == 'g' || d == 'k':
		return unsupported(`backreference \` + string(d))
	case strings.IndexByte("GKRXhHvVC", d) >= 0 || (inClass && strings.IndexByte("BAzZ", d) >= 0):
		return unsupported(`\` + string(d))
	case d >= 'a' && d <= 'z' || d >= 'A' && d <= 'Z':
		t.out.WriteByte(d) // an escape Perl does not know is the letter itself
	case d >= 0x80:
		t.out.WriteByte(d) // a byte of a multi-byte character: itself
	default:
		t.out.WriteByte('\\')
		t.out.WriteByte(d)
	}
	return nil
}

// octal translates an octal escape of up to three digits at t.i (after the backslash).
func (t *translator) octal() error {
	j := t.i
	for j < len(t.src) && j < t.i+3 && t.src[j] >= '0' && t.src[j] <= '7' {
		j++
	}
	n, _ := strconv.ParseUint(t.src[t.i:j], 8, 32)
	t.i = j
	fmt.Fprintf(&t.out, `\x{%x}`, n)
	return nil
}

// hex translates \xHH, \xH, \x (a NUL) and \x{...} at t.i (after the "x").
func (t *translator) hex() error {
	if t.i < len(t.src) && t.src[t.i] == '{' {
		end := strings.IndexByte(t.src[t.i:], '}')
		if end < 0 {
			return errors.New(`missing right brace on \x{}`)
		}
		digits := strings.TrimSpace(t.src[t.i+1 : t.i+end])
		n := uint64(0)
		if digits != "" {
			var err error
			if n, err = strconv.ParseUint(digits, 16, 32); err != nil {
				return fmt.Errorf(`bad hex escape \x%s`, t.src[t.i:t.i+end+1])
			}
		}
		fmt.Fprintf(&t.out, `\x{%x}`, n)
		t.i += end + 1
		return nil
	}
	j := t.i
	for j < len(t.src) && j < t.i+2 && strings.IndexByte("0123456789abcdefABCDEF", t.src[j]) >= 0 {
		j++
	}
	n := uint64(0)
	if j > t.i {
		n, _ = strconv.ParseUint(t.src[t.i:j], 16, 8)
	}
	fmt.Fprintf(&t.out, `\x{%x}`, n)
	t.i = j
	return nil
}

// class copies a bracketed character class at t.i.
func (t *translator) class() error {
	t.out.WriteByte('[')
	t.i++
	if t.i < len(t.src) && t.src[t.i] == '^' {
		t.out.WriteByte('^')
		t.i++
	}
	if t.i < len(t.src) && t.src[t.i] == ']' { // a leading "]" is a literal
		t.out.WriteString(`\]`)
		t.i++
	}
	for t.i < len(t.src) {
		c := t.src[t.i]
		switch {
		case c == ']':
			t.out.WriteByte(']')
			t.i++
			return nil
		case c == '\\':
			if err := t.escape(true); err != nil {
				return err
			}
		case c == '[' && t.i+1 < len(t.src) && (t.src[t.i+1] == ':' || t.src[t.i+1] == '.' || t.src[t.i+1] == '='):
			end := strings.Index(t.src[t.i+2:], string(t.src[t.i+1])+"]")
			if end < 0 {
				t.out.WriteString(`\[`)
				t.i++
				continue
			}
			if t.src[t.i+1] != ':' {
				return unsupported("POSIX collating element [" + string(t.src[t.i+1]) + "...]")
			}
			t.out.WriteString(t.src[t.i : t.i+2+end+2])
			t.i += 2 + end + 2
		case c == '[':
			t.out.WriteString(`\[`)
			t.i++
		default:
			t.out.WriteByte(c)
			t.i++
		}
	}
	return errors.New("unmatched [ in regex")
}

var reNamedGroup = regexp.MustCompile(`^\(\?(?:P?<([A-Za-z_][A-Za-z0-9_]*)>|'([A-Za-z_][A-Za-z0-9_]*)')`)
var reFlagGroup = regexp.MustCompile(`^\(\?([A-Za-z^]*)(?:-([A-Za-z]*))?([:)])`)

// group translates the opening of a group at t.i.
func (t *translator) group() error {
	rest := t.src[t.i:]
	switch {
	case strings.HasPrefix(rest, "(*"):
		return unsupported("backtracking control verb (*...)")
	case !strings.HasPrefix(rest, "(?"):
		t.out.WriteByte('(')
		t.i++
		t.groups++
		return nil
	case strings.HasPrefix(rest, "(?:"):
		t.out.WriteString("(?:")
		t.i += 3
		return nil
	case strings.HasPrefix(rest, "(?#"):
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			return errors.New("sequence (?#... not terminated")
		}
		t.i += end + 1
		return nil
	case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"):
		return unsupported("lookahead " + rest[:3])
	case strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
		return unsupported("lookbehind " + rest[:4])
	case strings.HasPrefix(rest, "(?>"):
		return unsupported("atomic group (?>...)")
	case strings.HasPrefix(rest, "(?|"):
		return unsupported("branch reset (?|...)")
	case strings.HasPrefix(rest, "(?("):
		return unsupported("conditional (?(...)...)")
	case strings.HasPrefix(rest, "(?{"), strings.HasPrefix(rest, "(??{"):
		return unsupported("code block (?{...})")
	case strings.HasPrefix(rest, "(?P="):
		return unsupported("named backreference (?P=...)")
	case strings.HasPrefix(rest, "(?P>"), strings.HasPrefix(rest, "(?&"), strings.HasPrefix(rest, "(?R"):
		return unsupported("recursion")
	}
	if len(rest) > 2 && (rest[2] >= '0' && rest[2] <= '9' || rest[2] == '+' || rest[2] == '-' && len(rest) > 3 && rest[3] >= '0' && rest[3] <= '9') {
		return unsupported("recursion")
	}
	if m := reNamedGroup.FindStringSubmatch(rest); m != nil {
		t.groups++
		t.out.WriteString("(?P<" + m[1] + m[2] + ">")
		t.i += len(m[0])
		return nil
	}
	if m := reFlagGroup.FindStringSubmatch(rest); m != nil {
		for _, f := range m[1] + m[2] {
			if f != 'i' && f != 's' {
				return unsupported(fmt.Sprintf("(?%c) flag", f))
			}
		}
		t.out.WriteString(m[0])
		t.i += len(m[0])
		return nil
	}
	return fmt.Errorf("unknown group construct %q", rest[:min(len(rest), 4)])
}
