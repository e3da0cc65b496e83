#!/usr/bin/env python3
"""Keeps the reference and the schema honest about the keys a workflow may have.

    check_keys.py LOAD_MANY

Three places name the keys of a workflow file: the loader (dag/load*.c),
the reference (docs/workflow-format.md) and the schema
(docs/workflow.schema.json). This test fails when any two disagree, in any
section (the top level, a model, each node kind, a cascade's accept, a
route, ...), and says which key, where, and who has it.

How it knows what the loader accepts: it asks the loader, not its source.
For each section there is a small valid workflow with a place for keys;
each candidate key is written there (with no value) next to a sentinel key
nobody knows, and the text is loaded by LOAD_MANY (tests/docs/load_many.c,
the library's public API). The key is accepted when the loader does not
call it unknown (nor say it "has no place" there); the sentinel must be
called unknown, which proves the loader read that mapping's keys at all.
The candidates are every identifier-like string literal in dag/*.c (a key
can only be recognised by comparing with a literal written there), plus
every key the reference and the schema name. So a key added to the loader
and forgotten in the reference fails here, and so does a key documented
that the loader refuses.

What the reference documents: each table of keys is preceded by a marker
`<!-- keys: SECTION -->`, and the first column of each row is the key in
backticks. The call settings (`call`) apply to `defaults`, to models and
(but for `timeout`, which is the node's own there) to nodes; node keys
(`node`) apply to every kind; a plan's `run` takes a node's keys but
`needs` and `continue_on_error`. Keys starting with `x-` are the user's
own, everywhere: that is checked too.

A route entry has two shapes: `{when, to}`, or `{ask, decline}` (an ask
route). The loader is probed in each, and what it accepts in either counts
for `route.entry`, whose table and schema definition (a `oneOf` of the
two) name the keys of both. A `score` condition reads its router file
when the workflow loads: its probe names a valid one, written to a
temporary folder.

What the schema says: the `properties` of the definition for each section
(see SCHEMA_DEFS), which docs/gen_schema.py writes.
"""
import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(ROOT, "docs", "workflow-format.md")
SCHEMA = os.path.join(ROOT, "docs", "workflow.schema.json")
SENTINEL = "zz_probe_sentinel"
USER_KEY = "x-probe"
KINDS = ["generate", "vote", "synthesize", "judge", "rank", "moa", "council",
         "cascade", "route", "plan", "bandit", "template"]
RUN_KINDS = ["generate", "route"]
RUN_EXCLUDED = {"needs", "continue_on_error"}

# ---- the probes: one small valid workflow per section ----
# "@@" marks where the keys go (at its indentation); BASE lists the keys
# the template already has in that mapping (known to be accepted when the
# template loads).

HEAD = """version: 1
models:
  m: {provider: openai, model: x}
"""

NODE_BASE = {
    "generate": "kind: generate\nmodels: [m]",
    "vote": "kind: vote\nfrom: g",
    "synthesize": "kind: synthesize\nfrom: g\nmodel: m",
    "judge": "kind: judge\nfrom: g\nmodel: m",
    "rank": "kind: rank\nfrom: g\nmodels: [m]",
    "moa": "kind: moa\nproposers: [m]\naggregator: m",
    "council": "kind: council\nmembers: [m]\nchairman: m",
    "cascade": "kind: cascade\nmodels: [m]",
    "route": "kind: route\nroutes: [{when: {min_chars: 1}, to: m}]\ndefault: m",
    "plan": "kind: plan\nmodel: m",
    "bandit": "kind: bandit\narms: [m, openai/y]\nstate: probe.sqlite",
    "template": "kind: template\ntext: hi",
}


def indent(text, n):
    return "".join(" " * n + line + "\n" for line in text.split("\n"))


def node_probe(kind):
    return (HEAD + "nodes:\n  g: {kind: generate, models: [m]}\n  n:\n" +
            indent(NODE_BASE[kind], 4) + "    @@\noutput: n\n")


def run_probe(kind):
    return (HEAD + "nodes:\n  n:\n    kind: plan\n    model: m\n    run:\n" +
            indent(NODE_BASE[kind], 6) + "      @@\n")


def base_keys(text):
    return [line.split(":")[0] for line in text.split("\n")]


