#!/usr/bin/env python3
"""Writes the shipped evaluation dataset and the simulated provider that
answers it, from one seed, so the two always hold the same questions:

    eval/arithmetic.jsonl   one question a line:
                            {"id", "query", "expected", "compare": "number"}
    eval/sim.yaml           the scenario for `--sim=eval/sim.yaml`: simulated
                            models of known accuracy, and a bank holding
                            exactly those questions

    python3 eval/make_dataset.py           # (re)write both
    python3 eval/make_dataset.py --check   # exit 1 unless both are as written

Each question is a sum, a difference, a product or an exact quotient
("What is 347 + 589?"). The bank gives each one right answer and ONE wrong
answer, a near miss: two members that are wrong then say the same wrong
thing and win a vote 2 to 1, which is what the textbook figure for a
majority of three, 3p^2(1 - p) + p^3, assumes. Answers from 1,000 up are
written with a thousands comma ("Answer: 1,786") while `expected` is plain
("1786"), so an evaluation that compares them as numbers is needed, and
tested.
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 12
QUESTIONS = 1000

# name: (accuracy, latency ms, jitter ms, error group or None). The three
# sim-a..c are independent; sim-corr-a..c share an error group, so with
# probability CORRELATION they are right together and wrong alike.
CORRELATION = 0.5
MODELS = [
    ("sim-a", 0.70, 20, 5, None),
    ("sim-b", 0.70, 20, 5, None),
    ("sim-c", 0.70, 20, 5, None),
    ("sim-strong", 0.85, 60, 15, None),
    ("sim-weak", 0.55, 12, 3, None),
    ("sim-corr-a", 0.70, 20, 5, "corr"),
    ("sim-corr-b", 0.70, 20, 5, "corr"),
    ("sim-corr-c", 0.70, 20, 5, "corr"),
]


def shown(n):
    """A number as the simulated models write it: 1,786 and -242."""
    return "{:,}".format(n)


def question(rng, kind):
    """(question, right answer, wrong answer) of one kind."""
    if kind == "+":
        a, b = rng.randint(100, 999), rng.randint(100, 999)
        right = a + b
    elif kind == "-":
        a, b = rng.randint(100, 999), rng.randint(100, 999)
        right = a - b                       # negative about half the time
    elif kind == "*":
        a, b = rng.randint(12, 99), rng.randint(12, 99)
        right = a * b
    else:
        b, right = rng.randint(3, 25), rng.randint(12, 99)
        a = b * right                       # exact: no remainder to argue over
    misses = (1, 2) if kind == "/" else (1, 10, 100)
    wrong = right + rng.choice(misses) * rng.choice((-1, 1))
    return "What is %d %s %d?" % (a, kind, b), right, wrong


def make(seed=SEED, n=QUESTIONS):
    """The questions: [{id, q, right, wrong, prose}], distinct."""
    rng = random.Random(seed)
    kinds = ["+"] * 8 + ["-"] * 4 + ["*"] * 5 + ["/"] * 3
    seen, items = set(), []
    while len(items) < n:
        q, right, wrong = question(rng, rng.choice(kinds))
        if q in seen:
            continue
        seen.add(q)
        expr = q[len("What is "):-1]
        items.append({"id": "arith-%04d" % (len(items) + 1), "q": q,
                      "right": right, "wrong": wrong,
                      "prose": "%s = %s." % (expr, shown(right))})
    # The simulator finds a bank question anywhere in the prompt: none may
    # hold another (with "What is " before and "?" after, none can; check).
    qs = [it["q"] for it in items]
    for x in qs:
        for y in qs:
            assert x == y or x not in y, (x, y)
    return items


def jsonl(items):
    return "".join(json.dumps({"id": it["id"], "query": it["q"],
                               "expected": str(it["right"]),
                               "compare": "number"}) + "\n"
                   for it in items)


def yaml_str(s):
    return json.dumps(s)    # a JSON string is a YAML double-quoted scalar


def scenario(items):
    out = [
        "# The simulated provider of eval/: models of known accuracy over a",
        "# bank holding exactly the questions of eval/arithmetic.jsonl. Written",
        "# by eval/make_dataset.py: change the script and run it again rather",
        "# than editing this file. See eval/README.md for what each model is for.",
        "seed: %d" % SEED,
        "defaults: {chunk_chars: 64}",
        "models:",
    ]
    for name, acc, lat, jit, group in MODELS:
        extra = (", error_group: %s, correlation: %g" % (group, CORRELATION)
                 if group else "")
        out.append("  %-11s {accuracy: %g, latency: %dms, jitter: %dms%s}"
                   % (name + ":", acc, lat, jit, extra))
    out.append("bank:")
    for it in items:
        out.append("  - {q: %s, a: %s, short: %s, wrong: [%s]}"
                   % (yaml_str(it["q"]), yaml_str(it["prose"]),
                      yaml_str(shown(it["right"])),
                      yaml_str(shown(it["wrong"]))))
    return "\n".join(out) + "\n"


def write_or_check(files, script, check):
    """Writes each path's text, or with check lists the paths whose file
    differs; returns the exit status. routing/make_dataset.py uses it too."""
    stale = []
    for path, text in files.items():
        if check:
            try:
                with open(path, encoding="utf-8") as f:
                    if f.read() != text:
                        stale.append(path)
            except OSError:
                stale.append(path)
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
    for path in stale:
        print("%s: not what %s writes; run it again"
              % (os.path.relpath(path), script), file=sys.stderr)
    return 1 if stale else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the files are what this script writes")
    args = ap.parse_args()
    items = make()
    return write_or_check({os.path.join(HERE, "arithmetic.jsonl"): jsonl(items),
                           os.path.join(HERE, "sim.yaml"): scenario(items)},
                          "eval/make_dataset.py", args.check)

if __name__ == "__main__":
    sys.exit(main())
