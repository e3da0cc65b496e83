#!/usr/bin/env python3
"""Writes the shipped routing study's questions and the simulated provider
that answers them, from one seed, so the two always hold the same
questions:

    routing/questions.jsonl   one question a line:
                              {"id", "query", "expected", "compare": "number"}
    routing/sim.yaml          the scenario for `--sim=routing/sim.yaml`: a
                              weak, a strong, a small declining, an
                              embedding and a judging model, and a bank
                              holding exactly those questions, each with its
                              hidden topic and difficulty

    python3 routing/make_dataset.py           # (re)write both
    python3 routing/make_dataset.py --check   # exit 1 unless both are as written

Every question has a number for its answer, in five topics (sums, unit
conversions, products, percentages, remainders). Its difficulty d (0 easy .. 1
hard) is u**3 for u uniform: most questions are easy, a few are hard, as
in RouteLLM's data, where the strong model is needed on a minority. The
operands grow with d, so a hard question also looks hard. The weak model
stays good at every difficulty on sums and conversions and falls steeply
on the other three topics; the strong model stays good everywhere. So
the strong model's gain is concentrated on the hard questions of three
topics: what a router can find from the question's embedding, which
carries its topic and (with noise) its difficulty. routing/README.md has
the models, the theory and the numbers.

`make()` is also what bench/routing imports to know each question's
hidden topic and difficulty.
"""
import argparse
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 2025
QUESTIONS = 2000
# d = u ** SKEW: mean 1 / (SKEW + 1) = 0.25; P(d > 0.5) = 1 - 0.5 ** (1/3) = 21 %.
SKEW = 3

# The topics, their share of the questions, and the keywords the
# embeddings read in texts that are not bank questions (the semantic
# route's examples).
TOPICS = [
    # name, weight, keywords
    ("sum", 1, ["sum"]),
    ("units", 1, ["minutes", "seconds"]),
    ("product", 1, ["product"]),
    ("percent", 1, ["percent"]),
    ("remainder", 1, ["remainder", "divided"]),
]
# Where the weak model stays good (a semantic router sends these to it).
WEAK_GOOD = ("sum", "units")

# The simulated models: accuracy linear in d, {easy: at d = 0, hard: at
# d = 1}; the weak model's is replaced on the topics it is good at.
WEAK = {"easy": 0.97, "hard": 0.10}
WEAK_TOPIC = {"sum": {"easy": 0.99, "hard": 0.75},
              "units": {"easy": 0.98, "hard": 0.65}}
STRONG = {"easy": 0.99, "hard": 0.85}
SMALL = {"easy": 0.97, "hard": 0.30}
SMALL_DECLINE_ABOVE = 0.35
SMALL_DECLINE_NOISE = 0.08


def shown(n):
    """A number as the simulated models write it: 1,786."""
    return "{:,}".format(n)


def digits(rng, k):
    """A number of exactly k digits (k >= 1), never ending in 0 past one
    digit (an operand like 4,000 is easier than its size says)."""
    if k <= 1:
        return rng.randint(2, 9)
    while True:
        n = rng.randint(10 ** (k - 1), 10 ** k - 1)
        if n % 10:
            return n


def question(rng, topic, d):
    """(question, right answer, wrong answer, prose answer) of one topic; the operands
    grow with the difficulty d."""
    if topic == "sum":
        k = 2 + round(4 * d)                       # 2..6 digits
        a, b = digits(rng, k), digits(rng, k)
        q, right = "What is the sum of %d and %d?" % (a, b), a + b
        prose = "The sum of %d and %d is %s." % (a, b, shown(right))
    elif topic == "units":
        if d < 0.5:
            h, m = rng.randint(1, 9 + round(40 * d)), rng.randint(1, 59)
            q = "How many minutes are in %d hours and %d minutes?" % (h, m)
            right = 60 * h + m
            prose = "%d hours and %d minutes are %s minutes." % (h, m, shown(right))
        else:
            dd, h, m = rng.randint(1, 2 + round(20 * d)), rng.randint(1, 23), rng.randint(1, 59)
            q = ("How many seconds are in %d days, %d hours and %d minutes?"
                 % (dd, h, m))
            right = 86400 * dd + 3600 * h + 60 * m
            prose = ("%d days, %d hours and %d minutes are %s seconds."
                     % (dd, h, m, shown(right)))
    elif topic == "product":
        ka = 1 + round(2 * d)                      # 1..3 digits
        kb = 2 + round(2 * d)                      # 2..4 digits
        a, b = digits(rng, ka), digits(rng, kb)
        q, right = "What is the product of %d and %d?" % (a, b), a * b
        prose = "The product of %d and %d is %s." % (a, b, shown(right))
    elif topic == "percent":
        if d < 0.3:                                # p% of n is whole
            p, n = rng.choice((5, 10, 20, 25, 50, 75)), 20 * rng.randint(1, 50 + round(300 * d))
        else:
            p, n = rng.randint(3, 97), 100 * rng.randint(2, 5 + round(200 * d))
        q, right = "What is %d percent of %d?" % (p, n), p * n // 100
        prose = "%d percent of %s is %s." % (p, shown(n), shown(right))
    else:
        a = digits(rng, 2 + round(4 * d))          # 2..6 digits
        b = digits(rng, 1 + round(2 * d))          # 1..3 digits
        q = "What is the remainder when %d is divided by %d?" % (a, b)
        right = a % b
        prose = "%s divided by %d leaves %s." % (shown(a), b, shown(right))
    miss = rng.choice((1, 2, 10, 100)) if right > 200 else rng.choice((1, 2))
    wrong = right + miss * rng.choice((-1, 1))
    if wrong < 0:
        wrong = right + miss
    return q, right, wrong, prose


