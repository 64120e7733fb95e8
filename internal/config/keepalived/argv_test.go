package keepalived

import "github.com/golvs/golvs/internal/config"

// argv is config.SplitCommand for test dumps: the words, or the error as one word.
func argv(cmd string) []string {
	a, err := config.SplitCommand(cmd)
	if err != nil {
		return []string{"ERROR: " + err.Error()}
	}
	return a
}
