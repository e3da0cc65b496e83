#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine: installs what is missing,
# builds, then does what it is asked.
#
#   ./bootstrap.sh demo [QUERY]   run workflows/council.yaml on the simulated provider
#   ./bootstrap.sh test           run the whole test suite (gcc build)
#   ./bootstrap.sh test-sanitize  the suite again under ASan + UBSan (clang)
#   ./bootstrap.sh build          just install and build
#
# Runs as root, or uses sudo for the install step.
set -euo pipefail
cd "$(dirname "$0")"

# libclang-rt-14-dev: clang's sanitizer and libFuzzer runtimes, only a
# Recommends of clang, so --no-install-recommends leaves it out.
# libmicrohttpd-dev: the simulated provider (meson -Dsim=disabled builds
# without it). bash-completion: where `meson install` puts the completion.
# python3-yaml, python3-jsonschema, groff-base: the docs' tests (the schema
# checked against every shipped workflow, the man page rendered).
# libhiredis-dev: --shared redis:// (meson -Dshared=disabled builds without
# it); redis-server: the test that runs three quorum processes against one.
PACKAGES=(build-essential clang libclang-rt-14-dev meson ninja-build pkg-config
	libcurl4-openssl-dev libcjson-dev libyaml-dev libpcre2-dev
	libmicrohttpd-dev libcmocka-dev libsqlite3-dev bash-completion
	python3-yaml python3-jsonschema groff-base libhiredis-dev redis-server)

install_deps() {
	local missing=()
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	echo "bootstrap: installing ${missing[*]}" >&2
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
}

build() {
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >&2
	fi
	meson compile -C "$dir" >&2
}

cmd=${1:-demo}
[ $# -gt 0 ] && shift
install_deps
case "$cmd" in
build)
	build build
	;;
demo)
	build build
	query=${1:-Why is the sky blue?}
	exec ./build/quorum run workflows/council.yaml "$query" --sim
	;;
test)
	build build
	meson test -C build --print-errorlogs
	;;
test-sanitize)
	CC=clang build build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C build-sanitize --print-errorlogs --no-suite bench-smoke
	;;
*)
	echo "usage: $0 demo [QUERY] | test | test-sanitize | build" >&2
	exit 2
	;;
esac
