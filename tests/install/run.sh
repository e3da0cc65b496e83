#!/usr/bin/env bash
# The installed quorum, as a user gets it: `meson install --destdir` of
# this build into a temporary directory, every file in its place, then a
# ten-line C program built against the library that pkg-config finds
# there, run with the shared library and linked with the static one.
#
#   run.sh BUILDDIR PREFIX BINDIR LIBDIR INCLUDEDIR MANDIR COMPLETIONSDIR CC [CC_ARGS...]
#
# The directories are absolute, as meson installs them; MESON names the
# meson command and SANITIZE the build's b_sanitize (the program is
# built with the same sanitizers as the library).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$1 prefix=$2 bindir=$3 libdir=$4 includedir=$5 mandir=$6 compdir=$7
shift 7
cc=("$@")
sanitize=()
[ "${SANITIZE:-none}" = none ] || sanitize=("-fsanitize=$SANITIZE")

tmp=$(mktemp -d "${TMPDIR:-/tmp}/quorum-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
fail() {
	echo "install: $*" >&2
	exit 1
}

"${MESON:-meson}" install -C "$build" --no-rebuild --destdir "$dest" >"$tmp/log" 2>&1 ||
	{ cat "$tmp/log" >&2; fail "meson install failed"; }
echo "installed:" && (cd "$dest" && find . -type f -o -type l | sort)

for f in "$bindir/quorum" "$libdir/libquorum.a" "$libdir/libquorum.so" \
	"$libdir/libquorum.so.0" "$includedir/quorum.h" "$libdir/pkgconfig/quorum.pc" \
	"$mandir/man1/quorum.1" "$compdir/quorum"; do
	[ -e "$dest$f" ] || fail "missing $f"
done
# (Outputs are read whole before grep: with pipefail, grep -q ending a
# pipe early would fail it.)
out=$("$dest$bindir/quorum" --version)
grep -qx 'quorum [0-9.]*' <<<"$out" || fail "quorum --version said '$out'"
out=$(readelf -d "$dest$libdir/libquorum.so")
grep -q 'SONAME.*\[libquorum\.so\.0\]' <<<"$out" || fail "libquorum.so has no soname libquorum.so.0"
# The shared library exports the public API and nothing else.
others=$(nm -D --defined-only "$dest$libdir/libquorum.so" |
	awk '$2 != "A" && $3 !~ /^quorum_/ { print $3 }')
[ -z "$others" ] || fail "libquorum.so exports more than quorum_*: $others"

# pkgconf's --define-prefix guesses the prefix as two folders above the
# .pc file, wrong for a multiarch libdir (lib/x86_64-linux-gnu): name it.
export PKG_CONFIG_PATH=$dest$libdir/pkgconfig
pc=(pkg-config "--define-variable=prefix=$dest$prefix")
shared_flags=$("${pc[@]}" --cflags --libs quorum)
echo "pkg-config --cflags --libs quorum: $shared_flags"
# shellcheck disable=SC2046,SC2086
"${cc[@]}" "${sanitize[@]}" -o "$tmp/hello" "$here/hello.c" $shared_flags ||
	fail "cannot build against the installed library"
rc=0
LD_LIBRARY_PATH=$dest$libdir "$tmp/hello" "$here/hello.yaml" "the installed library" \
	>"$tmp/out" || rc=$?
cat "$tmp/out"
[ "$rc" -eq 0 ] || fail "hello exited $rc"
grep -qx 'Hello, the installed library!' "$tmp/out" || fail "hello did not run the workflow"
grep -q 'nodes: 1, output: greet' "$tmp/out" || fail "hello did not print the summary"
out=$(LD_LIBRARY_PATH=$dest$libdir ldd "$tmp/hello")
grep -qF "libquorum.so.0 => $dest$libdir/libquorum.so.0" <<<"$out" ||
	fail "hello does not use the installed libquorum.so.0: $out"

# Static: the flags pkg-config --static gives are complete and compile;
# the link takes the archive, and what it needs (quorum.pc's
# Requires.private, and its Libs.private: -lm -pthread) as shared
# libraries: a fully static link cannot work on Debian, whose libcurl.pc
# names in its Libs.private libraries whose -dev packages it leaves out.
static_flags=$("${pc[@]}" --static --cflags --libs quorum)
echo "pkg-config --static --cflags --libs quorum: $static_flags"
for l in -lquorum -lcurl -lcjson -lyaml -lpcre2-8; do
	[[ " $static_flags " == *" $l "* ]] || fail "pkg-config --static does not name $l"
done
# shellcheck disable=SC2046,SC2086
"${cc[@]}" "${sanitize[@]}" -c -o "$tmp/hello.o" "$here/hello.c" \
	$("${pc[@]}" --static --cflags quorum) || fail "cannot compile with --static flags"
requires=$("${pc[@]}" --print-requires-private quorum | awk '{ print $1 }')
# shellcheck disable=SC2046,SC2086
"${cc[@]}" "${sanitize[@]}" -o "$tmp/hello-static" "$tmp/hello.o" "$dest$libdir/libquorum.a" \
	$(pkg-config --libs $requires) -lm -pthread || fail "cannot link libquorum.a"
out=$("$tmp/hello-static" "$here/hello.yaml" "static") || fail "hello-static exited $?"
grep -qx 'Hello, static!' <<<"$out" || fail "hello-static did not run the workflow"
out=$(ldd "$tmp/hello-static")
if grep -q libquorum <<<"$out"; then
	fail "hello-static uses a shared libquorum"
fi
echo "install: ok"
