package keepalived

import (
	"bufio"
	"bytes"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/golvs/golvs/internal/config"
)

// line is one logical line of configuration, after comments, conditionals, definitions and
// includes have been dealt with.
type line struct {
	pos  config.Pos
	text string
}

// reader turns a file and its includes into lines, as keepalived's reader does.
type reader struct {
	fsys   fs.FS
	prefix string // prepended to fs names in positions ("/" for the real file system)
	opts   Options
	d      *diags
	defs   map[string]string
	lines  []line
	active []string // the files being read, outermost first
	nfiles int
}

// maxFiles bounds the number of files one configuration reads.
const maxFiles = 1000

// maxExpand bounds the recursion of parameter substitution.
const maxExpand = 16

func (r *reader) display(name string) string { return r.prefix + name }

// readFile reads name (an fs name) at include depth depth.
func (r *reader) readFile(name string, depth int) {
	r.nfiles++
	r.active = append(r.active, name)
	defer func() { r.active = r.active[:len(r.active)-1] }()
	data, err := fs.ReadFile(r.fsys, name)
	if err != nil {
		r.d.errf(config.Pos{File: r.display(name)}, "cannot read: %v", err)
		return
	}
	file := r.display(name)
	dir := path.Dir(name)
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		pos := config.Pos{File: file, Line: n}
		text := strings.TrimSpace(stripComment(strings.TrimSuffix(sc.Text(), "\r")))
		if text == "" {
			continue
		}
		if w := firstWord(text); isInclude(w) {
			r.include(pos, dir, w, strings.TrimSpace(text[len(w):]), depth)
			continue
		}
		text, ok := r.conditional(pos, text)
		if !ok {
			continue
		}
		if name, val, ok := definition(text); ok {
			if strings.HasSuffix(val, `\`) {
				var b strings.Builder
				b.WriteString(strings.TrimSpace(strings.TrimSuffix(val, `\`)))
				for sc.Scan() {
					n++
					more := strings.TrimSpace(stripComment(strings.TrimSuffix(sc.Text(), "\r")))
					cont := strings.HasSuffix(more, `\`)
					more = strings.TrimSpace(strings.TrimSuffix(more, `\`))
					if more != "" {
						if b.Len() > 0 {
							b.WriteByte('\n')
						}
						b.WriteString(more)
					}
					if !cont {
						break
					}
				}
				val = b.String()
			}
			r.defs[name] = val
			continue
		}
		if strings.HasPrefix(text, "~SEQ") || strings.HasPrefix(text, "~LST") {
			r.d.errf(pos, "lvsd does not support keepalived's %s line generators", text[:4])
			continue
		}
		r.emit(pos, r.expand(text, dir, 0))
	}
	if err := sc.Err(); err != nil {
		r.d.errf(config.Pos{File: file, Line: n + 1}, "cannot read: %v", err)
	}
}

// emit adds the lines of an expanded text (a multi-line definition gives several).
func (r *reader) emit(pos config.Pos, text string) {
	for _, t := range strings.Split(text, "\n") {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		t, ok := r.conditional(pos, t)
		if !ok {
			continue
		}
		if name, val, ok := definition(t); ok {
			r.defs[name] = val
			continue
		}
		r.lines = append(r.lines, line{pos: pos, text: t})
	}
}

// conditional applies an '@ID' or '@^ID' prefix: it returns the rest of the line and
// whether the line is read.
func (r *reader) conditional(pos config.Pos, text string) (string, bool) {
	if !strings.HasPrefix(text, "@") {
		return text, true
	}
	w := firstWord(text)
	rest := strings.TrimSpace(text[len(w):])
	id, neg := strings.CutPrefix(w[1:], "^")
	if (id == r.opts.ConfigID) != neg {
		return rest, true
	}
	r.d.warnf(pos, "line skipped: '%s' does not match config id '%s'", w, r.opts.ConfigID)
	return "", false
}

func isInclude(w string) bool {
	switch w {
	case "include", "includer", "includem", "includew", "includeb", "includea":
		return true
	}
	return false
}

// include reads the files matching pattern. keepalived's plain include (and includer)
// tolerate a pattern that matches nothing; the checked variants do not.
func (r *reader) include(pos config.Pos, dir, kw, arg string, depth int) {
	words, _ := splitWords(arg)
	if len(words) != 1 {
		r.d.errf(pos, "%s needs exactly one file name", kw)
		return
	}
	pat := words[0]
	if strings.HasPrefix(pat, "/") {
		pat = strings.TrimPrefix(path.Clean(pat), "/")
	} else {
		pat = path.Join(dir, pat)
	}
	if depth >= maxIncludeDepth {
		r.d.errf(pos, "includes nested deeper than %d (an include loop?) - not reading %s", maxIncludeDepth, words[0])
		return
	}
	if strings.ContainsAny(pat, "{}") {
		r.d.errf(pos, "lvsd does not support brace expressions in include patterns: %s", words[0])
		return
	}
	matches, err := fs.Glob(r.fsys, pat)
	if err != nil {
		r.d.errf(pos, "bad include pattern %s: %v", words[0], err)
		return
	}
	if len(matches) == 0 {
		if kw == "include" || kw == "includer" {
			r.d.warnf(pos, "%s %s matches no file", kw, words[0])
		} else {
			r.d.errf(pos, "%s %s matches no file", kw, words[0])
		}
		return
	}
	for _, m := range matches {
		if st, err := fs.Stat(r.fsys, m); err == nil && st.IsDir() {
			continue
		}
		if slices.Contains(r.active, m) {
			r.d.errf(pos, "include loop: %s is already being read", r.display(m))
			continue
		}
		if r.nfiles >= maxFiles {
			r.d.errf(pos, "more than %d files included - not reading %s", maxFiles, r.display(m))
			return
		}
		r.readFile(m, depth+1)
	}
}

// definition recognises "$NAME=VALUE".
func definition(text string) (name, val string, ok bool) {
	if !strings.HasPrefix(text, "$") {
		return "", "", false
	}
	eq := strings.IndexByte(text, '=')
	if eq < 2 || !isName(text[1:eq]) {
		return "", "", false
	}
	return text[1:eq], strings.TrimSpace(text[eq+1:]), true
}

func isName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return s != ""
}

// expand substitutes "${NAME}" and "$NAME" (followed by a blank or the end) with their
// definitions, recursively; undefined names are left as they are, as keepalived does.
func (r *reader) expand(text, dir string, depth int) string {
	if depth >= maxExpand || !strings.Contains(text, "$") {
		return text
	}
	var b strings.Builder
	changed := false
	for i := 0; i < len(text); {
		if text[i] != '$' {
			b.WriteByte(text[i])
			i++
			continue
		}
		name, end := "", 0
		if i+1 < len(text) && text[i+1] == '{' {
			if j := strings.IndexByte(text[i+2:], '}'); j >= 0 {
				name, end = text[i+2:i+2+j], i+3+j
			}
		} else {
			j := i + 1
			for j < len(text) && text[j] != ' ' && text[j] != '\t' {
				j++
			}
			name, end = text[i+1:j], j
		}
		if v, ok := r.value(name, dir); ok {
			b.WriteString(v)
			i = end
			changed = true
			continue
		}
		b.WriteByte('$')
		i++
	}
	if !changed {
		return text
	}
	return r.expand(b.String(), dir, depth+1)
}

// value returns a definition, including keepalived's predefined ones.
func (r *reader) value(name, dir string) (string, bool) {
	switch name {
	case "_PWD":
		return r.display(dir), true
	case "_INSTANCE":
		return r.opts.ConfigID, true
	case "_HASH":
		return "#", true
	case "_BANG":
		return "!", true
	}
	v, ok := r.defs[name]
	return v, ok
}

func firstWord(s string) string {
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i]
	}
	return s
}
