#!/usr/bin/env sh
# Runs a command inside a fresh network namespace that has only `lo`, so nothing a test or benchmark
# starts (Chromium's ICE above all, NOTES-WEBRTC.md) can use another interface. Where namespaces are
# not permitted (not root, or a container without CAP_SYS_ADMIN) it runs the command as it is and
# says so: the tests still bind everything to 127.0.0.1.
if [ -n "$SWARMDROP_IN_NETNS" ]; then exec "$@"; fi
if unshare --net -- true 2>/dev/null; then
  SWARMDROP_IN_NETNS=1 exec unshare --net -- sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "loopback-netns: cannot create a network namespace here; running without one" >&2
SWARMDROP_IN_NETNS=0 exec "$@"
