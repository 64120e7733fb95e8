package keepalived

import (
	"bufio"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
)

var update = flag.Bool("update", false, "rewrite the golden files testdata/*.golden")

// recorded reads testdata/keepalived-t.txt (made by testdata/record-keepalived.sh): for each
// file, keepalived -t's exit status and messages.
func recorded(t *testing.T) map[string]struct {
	exit int
	msgs string
} {
	t.Helper()
	f, err := os.Open("testdata/keepalived-t.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]struct {
		exit int
		msgs string
	}{}
	var name, msgs string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "# "):
		case strings.HasPrefix(l, "== "):
			name, msgs = l[3:], ""
		case strings.HasPrefix(l, "exit "):
			n, _ := strconv.Atoi(l[5:])
			out[name] = struct {
				exit int
				msgs string
			}{n, msgs}
		default:
			msgs += l + "\n"
		}
	}
	return out
}

// parseFile parses testdata/NAME with the test's options.
func parseFile(t *testing.T, name string) (*config.Config, config.Errors) {
	t.Helper()
	cfg, err := Parse(os.DirFS("testdata"), name, Options{})
	if err == nil {
		return cfg, nil
	}
	errs, ok := err.(config.Errors)
	if !ok {
		t.Fatalf("%s: %v", name, err)
	}
	return cfg, errs
}

// TestGolden parses the realistic configurations and compares a dump of the Config with
// testdata/NAME.golden; keepalived -t accepted every one of them (exit 0).
func TestGolden(t *testing.T) {
	rec := recorded(t)
	files, _ := filepath.Glob("testdata/*.conf")
	if len(files) < 7 {
		t.Fatalf("only %d golden inputs", len(files))
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			cfg, errs := parseFile(t, name)
			if errs != nil {
				t.Fatalf("errors:\n%v", errs)
			}
			r, ok := rec[name]
			if !ok || r.exit != 0 {
				t.Fatalf("keepalived -t did not accept %s cleanly (recorded %+v)", name, r)
			}
			got := dump(cfg)
			golden := strings.TrimSuffix(f, ".conf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("dump differs from %s (run go test -update):\n%s", golden, got)
			}
		})
	}
}

// TestCases parses testdata/cases/*.conf. Each file says in its first comments what Parse
// must report ("# want: error|warning|ok" and "# msg: line N: TEXT" lines), and the test
// checks it against what the real keepalived -t said of the same file: a file keepalived
// accepts without a message (exit 0) must give no error here, and a file refused here must
// be one keepalived complained about too (exit != 0).
func TestCases(t *testing.T) {
	rec := recorded(t)
	files, _ := filepath.Glob("testdata/cases/*.conf")
	for _, f := range files {
		name := "cases/" + filepath.Base(f)
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			want, msgs := "", []string(nil)
			for _, l := range strings.Split(string(src), "\n") {
				if v, ok := strings.CutPrefix(l, "# want: "); ok {
					want = v
				} else if v, ok := strings.CutPrefix(l, "# msg: "); ok {
					msgs = append(msgs, v)
				}
			}
			cfg, errs := parseFile(t, name)
			r, ok := rec[name]
			if !ok {
				t.Fatalf("no keepalived -t recording for %s: run testdata/record-keepalived.sh", name)
			}
			if r.exit == 0 && len(errs) > 0 {
				t.Errorf("keepalived accepts %s, Parse refuses it:\n%v", name, errs)
			}
			if len(errs) > 0 && r.exit == 0 {
				t.Errorf("Parse refuses what keepalived accepted")
			}
			var pool []config.Diag
			switch want {
			case "error":
				if len(errs) == 0 {
					t.Fatalf("want an error, got none; warnings: %v", cfg.Warnings)
				}
				pool = errs
			case "warning":
				if len(errs) > 0 {
					t.Fatalf("want only warnings, got errors:\n%v", errs)
				}
				pool = cfg.Warnings
			case "ok":
				if len(errs) > 0 || len(cfg.Warnings) > 0 {
					t.Fatalf("want nothing, got %v %v", errs, cfg.Warnings)
				}
			default:
				t.Fatalf("%s: no '# want:' line", name)
			}
			for _, m := range msgs {
				line, text, _ := strings.Cut(strings.TrimPrefix(m, "line "), ": ")
				n, _ := strconv.Atoi(line)
				found := false
				for _, d := range pool {
					if d.Line == n && strings.Contains(d.Msg, text) {
						found = true
					}
				}
				if !found {
					t.Errorf("want %s at line %d: %q; got %v", want, n, text, pool)
				}
			}
		})
	}
}

// FuzzParse checks that Parse never panics and that every diagnostic has a line.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.conf")
	cases, _ := filepath.Glob("testdata/cases/*.conf")
	for _, name := range append(files, cases...) {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add("include *.conf\n$X=a\n${X} {\n@h y\n~SEQ(a,1,2) b\n")
	f.Fuzz(func(t *testing.T, src string) {
		cfg, err := Parse(mapFS(map[string]string{"k.conf": src, "x.conf": "include k.conf\n"}), "k.conf", Options{ConfigID: "h"})
		if err != nil {
			if _, ok := err.(config.Errors); !ok {
				t.Fatalf("not a config.Errors: %v", err)
			}
		}
		if cfg == nil {
			t.Fatal("nil config")
		}
	})
}
