package ldirectord

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golvs/golvs/internal/config"
	"github.com/golvs/golvs/internal/lb"
)

// FuzzParse checks that Parse never panics, that an error is a config.Errors whose
// positions are lines of the file, and that an accepted file gives a table the model takes.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.cf")
	for _, cf := range files {
		data, err := os.ReadFile(cf)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, c := range allCases() {
		if c.unrecorded == "" {
			f.Add([]byte(c.in))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseTest(string(data))
		lines := len(splitLines(data))
		if err != nil {
			var errs config.Errors
			if !errors.As(err, &errs) || len(errs) == 0 || cfg != nil {
				t.Fatalf("error %T %v with config %v", err, err, cfg != nil)
			}
			for _, d := range errs {
				if d.Line < 1 || d.Line > lines || d.File != "t.cf" || d.Msg == "" {
					t.Fatalf("error at %s of a %d-line file", d, lines)
				}
			}
			return
		}
		for _, d := range cfg.Warnings {
			if d.Line < 1 || d.Line > lines || strings.TrimSpace(d.Msg) == "" {
				t.Fatalf("warning at %s of a %d-line file", d, lines)
			}
		}
		if _, err := cfg.Desired(lb.Catalog{}); err != nil {
			t.Fatalf("accepted, but the model refuses it: %v", err)
		}
		for _, s := range cfg.Services {
			for _, r := range s.Reals {
				for _, c := range r.Checks {
					if c.Interval <= 0 || c.Timeout <= 0 || c.Retries < 0 {
						t.Fatalf("check %+v", c)
					}
				}
			}
		}
	})
}
