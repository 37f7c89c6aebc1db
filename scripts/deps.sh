#!/bin/sh
# deps.sh - find the Debian packages meldnet needs that are missing; install them as root,
# otherwise print the one apt-get line to run.
#   --ensure            install when root, else print the line and fail (used by the build)
#   --install-or-print  install when root, else print the line and succeed (make deps)
#   --fuzz              like --ensure, for what only `make fuzz` needs: clang and libFuzzer
#   --check             like --ensure, for what only `make check` needs: the peers the
#                       integration tests run (prometheus, headless chromium, tmux, curl),
#                       jq, which reads the --json listings, and ss (iproute2), which
#                       counts connections
#   --format            like --ensure, for `make format` / `make format-check`: clang-format
set -eu

PACKAGES="gcc libc6-dev make pkg-config libzmq3-dev libsodium-dev liblmdb-dev lmdb-utils
libprotobuf-c-dev protobuf-c-compiler libjansson-dev libconfig-dev libcmocka-dev procps
libmicrohttpd-dev libncurses-dev"
# libFuzzer ships in clang's runtime package (Debian 12: libclang-rt-14-dev, not in clang).
if [ "${1:-}" = "--fuzz" ]; then
    PACKAGES="clang libclang-rt-14-dev"
fi
if [ "${1:-}" = "--format" ]; then
    PACKAGES="clang-format"
fi
if [ "${1:-}" = "--check" ]; then
    PACKAGES="prometheus chromium tmux curl jq iproute2"
fi

missing=""
for p in $PACKAGES; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" = 0 ]; then
    echo "deps: installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; update only when the install needs it.
    if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
        apt-get update -q >/dev/null
        apt-get install -y -q --no-install-recommends $missing >/dev/null
    fi
    exit 0
fi

echo "deps: missing Debian packages; run:"
echo "    sudo apt-get install$missing"
[ "${1:-}" = "--install-or-print" ] && exit 0
exit 1
