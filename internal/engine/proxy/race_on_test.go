//go:build race

package proxy

// raceEnabled: the race detector makes sync.Pool drop values at random.
const raceEnabled = true