CASCADE = HEAD + "nodes:\n  n:\n    kind: cascade\n    models: [m]\n    accept:\n"
ROUTE = HEAD + "nodes:\n  n:\n    kind: route\n    default: m\n    routes:\n"
EMBED_ROUTE = (HEAD + "nodes:\n  n:\n    kind: route\n    default: m\n    embed: m\n"
               "    routes:\n")
RUN_ROUTE = (HEAD + "nodes:\n  n:\n    kind: plan\n    model: m\n    run:\n"
             "      kind: route\n      default: m\n      routes:\n")
BANDIT = (HEAD + "nodes:\n  n:\n    kind: bandit\n    arms: [m, openai/y]\n"
          "    state: probe.sqlite\n")


def router_file():
    """A valid router file (what `quorum router train` writes), for the
    probe of `score`: the loader reads it when the workflow loads. It
    was trained on embeddings of model `x`, the probes' model."""
    folder = tempfile.mkdtemp(prefix="quorum-check-keys.")
    atexit.register(shutil.rmtree, folder, True)
    path = os.path.join(folder, "router.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"format": "quorum-router", "version": 1, "kind": "logreg",
                   "embedding": {"model": "x", "dim": 2},
                   "standardize": {"mean": [0, 0], "scale": [1, 1]},
                   "logreg": {"weights": [0.5, -0.5], "bias": 0},
                   "threshold": 0.5, "calibration": {"scores": [0.1, 0.5, 0.9]}}, f)
    return path


ROUTER = router_file()
PROBES = {
    "workflow": (HEAD + "nodes:\n  n: {kind: template, text: hi}\n@@\n",
                 ["version", "models", "nodes"]),
    "input": (HEAD + "inputs:\n  i:\n    @@\nnodes:\n  n: {kind: template, text: hi}\n",
              []),
    "defaults": (HEAD + "defaults:\n  @@\nnodes:\n  n: {kind: template, text: hi}\n", []),
    "model": ("version: 1\nmodels:\n  m:\n    provider: openai\n    model: x\n    @@\n"
              "nodes:\n  n: {kind: template, text: hi}\n", ["provider", "model"]),
    "price": ("version: 1\nmodels:\n  m:\n    provider: openai\n    model: x\n"
              "    price:\n      input: 1\n      output: 1\n      @@\n"
              "nodes:\n  n: {kind: template, text: hi}\n", ["input", "output"]),
    "budget": (HEAD + "nodes:\n  n: {kind: template, text: hi}\nbudget:\n  @@\n", []),
    "accept": (CASCADE + "      regex: x\n      @@\n", ["regex"]),
    "accept.self_check": (CASCADE + "      self_check:\n        @@\n", []),
    "accept.judge": (CASCADE + "      judge:\n        model: m\n        @@\n", ["model"]),
    "accept.agreement": (CASCADE + "      agreement:\n        @@\n", []),
    "route.entry": (ROUTE + "      - when: {min_chars: 1}\n        to: m\n        @@\n",
                    ["when", "to"]),
    "when": (ROUTE + "      - to: m\n        when:\n          min_chars: 1\n"
             "          @@\n", ["min_chars"]),
    # An ask route is the other shape of a route entry: its keys count for
    # route.entry (see main).
    "route.entry#ask": (ROUTE + "      - ask: m\n        @@\n", ["ask"]),
    "semantic": (EMBED_ROUTE + "      - to: m\n        when:\n          semantic:\n"
                 "            examples: [hi]\n            @@\n", ["examples"]),
    "score": (EMBED_ROUTE + "      - to: m\n        when:\n          score:\n"
              "            file: %s\n            @@\n" % json.dumps(ROUTER), ["file"]),
    "difficulty": (RUN_ROUTE + "        - to: m\n          when:\n            difficulty:\n"
                   "              min: 0\n              @@\n", ["min"]),
    "tokens": (RUN_ROUTE + "        - to: m\n          when:\n            tokens:\n"
               "              min: 1\n              @@\n", ["min"]),
    "reward": (BANDIT + "    reward:\n      judge: m\n      @@\n", ["judge"]),
    "endpoint": ("version: 1\nmodels:\n  m:\n    provider: openai\n    model: x\n"
                 "    endpoints:\n      - base_url: http://127.0.0.1:1/v1\n        @@\n"
                 "nodes:\n  n: {kind: template, text: hi}\n", ["base_url"]),
}
for k in KINDS:
    PROBES["node " + k] = (node_probe(k), base_keys(NODE_BASE[k]))