def make(seed=SEED, n=QUESTIONS):
    """The questions: [{id, q, right, wrong, prose, topic, difficulty}],
    distinct, in a random order."""
    rng = random.Random(seed)
    names = [t[0] for t in TOPICS]
    weights = [t[1] for t in TOPICS]
    seen, items = set(), []
    while len(items) < n:
        topic = rng.choices(names, weights)[0]
        d = round(rng.random() ** SKEW, 4)
        q, right, wrong, prose = question(rng, topic, d)
        if q in seen:
            continue
        seen.add(q)
        items.append({"id": "route-%04d" % (len(items) + 1), "q": q,
                      "right": right, "wrong": wrong,
                      "prose": prose,
                      "topic": topic, "difficulty": d})
    # The simulator finds a bank question anywhere in a prompt: none may
    # hold another. All start with "What is" or "How many" and end in "?",
    # so none can; check.
    qs = sorted(it["q"] for it in items)
    for x in qs:
        for y in qs:
            assert x == y or x not in y, (x, y)
    return items


def jsonl(items):
    return "".join(json.dumps({"id": it["id"], "query": it["q"],
                               "expected": str(it["right"]),
                               "compare": "number"}) + "\n"
                   for it in items)


def flow(m):
    return "{easy: %g, hard: %g}" % (m["easy"], m["hard"])


def scenario(items):
    topics = ", ".join("%s: [%s]" % (name, ", ".join(kw))
                       for name, _, kw in TOPICS)
    weak_topic = ", ".join("%s: %s" % (t, flow(a)) for t, a in WEAK_TOPIC.items())
    out = [
        "# The simulated provider of routing/: models whose accuracy falls with a",
        "# question's hidden difficulty, over a bank holding exactly the questions",
        "# of routing/questions.jsonl, each with its hidden topic and difficulty.",
        "# Written by routing/make_dataset.py: change the script and run it again",
        "# rather than editing this file. routing/README.md says what each model",
        "# is for.",
        "seed: %d" % SEED,
        "defaults: {chunk_chars: 64}",
        "embeddings: {dim: 64, topics: {%s}}" % topics,
        "models:",
        "  weak:   {accuracy: %s, topic_accuracy: {%s}, latency: 15ms, jitter: 5ms}"
        % (flow(WEAK), weak_topic),
        "  strong: {accuracy: %s, latency: 60ms, jitter: 15ms}" % flow(STRONG),
        "  small:  {accuracy: %s, decline_above: %g, decline_noise: %g, latency: 8ms, "
        "jitter: 2ms}" % (flow(SMALL), SMALL_DECLINE_ABOVE, SMALL_DECLINE_NOISE),
        "  embed:  {latency: 5ms, jitter: 1ms}",
        "  judge:  {latency: 20ms, jitter: 5ms, rules: [{kind: rating, rating: auto}]}",
        "bank:",
    ]
    for it in items:
        out.append("  - {q: %s, a: %s, short: %s, wrong: [%s], topic: %s, difficulty: %g}"
                   % (json.dumps(it["q"]), json.dumps(it["prose"]),
                      json.dumps(shown(it["right"])),
                      json.dumps(shown(it["wrong"])), it["topic"],
                      it["difficulty"]))
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless the files are what this script writes")
    args = ap.parse_args()
    items = make()
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "eval"))
    from make_dataset import write_or_check  # eval/'s: one writer for both
    return write_or_check({os.path.join(HERE, "questions.jsonl"): jsonl(items),
                           os.path.join(HERE, "sim.yaml"): scenario(items)},
                          "routing/make_dataset.py", args.check)

if __name__ == "__main__":
    sys.exit(main())
