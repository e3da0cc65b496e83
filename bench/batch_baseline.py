#!/usr/bin/python3
"""The Python baseline for `quorum batch`: asyncio + aiohttp running a
3-model council over a JSON Lines file of queries, P councils at a time.

What a user would write instead of `quorum batch council.yaml --in Q
--parallel P`: one aiohttp ClientSession (HTTP/1.1, keep-alive, a
TCPConnector with no limit, so one connection per call in flight, as
quorum has over plain HTTP), an asyncio.Semaphore(P) around each council,
and each council shaped as workflows/council.yaml: three members asked at
once (asyncio.gather), a vote on their "Answer:" lines (no call), then the
chairman asked with the three answers in its system prompt. It sends the
same JSON bodies quorum sends for that workflow (same keys, same order, no
spaces, the same prompts byte for byte: bench/batch checks this with
--bodies against what quorum sent) and reads the answer and usage the
same way.

    batch_baseline.py URL --in QUERIES --out REPORTS [--parallel P]
    batch_baseline.py URL --bodies QUERY ANSWER   # print the 4 bodies, one a line

URL is the OpenAI base, e.g. http://127.0.0.1:PORT/v1. Each query line
({"id", "query"}) gives one line in REPORTS, in the order the councils
end: {"id", "status", "output", "wall_ms", "usage": {"calls",
"input_tokens", "output_tokens"}, "call_ms"} (call_ms: the sum of its
calls' latencies). At the end one JSON line on standard output: {"runs",
"ok", "calls", "ok_calls", "wall_ms"}. Exit status 0 when every council
produced its output.
"""
import argparse
import asyncio
import json
import re
import sys
import time

MAX_TOKENS = 16
TEMPERATURE = 0.7

# workflows/council.yaml's three members (its model ids and the provider
# model names) and its chairman, claude.
MEMBERS = ["openai/gpt-4o-mini", "anthropic/claude-3.5-haiku",
           "google/gemini-2.0-flash-001"]
CHAIRMAN = "anthropic/claude-3.5-haiku"

MEMBER_PROMPT = ("{query}\n\nAnswer carefully. End with one line of the "
                 "form \"Answer: <short answer>\".\n")
CHAIR_PROMPT = ("Question: {query}\n\nThe members' short answers were voted "
                "on; the most common one was\n\"{top}\". Write the best "
                "final answer. Where the\nmembers disagree, say so and "
                "explain which view is better supported.\n")
# quorum's synthesize instruction (aggregators/synthesize.c), then the
# candidates numbered.
SYNTH_SYSTEM = (
    "You have been provided with a set of responses from various models to "
    "the latest user query. Your task is to synthesize these responses into "
    "a single, high-quality response. It is crucial to critically evaluate "
    "the information provided in these responses, recognizing that some of "
    "it may be biased or incorrect. Your response should not simply "
    "replicate the given answers but should offer a refined, accurate, and "
    "comprehensive reply to the instruction. Ensure your response is "
    "well-structured, coherent, and adheres to the highest standards of "
    "accuracy and reliability. Answer the query directly: do not mention "
    "that you were given several responses, and do not refer to them by "
    "number.")

ANSWER_LINE = re.compile(r"(?im)^\W*answer:\s*(.+?)\W*$")


def body(model, messages):
    return json.dumps({"model": model, "messages": messages,
                       "temperature": TEMPERATURE, "max_tokens": MAX_TOKENS,
                       "stream": False}, separators=(",", ":"))


def member_body(model, query):
    return body(model, [{"role": "user",
                         "content": MEMBER_PROMPT.format(query=query)}])


def vote(answers):
    """The most common extracted answer (compared case-folded, white space
    collapsed), as its first voter wrote it; a tie goes to the first seen."""
    counts, first = {}, {}
    for a in answers:
        m = ANSWER_LINE.search(a)
        if not m:
            continue
        key = " ".join(m.group(1).casefold().split())
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, m.group(1))
    if not counts:
        return ""
    best = max(counts.values())
    for key in first:               # insertion order: the first seen wins
        if counts[key] == best:
            return first[key]


