#!/usr/bin/python3
"""What a user would write instead of quorum: asyncio + aiohttp.

One ClientSession with an unlimited connector; asyncio.gather for the
fan-out, sequential awaits for a chain, a gather per layer for MoA. It sends
the same request body as quorum (same keys, same order, no spaces) and
parses the answer the same way (one JSON document, or SSE events).

    baseline_asyncio.py URL MODEL fanout N   [--stream] [--prompt P]
    baseline_asyncio.py URL MODEL chain DEPTH [--stream]
    baseline_asyncio.py URL MODEL moa LAYERSxWIDTH [--stream]
    baseline_asyncio.py URL MODEL body        # print one request body

URL is the base, e.g. http://127.0.0.1:PORT/v1. Prints one JSON line:
{"calls", "ok", "wall_ms", "output"}.
"""
import argparse
import asyncio
import json
import sys
import time

import aiohttp

MAX_TOKENS = 16


def request_body(model, prompt, stream):
    body = {"model": model,
            "messages": [{"role": "user", "content": prompt}],
            "max_tokens": MAX_TOKENS,
            "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
    return json.dumps(body, separators=(",", ":"))


async def chat(session, url, model, prompt, stream):
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


async def main(args):
    url = args.url.rstrip("/") + "/chat/completions"
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=120)
    ok = calls = 0
    output = ""
    t0 = time.perf_counter()
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=timeout) as session:
        def ask(prompt):
            return chat(session, url, args.model, prompt, args.stream)

        if args.shape == "fanout":
            calls = int(args.size)
            answers = await asyncio.gather(*(ask(args.prompt)
                                             for _ in range(calls)),
                                           return_exceptions=True)
            good = [a for a in answers if isinstance(a, str)]
            ok, output = len(good), (good[0] if good else "")
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
    p.add_argument("shape", choices=["fanout", "chain", "moa", "body"])
    p.add_argument("size", nargs="?", default="1")
    p.add_argument("--stream", action="store_true")
    p.add_argument("--prompt", default="What is the capital of Australia?")
    a = p.parse_args()
    if a.shape == "body":
        print(request_body(a.model, a.prompt, a.stream))
        sys.exit(0)
    sys.exit(asyncio.run(main(a)))
