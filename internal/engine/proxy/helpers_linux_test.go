package proxy

// reactorPaths: the reactor is tested where it is built.
var reactorPaths = []string{DataPathReactor}

// reactorConnects returns how many connects to reals e's reactor has in progress.
func reactorConnects(e *Engine) int {
	r := e.tcp.(*reactor)
	per := make([]int, len(r.loops)) // the loops run f at once
	r.each(func(i int, l *loop) {
		for fd, c := range l.conns {
			if c != nil && c.state == connConnecting && c.fd[sideReal] == fd {
				per[i]++
			}
		}
	})
	n := 0
	for _, k := range per {
		n += k
	}
	return n
}
