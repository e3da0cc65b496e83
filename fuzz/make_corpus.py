#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/<target>/ from the project's own
fixtures: workflow files, provider response fixtures, and the replies the
aggregator tests read. Run from anywhere; it replaces what it writes
(files named seed-*), and leaves other files (added by hand or minimised
from a fuzzing run) alone. Each file is the target's input format: the
steering bytes its comment in fuzz/targets/<target>.c describes, then the
text."""
import ast
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX = os.path.join(ROOT, "tests", "fixtures")
OUT = os.path.join(ROOT, "fuzz", "corpus")

# The status table of fuzz/provider_drive.h, in its order.
STATUSES = [400, 401, 402, 403, 404, 408, 409, 413, 422, 429, 499, 500, 502, 503,
            504, 529, 301, 302, 100, 0]


def read(path):
    with open(path, "rb") as f:
        return f.read()


def workflow_files():
    out = []
    for d in (os.path.join(ROOT, "workflows"), os.path.join(FIX, "workflows")):
        for name in sorted(os.listdir(d)):
            if name.endswith((".yaml", ".yml")):
                out.append(os.path.join(d, name))
    return out


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(OUT, target)
        os.makedirs(self.dir, exist_ok=True)
        for name in os.listdir(self.dir):
            if name.startswith("seed-"):
                os.unlink(os.path.join(self.dir, name))
        self.n = 0

    def add(self, label, data):
        label = re.sub(r"[^A-Za-z0-9_.-]+", "_", label)[:60]
        self.n += 1
        with open(os.path.join(self.dir, "seed-%03d-%s" % (self.n, label)), "wb") as f:
            f.write(data)


def c_strings(path, after=None):
    """The C string literals of table rows `{"...", ...}` in a test file,
    adjacent literals joined, with the rest of the row."""
    text = read(path).decode("utf-8")
    lit = r'"(?:[^"\\\n]|\\.)*"'
    rows = []
    for m in re.finditer(r"\{\s*((?:%s\s*)+),\s*([^}]*)\}" % lit, text):
        parts = re.findall(lit, m.group(1))
        try:
            s = b"".join(ast.literal_eval("b" + p) for p in parts)
        except (ValueError, SyntaxError):
            continue
        rows.append((m.start(), s, m.group(2).strip()))
    # And strings held in variables: `x[] = "..." "...";`, `= "...";`.
    for m in re.finditer(r"=\s*((?:%s\s*)+);" % lit, text):
        parts = re.findall(lit, m.group(1))
        try:
            s = b"".join(ast.literal_eval("b" + p) for p in parts)
        except (ValueError, SyntaxError):
            continue
        if len(s) > 8:
            rows.append((m.start(), s, ""))
    return text, rows


def workflows():
    c = Corpus("workflow")
    for path in workflow_files():
        c.add(os.path.basename(path), read(path))
    # A last line "#oom N" fails the load's Nth allocation.
    for i, path in enumerate(workflow_files()[::4]):
        c.add(os.path.basename(path) + "-oom", read(path) + b"\n#oom %d" % (7 + 150 * i))


def templates():
    c = Corpus("template")
    values = b"\0the answer is {{ inputs.secret }}\0B\0{{ '{{' }}\0"
    seen = set()
    for path in workflow_files():
        lines = read(path).split(b"\n")
        for i, line in enumerate(lines):
            if b"{{" not in line:
                continue
            # A block scalar: the lines after `key: |`; else the value.
            m = re.match(rb"\s*(?:[\w-]+:\s*)?(.*)$", line)
            src = m.group(1).strip().strip(b"\"'")
            if src in seen:
                continue
            seen.add(src)
            flags = (len(seen) % 4) << 1 | (2 << 3)
            c.add(os.path.basename(path) + "-%d" % (i + 1), bytes([flags]) + src + values)
    hand = [b"{{ query }}", b"{{ '{{' }} literal {{ \"}}\" }}", b"{{ nodes.a.b.output }}",
            b"{{ nodes.x.responses }}\n{{ inputs.style }}", b"{{ qurey }}",
            b"{{ input.doc }}", b"{{ nodes.a.outptu }}", b"{{ }}", b"{{ query",
            b"a {{ {{ query }}", b"\xc3\xa9{{ query }}\n  {{ inputs.x }}"]
    for i, src in enumerate(hand):
        c.add("hand-%d" % i, bytes([i & 1 | (i % 4) << 1 | (i << 3 & 0xf8)]) + src + values)


def providers():
    for prov in ("openai", "anthropic", "gemini", "ollama"):
        c = Corpus(prov)
        d = os.path.join(FIX, prov)
        for k, name in enumerate(sorted(os.listdir(d))):
            body = read(os.path.join(d, name))
            if name.startswith("err_"):
                m = re.search(r"(\d{3})", name)
                status = int(m.group(1)) if m else 500
                idx = STATUSES.index(status) if status in STATUSES else 11
                retry = [b"", b"30\n", b"Wed, 21 Oct 2015 07:28:00 GMT\n", b"1.5\n"][k % 4]
                flags = 0x02 | (0x10 if retry else 0)
                c.add(name, bytes([flags, k & 0xff, idx]) + retry + body)
                continue
            stream = name.endswith((".sse", ".ndjson")) or name.startswith("stream_")
            step = [0, 1, 3, 6][k % 4]
            cap = 0 if k % 5 else 1
            flags = (1 if stream else 0) | cap << 2 | step << 4
            c.add(name, bytes([flags, k & 0xff]) + body)
            if not stream:
                # The same body where a stream was asked for.
                c.add(name + "-asked-stream", bytes([flags | 1, k & 0xff]) + body)


def sse():
    c = Corpus("sse")
    k = 0
    for prov in ("openai", "anthropic", "gemini", "ollama"):
        d = os.path.join(FIX, prov)
        for name in sorted(os.listdir(d)):
            if not name.endswith((".sse", ".ndjson")) or k >= 40:
                continue
            ndjson = name.endswith(".ndjson")
            flags = (1 if ndjson else 0) | (k % 4) << 1 | ([0, 1, 2, 5][k % 4] << 3)
            c.add(prov + "-" + name, bytes([flags, 3 if k % 7 == 0 else 0, k]) +
                  read(os.path.join(d, name)))
            k += 1
    c.add("bom-cr", bytes([0, 0, 1]) + b"\xef\xbb\xbfevent: x\rdata: a\r\rdata:b\r\n\r\n")
    c.add("ndjson-blank", bytes([1, 0, 2]) + b'{"a":1}\r\n\n  \n{"b":2}')


MODES = {"EX_WHOLE": 0, "EX_LAST_LINE": 1, "EX_NUMBER": 2, "EX_CHOICE": 3,
         "EX_JSON": 4, "EX_REGEX": 5}


def extract():
    c = Corpus("extract")
    for test in ("test_extract.c", "test_normalize.c"):
        text, rows = c_strings(os.path.join(ROOT, "tests", "aggregators", test))
        for i, (pos, s, _rest) in enumerate(rows):
            modes = re.findall(r"EX_[A-Z_]+", text[:pos])
            mode = MODES.get(modes[-1], 0) if modes else i % 6
            if i % 3:
                continue
            prefix = bytes([mode | (0x10 if i % 9 == 0 else 0)])
            if mode == 4:
                prefix += b"answer\n"
            elif mode == 5:
                prefix += bytes([i % 12])
            c.add("%s-%d" % (test[5:-2], i), prefix + s)
    c.add("regex-own", bytes([5, 200]) + b"(?i)answer:\\s*([a-e])\nAnswer: c")
    c.add("json-dotted", bytes([4]) + b"result.items.1\n```json\n{\"result\":{\"items\":[1,2]}}\n```")


def replies(target, test, nbyte, extra=b""):
    c = Corpus(target)
    _, rows = c_strings(os.path.join(ROOT, "tests", "aggregators", test))
    for i, (_, s, rest) in enumerate(rows):
        m = re.match(r"(\d+)", rest)
        n = int(m.group(1)) if m else nbyte
        c.add("%s-%d" % (test[5:-2], i), bytes([n % 256]) + extra + s)
    return c


def main():
    workflows()
    templates()
    providers()
    sse()
    extract()
    replies("judge", "test_judge.c", 3)
    replies("rank", "test_rank.c", 3, b"\x05")
    c = replies("plan", "test_plan.c", 8)
    c.add("fenced", b"\x08Plan:\n```json\n{\"subtasks\":[{\"id\":\"a\",\"task\":\"t\"},"
          b"{\"id\":\"b\",\"task\":\"u\",\"needs\":[\"a\",\"a\"]}]}\n```")
    for t in sorted(os.listdir(OUT)):
        print("%-10s %3d files" % (t, len(os.listdir(os.path.join(OUT, t)))), file=sys.stderr)


if __name__ == "__main__":
    main()
