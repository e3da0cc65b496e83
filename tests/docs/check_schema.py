#!/usr/bin/env python3
"""Checks docs/workflow.schema.json against the loader and the shipped files.

    check_schema.py LOAD_MANY

- The committed schema is what docs/gen_schema.py writes, and a valid
  draft-07 schema.
- Every workflow the loader accepts among workflows/*.yaml and
  tests/fixtures/workflows/*.yaml, and every whole workflow shown in
  docs/workflow-format.md and README.md (a ```yaml block that starts with
  `version: 1`), is valid under the schema. The examples must also load.
- In every section the key coverage test probes (check_keys.PROBES), the
  schema refuses an unknown key and lets an `x-` key through: that is
  where `additionalProperties: false` must be, and only there.
- A few values the loader refuses are refused by the schema too.

Needs Python's yaml and jsonschema (Debian: python3-yaml,
python3-jsonschema); without them it exits 77, which meson counts as
skipped.
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_keys  # noqa: E402

ROOT = check_keys.ROOT
SCHEMA = check_keys.SCHEMA

try:
    import jsonschema
    import yaml
except ImportError as e:
    sys.stderr.write("skipped: %s (Debian: apt-get install python3-yaml "
                     "python3-jsonschema)\n" % e)
    sys.exit(77)


def messages(errors):
    """Every message of these errors and of the errors they were made of."""
    out = []
    for e in errors:
        out.append("/".join(str(p) for p in e.absolute_path) + ": " + e.message)
        out += messages(e.context or [])
    return out


def examples(path):
    text = open(path, encoding="utf-8").read()
    return [(path, text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```yaml\n(.*?)^```", text, re.M | re.S)
            if m.group(1).startswith("version: 1\n")]


def main(argv):
    problems = []
    gen = os.path.join(ROOT, "docs", "gen_schema.py")
    p = subprocess.run([sys.executable, gen, "--check", SCHEMA], stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode:
        problems.append(p.stderr.strip())
    schema = json.load(open(SCHEMA, encoding="utf-8"))
    try:
        jsonschema.Draft7Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        problems.append("the schema is not a valid draft-07 schema: %s" % e.message)
        schema = {}
    v = jsonschema.Draft7Validator(schema)

    # Shipped files the loader accepts, and the examples in the docs.
    files = sorted(glob.glob(os.path.join(ROOT, "workflows", "*.yaml")) +
                   glob.glob(os.path.join(ROOT, "tests", "fixtures", "workflows", "*.yaml")))
    texts = [(f, 1, open(f, encoding="utf-8").read()) for f in files]
    shown = examples(os.path.join(ROOT, "docs", "workflow-format.md"))
    shown += examples(os.path.join(ROOT, "README.md"))
    answers = check_keys.load_many(argv[1], [t for _, _, t in texts + shown])
    checked = 0
    for (path, line, text), msg in zip(texts + shown, answers):
        rel = os.path.relpath(path, ROOT)
        is_example = (path, line, text) in shown
        if msg != "ok\n":
            if is_example:
                problems.append("%s:%d: this example does not load:\n%s" % (rel, line, msg))
            continue
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError as e:
            problems.append("%s:%d: Python's yaml cannot read it: %s" % (rel, line, e))
            continue
        errs = messages(v.iter_errors(doc))
        checked += 1
        if errs:
            problems.append("%s:%d: the loader accepts it, the schema does not:\n%s"
                            % (rel, line, "\n".join(errs[:10])))

    # Unknown keys refused, x- keys let through, in every section.
    for section, (template, _) in check_keys.PROBES.items():
        for key, want in ((check_keys.SENTINEL, True), (check_keys.USER_KEY, False)):
            doc = yaml.safe_load(check_keys.fill(template, [key]))
            hit = [m for m in messages(v.iter_errors(doc)) if key in m]
            if want and not hit:
                problems.append("%s: the schema lets the unknown key %s through"
                                % (section, key))
            if not want and hit:
                problems.append("%s: the schema refuses the user's key %s: %s"
                                % (section, key, hit[0]))

    # Values the loader refuses.
    base = "version: 1\nnodes:\n  n: {kind: template, text: hi}\n"
    bad = [
        "version: 2\nnodes:\n  n: {kind: template, text: hi}\n",
        base + "models:\n  m: {provider: openia, model: x}\n",
        base + "models:\n  m: {provider: openai}\n",
        base + "models:\n  m: {provider: openai, model: x, base_url: 'file:///etc'}\n",
        base + "defaults: {retries: 101}\n",
        base + "defaults: {timeout: 5 sec}\n",
        base + "budget: {max_calls: 0}\n",
        "version: 1\nnodes:\n  n: {kind: generat, models: [openai/x]}\n",
        "version: 1\nnodes:\n  n: {kind: vote, from: n, extract: median}\n",
        "version: 1\nnodes:\n  n: {kind: judge, from: n, model: a/b, models: [a/b]}\n",
        "version: 1\nnodes:\n  n: {kind: generate, models: [openai/x], samples: 0}\n",
        "version: 1\nnodes:\n  n: {kind: plan, model: openai/x, run: {kind: vote}}\n",
        "version: 1\nnodes:\n  n: {kind: cascade, models: [openai/x], "
        "accept: {regex: x, judge: {model: openai/x}}}\n",
        "version: 1\nnodes:\n  'bad id': {kind: template, text: hi}\n",
    ]
    texts = bad
    answers = check_keys.load_many(argv[1], texts)
    for text, msg in zip(texts, answers):
        if msg == "ok\n":
            problems.append("the loader accepts this, which the test expects refused:\n"
                            + text)
        if v.is_valid(yaml.safe_load(text)):
            problems.append("the schema accepts this, which the loader refuses:\n%s%s"
                            % (text, msg))

    if problems:
        sys.stderr.write("docs/workflow.schema.json:\n")
        for p in problems:
            sys.stderr.write("  " + p.replace("\n", "\n    ") + "\n")
        return 1
    print("the schema is current and valid; %d workflows and examples the loader accepts "
          "are valid under it; %d sections refuse unknown keys" %
          (checked, len(check_keys.PROBES)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
