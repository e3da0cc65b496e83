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

check "--help --version bandit batch cache eval feedback graph help router run serve validate" quorum ""
check "router run" quorum r
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
check "bandit batch" quorum b
check "stats" quorum bandit ""
check "--help --state" quorum bandit stats --
check "notes.txt" quorum bandit stats --state n
check "council.yaml moa.yml sub" quorum batch ""
check "" quorum batch council.yaml ""
check "--in --input --insecure" quorum batch --in
check "council.yaml moa.yml notes.txt sub" quorum batch council.yaml --in ""
check "council.yaml moa.yml notes.txt sub" quorum batch council.yaml --out ""
check "notes.txt" quorum batch council.yaml --resume n
check "" quorum batch council.yaml --shard ""
check "" quorum batch council.yaml --parallel ""
check "--shared --shared-budget" quorum batch --shared
check "redis:// unix://" quorum batch council.yaml --shared ""
check "" quorum run council.yaml --shared-budget ""
check "--cache --cache=" quorum batch --ca
check "--cache=notes.txt" quorum batch council.yaml --cache=n
check "council.yaml moa.yml notes.txt sub" quorum batch council.yaml --cache = ""
check "" quorum batch council.yaml --cache ""
check "council.yaml moa.yml sub" quorum eval ""
check "serve" quorum se
check "council.yaml moa.yml sub" quorum serve council.yaml ""
check "--limit --listen" quorum serve --li
check "" quorum serve --listen ""
check "council.yaml moa.yml sub" quorum serve --listen 127.0.0.1:8080 ""
check "notes.txt" quorum serve --tokens n
check "--deadline" quorum serve --dea
check "council.yaml moa.yml sub" quorum eval council.yaml ""
check "council.yaml moa.yml sub" quorum eval council.yaml --data notes.txt ""
check "notes.txt" quorum eval council.yaml --data n
check "notes.txt" quorum eval council.yaml --plot n
check "notes.txt" quorum eval council.yaml --details n
check "choice exact json: last_line number regex: whole" quorum eval council.yaml --compare ""
check "--compare=number" quorum eval council.yaml --compare=nu
check "" quorum eval council.yaml --judge ""
check "--no-baselines" quorum eval --no
check "--json --judge" quorum eval --j
check "--cache= --help" quorum cache --
check "clear stats" quorum cache ""
check "stats" quorum cache s
check "" quorum cache stats ""
check "--cache --cache=" quorum run --cac
check "router" quorum ro
check "calibrate train" quorum router ""
check "train" quorum router t
check "council.yaml moa.yml sub" quorum router train ""
check "" quorum router train council.yaml ""
check "council.yaml moa.yml notes.txt sub" quorum router calibrate ""
check "--help --share" quorum router calibrate --
check "--seed --share --sim --sim= --strong" quorum router train --s
check "--test-share" quorum router train council.yaml --t
check "logreg mf" quorum router train council.yaml --kind ""
check "--kind=mf" quorum router train council.yaml --kind=m
check "notes.txt" quorum router train council.yaml --details n
check "notes.txt" quorum router train council.yaml --out n
check "" quorum router train council.yaml --node ""
check "" quorum router train council.yaml --weak ""
check "council.yaml moa.yml sub" quorum router train --node answer --weak "a alone" ""
check "--help" quorum router --
check "feedback" quorum f
check "council.yaml moa.yml sub" quorum feedback ""
check "" quorum feedback council.yaml ""
check "" quorum feedback council.yaml 0123abc ""
check "--help" quorum feedback --
exit $failed
