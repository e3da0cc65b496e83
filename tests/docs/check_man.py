#!/usr/bin/env python3
"""Checks the manual page, docs/quorum.1.

    check_man.py QUORUM

- It renders without a warning: `groff -man -ww -z` (groff, in Debian's
  groff-base) prints nothing and exits 0. Without groff the test exits 77,
  which meson counts as skipped.
- It names every option and command that `quorum --help` and the
  `--help` of `run`, `batch`, `eval`, `cache`, `router`, `feedback`, `bandit`, `serve`,
  `validate` and `graph` list, and every limit `--limit` takes; so does
  docs/workflow-format.md for the limits. `router`'s actions (`train`,
  `calibrate`) each have their own line.
"""
import os
import re
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAN = os.path.join(ROOT, "docs", "quorum.1")
REFERENCE = os.path.join(ROOT, "docs", "workflow-format.md")


def usage(quorum, args):
    p = subprocess.run([quorum] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=60)
    if p.returncode:
        raise SystemExit("'quorum %s' exits %d: %s" % (" ".join(args), p.returncode,
                                                        p.stderr))
    return p.stdout


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: check_man.py QUORUM\n")
        return 2
    quorum = os.path.abspath(argv[1])
    problems = []
    # What the page says, as text: roff's \- is a plain '-'.
    page = open(MAN, encoding="utf-8").read().replace("\\-", "-")
    reference = open(REFERENCE, encoding="utf-8").read()

    texts = {c: usage(quorum, c.split() + ["--help"]) for c in
             ["", "run", "batch", "eval", "cache", "router", "feedback", "bandit", "serve",
              "validate", "graph"]}
    for cmd, text in texts.items():
        for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", text))):
            if opt not in page:
                problems.append("docs/quorum.1 does not name %s (quorum %s--help)"
                                % (opt, cmd + " " if cmd else ""))
    for cmd in re.findall(r"^  ([a-z]+) ", texts[""], re.M):
        if not re.search(r"^\.(B|BI|SS) .*\b%s\b" % cmd, page, re.M):
            problems.append("docs/quorum.1 does not describe the command '%s'" % cmd)
    for action in re.findall(r"quorum router ([a-z]+) ", texts["router"]):
        if not re.search(r"^\.B quorum router %s$" % action, page, re.M):
            problems.append("docs/quorum.1 does not show 'quorum router %s' in its "
                            "synopsis" % action)
    m = re.search(r"--limit NAME=VALUE\s+change a limit:(.*?)\n  --", texts["run"], re.S)
    limits = re.findall(r"[a-z_]+", m.group(1).split("(")[0]) if m else []
    if not limits:
        problems.append("cannot find the limit names in 'quorum run --help'")
    for name in limits:
        if not re.search(r"^\.B %s$" % name, page, re.M):
            problems.append("docs/quorum.1 does not describe the limit %s" % name)
        if "| `%s` |" % name not in reference:
            problems.append("docs/workflow-format.md does not list the limit %s" % name)

    groff = shutil.which("groff")
    if not groff:
        for p in problems:
            sys.stderr.write(p + "\n")
        sys.stderr.write("skipped: groff is not installed (Debian: apt-get install "
                         "groff-base), so the page's rendering is not checked\n")
        return 1 if problems else 77
    p = subprocess.run([groff, "-man", "-ww", "-z", MAN], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, universal_newlines=True, timeout=60)
    if p.returncode or p.stderr.strip():
        problems.append("groff -man -ww -z docs/quorum.1 exits %d:\n%s"
                        % (p.returncode, p.stderr))
    if problems:
        for p in problems:
            sys.stderr.write(p + "\n")
        return 1
    print("docs/quorum.1 renders without warnings and names every option, command "
          "and limit")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