for k in RUN_KINDS:
    PROBES["run " + k] = (run_probe(k), base_keys(NODE_BASE[k]))

# Sections whose reference table lists exactly the section's keys.
NESTED = ["price", "budget", "accept", "accept.self_check", "accept.judge",
          "accept.agreement", "route.entry", "when", "semantic", "score",
          "difficulty", "tokens", "reward", "endpoint"]

# The schema definition whose properties are each section's keys.
SCHEMA_DEFS = {"input": "input", "defaults": "defaults", "model": "model",
               "price": "price", "budget": "budget", "accept": "accept",
               "accept.self_check": "accept_self_check", "accept.judge": "accept_judge",
               "accept.agreement": "accept_agreement", "route.entry": "route",
               "when": "when", "semantic": "semantic",
               "score": "score", "difficulty": "difficulty", "tokens": "tokens",
               "reward": "reward", "endpoint": "endpoint"}
SCHEMA_DEFS.update({"node " + k: "node_" + k for k in KINDS})
SCHEMA_DEFS.update({"run " + k: "run_" + k for k in RUN_KINDS})


def fill(template, keys):
    m = re.search(r"^( *)@@$", template, re.M)
    pad = m.group(1)
    lines = "\n".join("%s%s:" % (pad, k) for k in keys)
    return template[:m.start()] + lines + template[m.end():]


# ---- what the reference documents ----

def doc_tables(path):
    """{section: [keys]} from the tables after <!-- keys: SECTION --> markers."""
    lines = open(path, encoding="utf-8").read().split("\n")
    out, problems = {}, []
    for i, line in enumerate(lines):
        m = re.match(r"^<!-- keys: ([a-z_.]+) -->$", line.strip())
        if not m:
            continue
        section = m.group(1)
        if section in out:
            problems.append("%s:%d: a second table for '%s'" % (path, i + 1, section))
        keys, j = [], i + 1
        if j >= len(lines) or not lines[j].startswith("|"):
            problems.append("%s:%d: the marker for '%s' is not followed by a table"
                            % (path, i + 1, section))
        while j < len(lines) and lines[j].startswith("|"):
            cell = lines[j].split("|")[1].strip()
            km = re.fullmatch(r"`([^`]+)`", cell)
            if km:
                keys.append(km.group(1))
            elif j > i + 2:  # past the header and its rule
                problems.append("%s:%d: the first cell of a keys table must be one key "
                                "in backticks, got %r" % (path, j + 1, cell))
            j += 1
        out[section] = keys
    return out, problems


def doc_expected(tables):
    """The keys each probed section should accept, as the reference says."""
    t = {k: set(v) for k, v in tables.items()}
    call, node = t.get("call", set()), t.get("node", set())
    transport = t.get("transport", set())
    exp = {
        "workflow": t.get("workflow", set()),
        "input": t.get("input", set()),
        "defaults": call | transport,
        "model": t.get("model", set()) | call | transport,
    }
    for s in NESTED:
        exp[s] = t.get(s, set())
    for k in KINDS:
        exp["node " + k] = node | call | t.get(k, set())
    for k in RUN_KINDS:
        exp["run " + k] = (node - RUN_EXCLUDED) | call | t.get(k, set())
    return exp


# ---- what the schema says ----

def schema_props(d):
    props = set(d.get("properties", {}))
    for alt in d.get("anyOf", []) + d.get("oneOf", []):
        props |= set(alt.get("properties", {}))
    return props


def schema_expected(path):
    s = json.load(open(path, encoding="utf-8"))
    defs = s.get("definitions", {})
    exp = {"workflow": set(s.get("properties", {}))}
    for section, name in SCHEMA_DEFS.items():
        exp[section] = schema_props(defs.get(name, {}))
    return exp


# ---- what the loader accepts ----

