//go:build !linux

package ipvs

// probeModules accepts every name: there is no kernel to ask.
func probeModules() func(string) bool { return nil }
