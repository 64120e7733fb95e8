#!/bin/sh
# Runs the ipvsnl tests against the real kernel in the ipvs-vm and records the kernel's
# replies that TestDecodeCaptured decodes. From the project's root:
#
#   CGO_ENABLED=0 go test -c -o /tmp/ipvsnl.test ./internal/ipvsnl
#   flock /tmp/ipvs-vm.lock ../shared/tools/ipvs-vm/run-in-vm --add /tmp/ipvsnl.test \
#       --out /tmp/ipvsnl-capture internal/ipvsnl/testdata/kernel/capture.sh
#   cp /tmp/ipvsnl-capture/*.hex /tmp/ipvsnl-capture/*.txt internal/ipvsnl/testdata/kernel/
#   go test ./internal/ipvsnl -run TestDecodeCaptured -update   # then read decoded.golden
uname -r
ipvsadm -v 2>&1 | head -1
ipvsnl.test -test.v -test.run '^TestKernel' 2>&1
status=$?
ip netns add capture || exit 1
ip -n capture link set lo up
IPVSNL_CAPTURE=$OUT IPVSNL_CAPTURE_NETNS=/run/netns/capture ipvsnl.test -test.v -test.run '^TestCaptureKernelReplies$' 2>&1 || status=1
# What ipvsadm makes of the table the capture left, to read the decoded replies against.
ip netns exec capture sh -c 'ipvsadm -S -n; ipvsadm -L -n --tun-info; ipvsadm -L -n --thresholds;
	ipvsadm -L -n --persistent-conn; ipvsadm -L --timeout; ipvsadm -L --daemon' > "$OUT/ipvsadm.txt" 2>&1
cat "$OUT/ipvsadm.txt"
ls "$OUT"
exit $status
