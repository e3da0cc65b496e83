#!/usr/bin/python3
"""What a user would write instead of quorum: asyncio + aiohttp, or httpx.

One client for the whole run: aiohttp's ClientSession with an unlimited
connector (HTTP/1.1, what Python users reach for), or, with --client httpx,
httpx.AsyncClient(http2=True) (the Python user's HTTP/2 client: one
connection per host, many streams). asyncio.gather for the fan-out,
sequential awaits for a chain, a gather per layer for MoA, and for a
council three calls at once, a vote on their "Answer:" lines, then one
call that reads all three. It sends the same request body as quorum (same
keys, same order, no spaces) and parses the answer the same way (one JSON
document, or SSE events).

    baseline_asyncio.py URL MODEL fanout N   [--stream] [--prompt P] [--conc C]
    baseline_asyncio.py URL MODEL chain DEPTH [--stream]
    baseline_asyncio.py URL MODEL moa LAYERSxWIDTH [--stream]
    baseline_asyncio.py URL MODEL council N   # N councils at once
    baseline_asyncio.py URL MODEL body        # print one request body

    --client aiohttp|httpx   (default aiohttp)
    --ca FILE                trust this PEM for https (verification stays on)
    --conc C                 at most C calls in flight (fanout)

URL is the base, e.g. http://127.0.0.1:PORT/v1. Prints one JSON line:
{"calls", "ok", "wall_ms", "output"}.
"""
import argparse
import asyncio
import json
import re
import ssl
import sys
import time

MAX_TOKENS = 16


def request_body(model, prompt, stream):
    body = {"model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": MAX_TOKENS,
            "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":"))


def parse_sse_line(line, text):
    """One SSE line into text; True at [DONE]."""
    line = line.strip()
    if not line.startswith(b"data:"):
        return False
    data = line[5:].strip()
    if data == b"[DONE]":
        return True
    event = json.loads(data)
    for choice in event.get("choices") or []:
        piece = (choice.get("delta") or {}).get("content")
        if piece:
            text.append(piece)
    return False


async def chat_httpx(client, url, model, prompt, stream):
    headers = {"Content-Type": "application/json"}
    body = request_body(model, prompt, stream)
    if not stream:
        resp = await client.post(url, content=body, headers=headers)
        resp.raise_for_status()
        return resp.json()["choices"][0]["message"]["content"]
    headers["Accept"] = "text/event-stream"
    text = []
    async with client.stream("POST", url, content=body,
                             headers=headers) as resp:
        resp.raise_for_status()
        async for line in resp.aiter_lines():
            if parse_sse_line(line.encode(), text):
                return "".join(text)
    raise RuntimeError("stream ended before [DONE]")


async def chat(session, url, model, prompt, stream):
    if not hasattr(session, "ws_connect"):
        return await chat_httpx(session, url, model, prompt, stream)
    headers = {"Content-Type": "application/json"}
    if stream:
        headers["Accept"] = "text/event-stream"
    async with session.post(url, data=request_body(model, prompt, stream),
                            headers=headers) as resp:
        resp.raise_for_status()
        if not stream:
            data = await resp.json()
            return data["choices"][0]["message"]["content"]
        text = []
        async for line in resp.content:
            line = line.strip()
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return "".join(text)
            event = json.loads(data)
            for choice in event.get("choices") or []:
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    text.append(piece)
        raise RuntimeError("stream ended before [DONE]")


def make_client(args):
    if args.client == "httpx":
        import httpx
        verify = args.ca if args.ca else True
        return httpx.AsyncClient(
            http2=True, verify=verify, timeout=120,
            limits=httpx.Limits(max_connections=None,
                                max_keepalive_connections=None))
    import aiohttp
    ctx = None
    if args.ca:
        ctx = ssl.create_default_context(cafile=args.ca)
    connector = aiohttp.TCPConnector(limit=0, ssl=ctx)
    return aiohttp.ClientSession(connector=connector,
                                 timeout=aiohttp.ClientTimeout(total=120))


ANSWER_LINE = re.compile(r"(?im)^\W*answer:\s*(.+?)\W*$")


async def council(ask, query):
    """workflows/council.yaml's shape: three members, a vote on their
    "Answer:" lines, a chairman reading all three."""
    answers = await asyncio.gather(*(ask(query + "\n\nAnswer carefully. "
                                         "End with one line of the form "
                                         "\"Answer: <short answer>\".")
                                     for _ in range(3)))
    votes = {}
    for a in answers:
        m = ANSWER_LINE.search(a)
        if m:
            votes[m.group(1)] = votes.get(m.group(1), 0) + 1
    top = max(votes, key=votes.get) if votes else ""
    return await ask("Question: %s\n\nThe members' short answers were voted "
                     "on; the most common one was \"%s\". Write the best "
                     "final answer.\n\n%s" % (query, top,
                                               "\n\n".join(answers)))


async def main(args):
    url = args.url.rstrip("/") + "/chat/completions"
    ok = calls = 0
    output = ""
    t0 = time.perf_counter()
    async with make_client(args) as session:
        sem = asyncio.Semaphore(args.conc) if args.conc else None

        async def ask(prompt):
            if sem is None:
                return await chat(session, url, args.model, prompt,
                                  args.stream)
            async with sem:
                return await chat(session, url, args.model, prompt,
                                  args.stream)

        if args.shape == "fanout":
            calls = int(args.size)
            answers = await asyncio.gather(*(ask(args.prompt)
                                             for _ in range(calls)),
                                           return_exceptions=True)
            good = [a for a in answers if isinstance(a, str)]
            ok, output = len(good), (good[0] if good else "")
        elif args.shape == "council":
            n = int(args.size)
            outs = await asyncio.gather(*(council(ask, args.prompt)
                                          for _ in range(n)),
                                        return_exceptions=True)
            good = [o for o in outs if isinstance(o, str)]
            calls, ok = 4 * n, 4 * len(good)
            output = good[0] if good else ""
        elif args.shape == "chain":
            output = args.prompt
            for _ in range(int(args.size)):
                output = await ask("Go on from: " + output)
                calls += 1
                ok += 1
        elif args.shape == "moa":
            layers, width = (int(x) for x in args.size.split("x"))
            answers = [args.prompt]
            for _ in range(layers):
                prompt = "Improve on these answers: " + " | ".join(answers)
                answers = await asyncio.gather(*(ask(prompt)
                                                 for _ in range(width)))
                calls += width
                ok += width
            output = await ask("Combine: " + " | ".join(answers))
            calls += 1
            ok += 1
    wall_ms = (time.perf_counter() - t0) * 1000.0
    print(json.dumps({"calls": calls, "ok": ok, "wall_ms": wall_ms,
                      "output": output}))
    return 0 if ok == calls else 1


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("url")
    p.add_argument("model")
    p.add_argument("shape", choices=["fanout", "chain", "moa", "council",
                                     "body"])
    p.add_argument("size", nargs="?", default="1")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--prompt", default="What is the capital of Australia?")
    p.add_argument("--client", choices=["aiohttp", "httpx"], default="aiohttp")
    p.add_argument("--ca", help="a PEM file of CAs to trust for https")
    p.add_argument("--conc", type=int, default=0,
                   help="at most this many calls in flight")
    a = p.parse_args()
    if a.shape == "body":
        print(request_body(a.model, a.prompt, a.stream))
        sys.exit(0)
    sys.exit(asyncio.run(main(a)))