def candidates(tables, schema_exp):
    words = set()
    dag = os.path.join(ROOT, "dag")
    for name in sorted(os.listdir(dag)):
        if name.endswith(".c"):
            text = open(os.path.join(dag, name), encoding="utf-8").read()
            words |= set(re.findall(r'"([a-z][a-z0-9_]*)"', text))
    for keys in tables.values():
        words |= set(keys)
    for keys in schema_exp.values():
        words |= keys
    return sorted(w for w in words if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", w))


def load_many(helper, texts):
    data = "".join(t + "\0" for t in texts).encode()
    p = subprocess.run([helper], input=data, stdout=subprocess.PIPE, check=True)
    out = p.stdout.decode().split("\0")
    assert out[-1] == "" and len(out) == len(texts) + 1, "load_many answered oddly"
    return out[:-1]


def refused(messages, key):
    return ("unknown key '%s' in " % key in messages or
            "'%s' has no place" % key in messages)


def loader_accepts(helper, words):
    """{section: accepted keys}, and problems with the probes themselves."""
    accepted, problems = {}, []
    jobs = []
    for section, (template, base) in PROBES.items():
        jobs.append((section, None, fill(template, [])))
        for w in words + [USER_KEY]:
            if w not in base:
                jobs.append((section, w, fill(template, [w, SENTINEL])))
    answers = load_many(helper, [j[2] for j in jobs])
    for (section, key, text), msg in zip(jobs, answers):
        got = accepted.setdefault(section, set(PROBES[section][1]))
        if key is None:
            if msg != "ok\n":
                problems.append("the probe for '%s' does not load:\n%s%s"
                                % (section, text, msg))
            continue
        if "unknown key '%s' in " % SENTINEL not in msg:
            problems.append("the probe of '%s' in '%s' did not reach the key check:\n%s%s"
                            % (key, section, text, msg))
        elif key == USER_KEY:
            if refused(msg, key):
                problems.append("'%s' refuses the user's own key %s:\n%s"
                                % (section, USER_KEY, msg))
        elif not refused(msg, key):
            got.add(key)
    return accepted, problems


def compare(name, loader, other, problems):
    for section in sorted(loader):
        extra = loader[section] - other.get(section, set())
        missing = other.get(section, set()) - loader[section]
        for k in sorted(extra):
            problems.append("%s: the loader accepts `%s`, which %s does not name"
                            % (section, k, name))
        for k in sorted(missing):
            problems.append("%s: %s names `%s`, which the loader refuses"
                            % (section, name, k))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: check_keys.py LOAD_MANY\n")
        return 2
    tables, problems = doc_tables(DOC)
    known = {"workflow", "input", "call", "transport", "model", "node"} | set(NESTED) | \
        set(KINDS)
    for s in sorted(set(tables) - known):
        problems.append("%s: a keys table for '%s', a section this test does not know "
                        "(add it to check_keys.py)" % (DOC, s))
    for s in sorted(known - set(tables)):
        problems.append("%s: no keys table for '%s' (<!-- keys: %s --> before it)"
                        % (DOC, s, s))
    if "`x-`" not in open(DOC, encoding="utf-8").read():
        problems.append("%s does not say that `x-` keys are the user's own" % DOC)
    schema_exp = schema_expected(SCHEMA)
    words = candidates(tables, schema_exp)
    loader, probe_problems = loader_accepts(argv[1], words)
    problems += probe_problems
    loader["route.entry"] = loader.get("route.entry", set()) | loader.pop("route.entry#ask",
                                                                          set())
    compare("docs/workflow-format.md", loader, doc_expected(tables), problems)
    compare("docs/workflow.schema.json", loader, schema_exp, problems)
    if problems:
        sys.stderr.write("The loader, the reference and the schema disagree on keys:\n")
        for p in problems:
            sys.stderr.write("  " + p.replace("\n", "\n    ") + "\n")
        sys.stderr.write("Fix the loader (dag/load*.c), docs/workflow-format.md (the table "
                         "after <!-- keys: SECTION -->) or docs/gen_schema.py (then "
                         "python3 docs/gen_schema.py > docs/workflow.schema.json).\n")
        return 1
    total = sum(len(v) for v in loader.values())
    print("%d sections, %d candidate keys, %d accepted (section, key) pairs: the "
          "loader, the reference and the schema agree" % (len(loader), len(words), total))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
