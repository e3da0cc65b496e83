#!/usr/bin/env python3
"""Runs what README.md shows, and checks that it prints what README.md says.

    check_readme.py QUORUM

- Every line of a ```sh block that starts with `./build/quorum` or
  `quorum` is a command, and is run with QUORUM from a scratch directory
  where `workflows/`, `eval/` and `docs/` are the source tree's. It must
  exit 0. A `run`, `batch` or `eval` without `--sim` (or a `run` without
  `--dry-run`) gets `--sim`: the test never reaches the network.
  `export NAME=VALUE` lines of the same block set those variables for the
  block's commands; every other *_API_KEY variable is removed.
- A block preceded by `<!-- test: file=NAME -->` is written to NAME in the
  scratch directory before any command runs (the README's "save this as").
- A block preceded by `<!-- test: output cmd='COMMAND' [stream=stderr|stdout]
  [exit=N] -->` is what COMMAND prints on that stream, line for line, with
  exit status N (default 0). COMMAND runs as written; one that could reach
  a provider (a `run`, `batch` or `eval` without `--sim`, a `run` without
  `--dry-run`) must expect 2 (refused before any call).
  `127.0.0.1:PORT` matches any port.
- A block preceded by `<!-- test: skip REASON -->` is not run.
- Every whole workflow shown (a ```yaml block starting `version: 1`) in
  README.md and docs/workflow-format.md loads (`quorum validate`).
- README.md stays under 230 lines; relative links in README.md and
  docs/*.md point at files that exist.

The markers are HTML comments, so the README reads clean on GitHub.
"""
import glob
import os
import re
import shlex
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
README = os.path.join(ROOT, "README.md")
MAX_LINES = 230
TIMEOUT = 120


def blocks(text):
    """(line, language, body, marker) for each fenced block; marker is the
    text of a <!-- test: ... --> comment on the line before, or None."""
    out = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        prev = lines[i - 1].strip() if i else ""
        mk = re.fullmatch(r"<!-- test: (.*) -->", prev)
        out.append((i + 1, m.group(1), "\n".join(lines[i + 1:j]) + "\n",
                    mk.group(1) if mk else None))
        i = j + 1
    return out


def options(marker):
    words = shlex.split(marker)
    return words[0], dict(w.split("=", 1) for w in words[1:] if "=" in w)


def is_quorum(argv):
    return bool(argv) and argv[0] in ("./build/quorum", "quorum")


def network_free(argv):
    """Whether a command cannot reach a provider: only run, batch and eval
    call models, and not with --sim (nor run with --dry-run)."""
    if argv[1:2] not in (["run"], ["batch"], ["eval"]):
        return True
    return any(a.startswith("--sim") or (argv[1] == "run" and a == "--dry-run")
               for a in argv)


def environment(exports):
    env = {k: v for k, v in os.environ.items() if not k.endswith("API_KEY")}
    env.pop("NO_COLOR", None)
    env.update(exports)
    return env


def run(quorum, argv, cwd, env):
    return subprocess.run([quorum] + argv[1:], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=TIMEOUT)


def normal(text):
    text = re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", text)
    return [line.rstrip() for line in text.rstrip("\n").split("\n")]


def commands(body):
    """The quorum commands of a shell block, and the variables it exports."""
    out, exports = [], {}
    for line in body.replace("\\\n", " ").split("\n"):
        argv = shlex.split(line, comments=True)
        if argv[:1] == ["export"]:
            exports.update(a.split("=", 1) for a in argv[1:] if "=" in a)
        elif is_quorum(argv):
            out.append((line.strip(), argv))
    return out, exports


def check_links(problems):
    for path in [README] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        text = open(path, encoding="utf-8").read()
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"^[a-z]+:", target) or target.startswith("#"):
                continue
            where = os.path.join(os.path.dirname(path), target.split("#")[0])
            if not os.path.exists(where):
                problems.append("%s: the link %s points at nothing"
                                % (os.path.relpath(path, ROOT), target))


def check_examples(quorum, problems):
    for path in [README, os.path.join(ROOT, "docs", "workflow-format.md")]:
        for line, lang, body, _ in blocks(open(path, encoding="utf-8").read()):
            if lang != "yaml" or not body.startswith("version: 1\n"):
                continue
            p = subprocess.run([quorum, "validate", "-"], input=body, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               universal_newlines=True, timeout=TIMEOUT)
            if p.returncode:
                problems.append("%s:%d: this example does not load:\n%s"
                                % (os.path.relpath(path, ROOT), line, p.stderr))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: check_readme.py QUORUM\n")
        return 2
    quorum = os.path.abspath(argv[1])
    text = open(README, encoding="utf-8").read()
    problems, ran, skipped = [], 0, 0
    nlines = text.count("\n")
    if nlines >= MAX_LINES:
        problems.append("README.md has %d lines; keep it under %d (details go in docs/)"
                        % (nlines, MAX_LINES))
    with tempfile.TemporaryDirectory(prefix="quorum-readme-") as tmp:
        for name in ("workflows", "eval", "docs"):
            os.symlink(os.path.join(ROOT, name), os.path.join(tmp, name))
        all_blocks = blocks(text)
        for line, lang, body, marker in all_blocks:
            if marker and options(marker)[0].startswith("file="):
                with open(os.path.join(tmp, marker.split("=", 1)[1]), "w") as f:
                    f.write(body)
        for line, lang, body, marker in all_blocks:
            where = "README.md:%d" % line
            kind, opts = options(marker) if marker else ("", {})
            if kind == "skip":
                skipped += 1
                continue
            if kind == "output":
                argv_ = shlex.split(opts.get("cmd", ""))
                want_exit = int(opts.get("exit", "0"))
                stream = opts.get("stream", "stderr")
                if not is_quorum(argv_) or stream not in ("stdout", "stderr"):
                    problems.append("%s: an output marker needs cmd='./build/quorum ...' "
                                    "and stream=stdout or stderr" % where)
                    continue
                if not network_free(argv_) and want_exit != 2:
                    problems.append("%s: '%s' would call real providers: add --sim, or "
                                    "show a run refused before any call (exit=2)"
                                    % (where, opts["cmd"]))
                    continue
                p = run(quorum, argv_, tmp, environment({}))
                ran += 1
                got = normal(p.stdout if stream == "stdout" else p.stderr)
                if p.returncode != want_exit or got != normal(body):
                    problems.append("%s: '%s' exits %d and prints on %s:\n%s\nbut the "
                                    "README shows (exit %d):\n%s"
                                    % (where, opts["cmd"], p.returncode, stream,
                                       "\n".join(got), want_exit, body.rstrip()))
                continue
            if lang not in ("sh", "shell", "bash", "console"):
                continue
            cmds, exports = commands(body)
            for shown, argv_ in cmds:
                if not network_free(argv_):
                    argv_ = argv_ + ["--sim"]
                p = run(quorum, argv_, tmp, environment(exports))
                ran += 1
                if p.returncode:
                    problems.append("%s: '%s' exits %d:\n%s" % (where, shown,
                                                                 p.returncode, p.stderr))
    check_links(problems)
    check_examples(quorum, problems)
    if problems:
        sys.stderr.write("README.md and the docs do not match what quorum does:\n")
        for p in problems:
            sys.stderr.write("  " + p.replace("\n", "\n    ") + "\n")
        return 1
    print("%d README commands ran as shown (%d blocks skipped); links and examples hold"
          % (ran, skipped))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
