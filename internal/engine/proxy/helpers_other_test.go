//go:build !linux

package proxy

// reactorPaths: no reactor to test on this system.
var reactorPaths []string

func reactorConnects(*Engine) int { return 0 }
