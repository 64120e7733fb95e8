// Package engine defines the seam between the director and a data plane: the Engine
// interface every forwarding engine (proxy, ipvs, xdp) implements, the counters and
// connection entries they report, and ErrNotSupported for what an engine cannot do.
// Package enginetest holds the conformance suite every engine passes.
package engine
