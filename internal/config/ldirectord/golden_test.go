package ldirectord

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden with what Parse returns")

// TestGolden parses every testdata/*.cf and compares dump's output (or the errors) with
// testdata/NAME.golden. Run with -update to rewrite the golden files.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.cf")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.cf: %v", err)
	}
	for _, cf := range files {
		name := strings.TrimSuffix(filepath.Base(cf), ".cf")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(cf)
			if err != nil {
				t.Fatal(err)
			}
			var got string
			cfg, err := Options{Hostname: "director"}.Parse(filepath.Base(cf), data)
			if err != nil {
				got = "error\n" + err.Error() + "\n"
			} else {
				got = dump(cfg)
			}
			golden := strings.TrimSuffix(cf, ".cf") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGolden -update)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n%s", cf, golden, diff(string(want), got))
			}
		})
	}
}

// diff shows the first lines where want and got differ.
func diff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			b.WriteString("line " + itoa(i+1) + ":\n  want " + wl + "\n  got  " + gl + "\n")
			if b.Len() > 2000 {
				break
			}
		}
	}
	return b.String()
}

func itoa(i int) string { return strconv.Itoa(i) }