def chair_body(query, answers, top):
    system = SYNTH_SYSTEM + "\n\nResponses from models:\n\n" + "\n\n".join(
        "%d. %s" % (i + 1, a) for i, a in enumerate(answers))
    return body(CHAIRMAN, [
        {"role": "system", "content": system},
        {"role": "user", "content": CHAIR_PROMPT.format(query=query,
                                                        top=top)}])


HEADERS = {"Content-Type": "application/json"}


async def call(session, url, data):
    """One chat completion: (text, usage, seconds)."""
    t0 = time.perf_counter()
    async with session.post(url, data=data, headers=HEADERS) as resp:
        resp.raise_for_status()
        doc = await resp.json()
    text = doc["choices"][0]["message"]["content"]
    return text, doc.get("usage") or {}, time.perf_counter() - t0


async def council(session, url, query):
    t0 = time.perf_counter()
    members = await asyncio.gather(*(call(session, url,
                                          member_body(m, query))
                                     for m in MEMBERS))
    answers = [m[0] for m in members]
    top = vote(answers)
    final = await call(session, url, chair_body(query, answers, top))
    calls = members + [final]
    return {"output": final[0],
            "wall_ms": (time.perf_counter() - t0) * 1000.0,
            "call_ms": sum(c[2] for c in calls) * 1000.0,
            "usage": {"calls": len(calls),
                      "input_tokens": sum(c[1].get("prompt_tokens", 0)
                                          for c in calls),
                      "output_tokens": sum(c[1].get("completion_tokens", 0)
                                           for c in calls)}}


async def run(args):
    import aiohttp
    url = args.url.rstrip("/") + "/chat/completions"
    with open(args.queries) as f:
        lines = [json.loads(ln) for ln in f if ln.strip()]
    out = open(args.out, "w")
    sem = asyncio.Semaphore(args.parallel)
    ok = ok_calls = 0
    t0 = time.perf_counter()
    connector = aiohttp.TCPConnector(limit=args.conn_limit)
    async with aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def one(n, line):
            nonlocal ok, ok_calls
            rid = line.get("id", n + 1) if isinstance(line, dict) else n + 1
            query = line["query"] if isinstance(line, dict) else line
            async with sem:
                try:
                    rep = await council(session, url, query)
                    rep = dict(id=rid, status="ok", **rep)
                    ok += 1
                    ok_calls += rep["usage"]["calls"]
                except Exception as e:  # noqa: BLE001 - report, go on
                    rep = {"id": rid, "status": "failed",
                           "error": "%s: %s" % (type(e).__name__, e)}
            out.write(json.dumps(rep, separators=(",", ":")) + "\n")

        await asyncio.gather(*(one(n, ln) for n, ln in enumerate(lines)))
    wall_ms = (time.perf_counter() - t0) * 1000.0
    out.close()
    print(json.dumps({"runs": len(lines), "ok": ok, "calls": 4 * len(lines),
                      "ok_calls": ok_calls, "wall_ms": wall_ms}))
    return 0 if ok == len(lines) else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("--in", dest="queries", help="JSON Lines of queries")
    p.add_argument("--out", help="one report line per query")
    p.add_argument("--parallel", type=int, default=16,
                   help="councils in flight at once")
    p.add_argument("--conn-limit", type=int, default=0,
                   help="aiohttp TCPConnector limit (0: none, as quorum)")
    p.add_argument("--bodies", nargs=2, metavar=("QUERY", "ANSWER"),
                   help="print the four request bodies a council sends "
                   "when every member answers ANSWER, and exit")
    a = p.parse_args()
    if a.bodies:
        query, answer = a.bodies
        for m in MEMBERS:
            print(member_body(m, query))
        answers = [answer] * len(MEMBERS)
        print(chair_body(query, answers, vote(answers)))
        return 0
    if not a.queries or not a.out:
        p.error("--in and --out are needed")
    return asyncio.run(run(a))


if __name__ == "__main__":
    sys.exit(main())
