package keepalived

import (
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// stmt is one keyword line with its arguments and, when it opens one, its block.
type stmt struct {
	pos  config.Pos
	kw   string
	args []string // the words after the keyword, quotes removed
	// raw is the text after the keyword as written (quotes kept), up to the end of the
	// line or the next unquoted brace.
	raw      string
	hasBlock bool
	block    []*stmt
}

// stripComment cuts text at the first '#' or '!' outside quotes.
func stripComment(text string) string {
	var q byte
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case q != 0:
			if c == '\\' && q == '"' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '"' || c == '\'':
			q = c
		case c == '#' || c == '!':
			return text[:i]
		}
	}
	return text
}

// token is a word of a line, or a brace.
type token struct {
	text       string
	brace      bool // an unquoted '{' or '}'
	start, end int  // byte offsets in the line
}

// tokenize splits a line into words and braces. Quotes (" or ') group blanks into a word and
// are removed; a quoted part may touch unquoted text ("abc"def is one word abcdef); inside
// double quotes a backslash escapes the next character (\n, \t and \\ as in C). An
// unterminated quote runs to the end of the line and is reported through ok.
func tokenize(text string) (toks []token, ok bool) {
	ok = true
	var b strings.Builder
	in, start := false, 0
	flush := func(end int) {
		if in {
			toks = append(toks, token{text: b.String(), start: start, end: end})
			b.Reset()
			in = false
		}
	}
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case c == ' ' || c == '\t':
			flush(i)
		case c == '{' || c == '}':
			flush(i)
			toks = append(toks, token{text: string(c), brace: true, start: i, end: i + 1})
		case c == '"' || c == '\'':
			if !in {
				in, start = true, i
			}
			j := i + 1
			for ; j < len(text) && text[j] != c; j++ {
				if text[j] == '\\' && c == '"' && j+1 < len(text) {
					j++
					b.WriteByte(unescape(text[j]))
					continue
				}
				b.WriteByte(text[j])
			}
			if j >= len(text) {
				ok = false
			}
			i = j
		default:
			if !in {
				in, start = true, i
			}
			b.WriteByte(c)
		}
	}
	flush(len(text))
	return toks, ok
}

func unescape(c byte) byte {
	switch c {
	case 'n':
		return '\n'
	case 't':
		return '\t'
	case 'r':
		return '\r'
	}
	return c
}

// splitWords returns the words of text, braces included as words.
func splitWords(text string) ([]string, bool) {
	toks, ok := tokenize(text)
	w := make([]string, len(toks))
	for i, t := range toks {
		w[i] = t.text
	}
	return w, ok
}

// build turns lines into the statement tree. A '{' opens the block of the statement before
// it on the line, or of the last statement of an earlier line (Allman style); a '}' closes
// the innermost block; words after a brace on the same line start a new statement.
func build(lines []line, d *diags) []*stmt {
	root := &stmt{hasBlock: true}
	stack := []*stmt{root}
	for _, ln := range lines {
		toks, ok := tokenize(ln.text)
		if !ok {
			d.errf(ln.pos, "unterminated quoted string")
		}
		var cur *stmt
		argStart := -1
		end := func(at int) {
			if cur != nil && argStart >= 0 {
				cur.raw = strings.TrimSpace(ln.text[argStart:at])
			}
			cur, argStart = nil, -1
		}
		for _, t := range toks {
			top := stack[len(stack)-1]
			switch {
			case t.brace && t.text == "{":
				owner := cur
				end(t.start)
				if owner == nil && len(top.block) > 0 && !top.block[len(top.block)-1].hasBlock {
					owner = top.block[len(top.block)-1]
				}
				if owner == nil || owner.hasBlock {
					d.errf(ln.pos, "'{' without a keyword before it")
					owner = &stmt{pos: ln.pos}
				}
				owner.hasBlock = true
				stack = append(stack, owner)
			case t.brace:
				end(t.start)
				if len(stack) == 1 {
					d.errf(ln.pos, "Extra '}' found")
					continue
				}
				stack = stack[:len(stack)-1]
			case cur == nil:
				cur = &stmt{pos: ln.pos, kw: t.text}
				top.block = append(top.block, cur)
			default:
				if argStart < 0 {
					argStart = t.start
				}
				cur.args = append(cur.args, t.text)
			}
		}
		end(len(ln.text))
	}
	if open := len(stack) - 1; open > 0 {
		d.errf(stack[1].pos, "There are %d missing '}'s or extra '{'s (block '%s' opened here is not closed)", open, stack[1].kw)
	}
	return root.block
}
