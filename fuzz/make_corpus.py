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


def requests():
    """Request bodies a client POSTs to quorum serve: OpenAI chat
    completions (oai_req) and Anthropic Messages (anth_req). Byte 0 is 0
    (no failed allocation) or 0x80 | N (the N+1th fails)."""
    user = b'{"role":"user","content":"What is 2+2?"}'
    oai = [
        ("minimal", b'{"model":"council","messages":[%s]}' % user),
        ("stream", b'{"model":"council","stream":true,"stream_options":'
         b'{"include_usage":true},"messages":[%s]}' % user),
        ("system-history", b'{"model":"m","messages":[{"role":"system","content":"Be brief."},'
         b'{"role":"developer","content":"Cite."},{"role":"user","content":"hi"},'
         b'{"role":"assistant","content":"hello"},{"role":"tool","tool_call_id":"c1",'
         b'"content":"42"},%s]}' % user),
        ("parts", b'{"model":"m","messages":[{"role":"user","content":[{"type":"text",'
         b'"text":"a"},{"type":"text","text":"b\\u00e9\\n"}]}]}'),
        ("image-part", b'{"model":"m","messages":[{"role":"user","content":[{"type":"text",'
         b'"text":"what is this"},{"type":"image_url","image_url":{"url":'
         b'"data:image/png;base64,iVBORw0KGgo="}}]}]}'),
        ("tool-calls", b'{"model":"m","tools":[{"type":"function","function":{"name":"f",'
         b'"parameters":{"type":"object"}}}],"tool_choice":"auto","messages":[%s,'
         b'{"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",'
         b'"function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"c1",'
         b'"content":"ok"},%s]}' % (user, user)),
        ("sampling", b'{"model":"m","temperature":1.5,"max_completion_tokens":256,'
         b'"max_tokens":9,"n":1,"quorum":{"report":true},"messages":[%s]}' % user),
        ("huge-numbers", b'{"model":"m","temperature":1e308,"max_tokens":1e999,"n":'
         b'18446744073709551617,"messages":[%s]}' % user),
        ("max-tokens-edge", b'{"model":"m","max_tokens":1000000000,"temperature":0,'
         b'"messages":[%s]}' % user),
        ("max-tokens-frac", b'{"model":"m","max_tokens":2.5,"messages":[%s]}' % user),
        ("negative", b'{"model":"m","max_tokens":-2147483649,"temperature":-0.0,'
         b'"messages":[%s]}' % user),
        ("wrong-types", b'{"model":7,"messages":{"role":"user"},"stream":"yes"}'),
        ("wrong-types-2", b'{"model":"m","stream":1,"stream_options":[],"quorum":"x",'
         b'"messages":[%s]}' % user),
        ("content-number", b'{"model":"m","messages":[{"role":"user","content":12}]}'),
        ("content-null", b'{"model":"m","messages":[{"role":"user","content":null}]}'),
        ("no-role", b'{"model":"m","messages":[{"content":"x"},%s]}' % user),
        ("last-assistant", b'{"model":"m","messages":[%s,{"role":"assistant",'
         b'"content":"y"}]}' % user),
        ("array-body", b'[{"model":"m"}]'),
        ("empty-model", b'{"model":"","messages":[%s]}' % user),
        ("deep", b'{"model":"m","x":' + b'[' * 40 + b']' * 40 + b',"messages":[%s]}' % user),
        ("trailing", b'{"model":"m","messages":[%s]} \n\t' % user),
        ("trailing-junk", b'{"model":"m","messages":[%s]}x' % user),
        ("nul-inside", b'{"model":"m\\u0000x","messages":[{"role":"user","content":"a\\u0000b"}]}'),
        ("dup-keys", b'{"model":"a","model":"b","messages":[],"messages":[%s]}' % user),
        ("n-2", b'{"model":"m","n":2,"messages":[%s]}' % user),
        ("empty", b''),
    ]
    c = Corpus("oai_req")
    for i, (label, body) in enumerate(oai):
        c.add(label, b"\0" + body)
        if i % 4 == 0:
            c.add(label + "-oom", bytes([0x80 | (i % 9)]) + body)
    anth = [
        ("minimal", b'{"model":"council","max_tokens":1024,"messages":[%s]}' % user),
        ("stream", b'{"model":"m","max_tokens":64,"stream":true,"messages":[%s]}' % user),
        ("system-string", b'{"model":"m","max_tokens":8,"system":"Be brief.","messages":'
         b'[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"},%s]}' % user),
        ("system-blocks", b'{"model":"m","max_tokens":8,"system":[{"type":"text","text":"a"},'
         b'{"type":"text","text":"b","cache_control":{"type":"ephemeral"}}],"messages":[%s]}'
         % user),
        ("blocks", b'{"model":"m","max_tokens":8,"messages":[{"role":"user","content":'
         b'[{"type":"text","text":"x"},{"type":"text","text":"y"}]}]}'),
        ("image-block", b'{"model":"m","max_tokens":8,"messages":[{"role":"user","content":'
         b'[{"type":"image","source":{"type":"base64","media_type":"image/png","data":'
         b'"iVBORw0KGgo="}},{"type":"text","text":"what is this"}]}]}'),
        ("tool-use", b'{"model":"m","max_tokens":8,"tools":[{"name":"f","input_schema":'
         b'{"type":"object"}}],"messages":[%s,{"role":"assistant","content":[{"type":'
         b'"tool_use","id":"t1","name":"f","input":{}}]},{"role":"user","content":[{"type":'
         b'"tool_result","tool_use_id":"t1","content":"42"}]}]}' % user),
        ("options", b'{"model":"m","max_tokens":1000000000,"temperature":1,"top_p":0.9,'
         b'"stop_sequences":["x"],"metadata":{"user_id":"u"},"quorum":{"report":true},'
         b'"messages":[%s]}' % user),
        ("huge-numbers", b'{"model":"m","max_tokens":1e999,"temperature":-1e308,'
         b'"messages":[%s]}' % user),
        ("temperature-2", b'{"model":"m","max_tokens":1,"temperature":2,"messages":[%s]}'
         % user),
        ("wrong-types", b'{"model":["m"],"max_tokens":"8","stream":"true","system":7,'
         b'"messages":"hi"}'),
        ("wrong-types-2", b'{"model":"m","max_tokens":8,"system":{"text":"x"},"quorum":[],'
         b'"messages":[%s]}' % user),
        ("role-system", b'{"model":"m","max_tokens":8,"messages":[{"role":"system",'
         b'"content":"x"},%s]}' % user),
        ("content-missing", b'{"model":"m","max_tokens":8,"messages":[{"role":"user"}]}'),
        ("no-max-tokens", b'{"model":"m","messages":[%s]}' % user),
        ("null-fields", b'{"model":"m","max_tokens":null,"temperature":null,"stream":null,'
         b'"system":null,"quorum":null,"messages":[%s]}' % user),
        ("unicode", b'{"model":"m\xc3\xa9","max_tokens":8,"messages":[{"role":"user",'
         b'"content":"\\ud83d\\ude00 \\ud800 \xf0\x9f\x97\xbc"}]}'),
        ("truncated", b'{"model":"m","max_tokens":8,"messages":[{"role":"user","content":"'),
        ("empty", b''),
    ]
    c = Corpus("anth_req")
    for i, (label, body) in enumerate(anth):
        c.add(label, b"\0" + body)
        if i % 4 == 0:
            c.add(label + "-oom", bytes([0x80 | (i % 9)]) + body)


