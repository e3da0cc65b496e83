#!/usr/bin/env bash
# A smaller soak under valgrind: RUNS runs (default 50) of the soak's three
# workflows through the quorum binary, `quorum run ... --sim=FILE --json`,
# with the chaos scenario of this folder (its seed changed every run, so
# each run meets other faults; the simulated provider runs in-process, so
# valgrind watches it too). A run passes when valgrind finds no error and
# no leak (`--leak-check=full --error-exitcode=1`) and quorum printed a
# report and exited 0 or 1 (the downstream workflow always fails).
#
#   tests/soak/valgrind.sh [BUILD_DIR [RUNS]]     # BUILD_DIR: default ./build
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
runs=${2:-50}
bin=$build/quorum
if [ ! -x "$bin" ]; then
	echo "valgrind.sh: no quorum binary at $bin (build first, or name the build directory)" >&2
	exit 2
fi
if ! command -v valgrind >/dev/null; then
	echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
workflows=(council panel downstream)
for wf in "${workflows[@]}"; do
	# --sim sends every call to the simulated provider: the URLs only
	# have to load.
	sed -e 's|BASE_URL|http://127.0.0.1:9|g' -e 's|DEAD_URL|http://127.0.0.1:9|g' \
		"$here/$wf.yaml" >"$tmp/$wf.yaml"
done

failed=0
declare -A statuses=()
for i in $(seq 1 "$runs"); do
	wf=${workflows[$((i % 3))]}
	sed "s/^seed: 17$/seed: $i/" "$here/scenario.yaml" >"$tmp/scenario.yaml"
	set +e
	valgrind --leak-check=full --error-exitcode=1 --log-file="$tmp/vg.log" \
		"$bin" run "$tmp/$wf.yaml" "What is six times seven?" \
		--sim="$tmp/scenario.yaml" --json >"$tmp/report.json" 2>"$tmp/stderr"
	code=$?
	set -e
	summary=$(grep -o 'ERROR SUMMARY: [0-9]* errors' "$tmp/vg.log" || echo 'no summary')
	lost=$(grep -o 'definitely lost: [0-9,]* bytes' "$tmp/vg.log" || echo 'definitely lost: 0 bytes')
	status=$(grep -o '^{"workflow":"[^"]*","status":"[a-z_]*"' "$tmp/report.json" |
		sed 's/.*"status":"//; s/"$//' || true)
	if [ "$summary" != "ERROR SUMMARY: 0 errors" ] || [ -z "$status" ] ||
		{ [ "$code" != 0 ] && [ "$code" != 1 ]; }; then
		failed=$((failed + 1))
		echo "run $i ($wf): FAILED: exit $code, $summary, $lost, report status '${status:-none}'"
		sed 's/^/    /' "$tmp/vg.log" | tail -60
		tail -5 "$tmp/stderr" | sed 's/^/    stderr: /'
	else
		echo "run $i ($wf): $status, exit $code, $summary, $lost"
	fi
	statuses[$status]=$((${statuses[$status]:-0} + 1))
done

echo -n "valgrind.sh: $runs runs ("
for s in "${!statuses[@]}"; do echo -n "$s ${statuses[$s]} "; done
echo "), $failed with a valgrind error, a leak or no report"
[ "$failed" = 0 ]
