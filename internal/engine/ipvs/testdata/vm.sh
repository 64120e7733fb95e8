#!/bin/sh
# Runs the ipvs engine's tests against the real kernel and ipvsadm 1.31 in the ipvs-vm
# (../shared/tools/ipvs-vm). From the project's root:
#
#   CGO_ENABLED=0 go test -c -o /tmp/ipvs.test ./internal/engine/ipvs
#   flock /tmp/ipvs-vm.lock ../shared/tools/ipvs-vm/run-in-vm --add /tmp/ipvs.test \
#       --add internal/engine/ipvs/testdata:/opt/ipvs/testdata internal/engine/ipvs/testdata/vm.sh [REGEXP]
#
# The test binary reads testdata/ relative to its working directory. REGEXP selects tests
# (default: all; the ones that need the kernel are named TestKernel*).
uname -r
cd /opt/ipvs || exit 1
ipvs.test -test.v -test.count=1 ${1:+-test.run "$1"} 2>&1