def token_files():
    """--tokens files for the tokens target (byte 0 as for requests)."""
    c = Corpus("tokens")
    files = [
        ("plain", b"alpha-token-1\nbeta-token-2\n"),
        ("comments-blanks", b"# clients\n  alpha-token-1  \n\n\t\nbeta-token-2\r\n#x\n"),
        ("no-newline", b"sk-quorum-0123456789abcdef"),
        ("crlf", b"a\r\nb\r\n\r\n"),
        ("only-comments", b"# none\n\n   \n"),
        ("prefixes", b"tok\ntokx\ntokxx\n x \n"),
        ("inner-blanks", b"a b\tc\n#not\n  #also not\n"),
        ("utf16", "tok-a\ntok-b\n".encode("utf-16")),
        ("nul-line-start", b"alpha\n\0beta\n"),
        ("empty", b""),
    ]
    for i, (label, text) in enumerate(files):
        c.add(label, b"\0" + text)
        if i % 3 == 0:
            c.add(label + "-oom", bytes([0x80 | i]) + text)


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
    requests()
    token_files()
    for t in sorted(os.listdir(OUT)):
        print("%-10s %3d files" % (t, len(os.listdir(os.path.join(OUT, t)))), file=sys.stderr)


if __name__ == "__main__":
    main()
