#!/usr/bin/env bash
# The bash completion (completion/quorum), driven the way bash drives it:
# COMP_WORDS and COMP_CWORD set, _quorum called, COMPREPLY read.
#
#   completion.sh SRCDIR
set -uo pipefail
# shellcheck source=../../completion/quorum
. "$1/completion/quorum"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/quorum-completion.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" && mkdir sub && touch council.yaml moa.yml notes.txt sub/deep.yaml
failed=0

# check "EXPECTED" WORD...: completes the last WORD after the others.
check() {
	local want=$1
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMP_LINE="$*"
	COMP_POINT=${#COMP_LINE}
	COMPREPLY=()
	_quorum quorum "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
	local got
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | paste -sd' ')
	if [ "$got" != "$want" ]; then
		echo "FAIL: quorum ${*@Q}: got '$got', want '$want'"
		failed=1
	else
		echo "ok: quorum ${*@Q}: $got"
	fi
}

check "--help --version graph help run validate" quorum ""
check "run" quorum r
check "council.yaml moa.yml sub" quorum run ""
check "council.yaml" quorum validate c
check "sub/deep.yaml" quorum graph sub/
check "--json" quorum run --j
check "--sim --sim=" quorum run --si
check "--format" quorum graph --f
check "--help --limit" quorum validate --
check "always auto never" quorum run --color ""
check "always auto" quorum run --color = a
check "--color=always --color=auto" quorum run --color=a
check "dot mermaid" quorum graph --format ""
check "--format=mermaid" quorum graph x.yaml --format=m
check "wall=" quorum validate --limit w
check "council.yaml moa.yml sub" quorum run --sim = ""
check "--sim=council.yaml" quorum run --sim=c
check "council.yaml moa.yml sub" quorum run --limit nodes=3 --quiet ""
check "council.yaml moa.yml sub" quorum run --color = never ""
check "" quorum run council.yaml ""
check "" quorum run council.yaml "why?" ""
check "council.yaml moa.yml sub" quorum run -- ""
check "" quorum run -- council.yaml -
check "" quorum nothing ""
exit $failed
