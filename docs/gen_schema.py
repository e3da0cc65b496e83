#!/usr/bin/env python3
"""Writes docs/workflow.schema.json, the JSON Schema of a workflow file.

    python3 docs/gen_schema.py > docs/workflow.schema.json
    python3 docs/gen_schema.py --check docs/workflow.schema.json

The schema is draft-07, the draft the VS Code YAML extension (and
yaml-language-server in other editors) understands. Draft-07 cannot see
through `allOf` when it refuses unknown keys, so every node kind gets a
definition of its own that lists every key it takes (the node keys, the
call settings and the kind's own), with `additionalProperties: false`, as
the loader refuses unknown keys. This script builds those definitions from
the tables below, so each key is written once here.

Keep it in step with the loader (dag/load*.c) and docs/workflow-format.md:
tests/docs checks that the schema names exactly the keys the loader
accepts, section by section, and that the committed JSON is what this
script writes.
"""
import json
import sys

DURATION = (r"^([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?(ms|s|m|h)?$")
MAX_SECONDS = 7 * 24 * 3600
ID = r"^[A-Za-z_][A-Za-z0-9_-]*$"
KINDS = ["generate", "vote", "synthesize", "judge", "rank", "moa", "council",
         "cascade", "route", "plan", "bandit", "template"]


def duration(desc, default=None, allow_zero=False):
    number = {"type": "number", "maximum": MAX_SECONDS}
    number["minimum" if allow_zero else "exclusiveMinimum"] = 0
    s = {"description": desc + " A duration: 500ms, 30s, 2m, 1h or a number of "
         "seconds; at most 168h.",
         "anyOf": [{"type": "string", "pattern": DURATION}, number]}
    if default is not None:
        s["default"] = default
    return s


def integer(desc, lo, hi=None, default=None):
    s = {"description": desc, "type": "integer", "minimum": lo}
    if hi is not None:
        s["maximum"] = hi
    if default is not None:
        s["default"] = default
    return s


def number(desc, lo, hi, default=None):
    s = {"description": desc, "type": "number", "minimum": lo, "maximum": hi}
    if default is not None:
        s["default"] = default
    return s


def string(desc, default=None):
    s = {"description": desc, "type": "string"}
    if default is not None:
        s["default"] = default
    return s


def boolean(desc, default):
    return {"description": desc, "type": "boolean", "default": default}


def template(desc):
    return {"description": desc + " A template: {{ query }}, {{ inputs.NAME }}, "
            "{{ nodes.ID.output }}, {{ nodes.ID.responses }}.", "type": "string"}


def one_or_list(desc, what):
    item = {"type": "string", "minLength": 1}
    return {"description": desc,
            "anyOf": [dict(item, description=what),
                      {"type": "array", "items": dict(item, description=what)}]}


def model(desc):
    return {"description": desc + " A model id, or provider/model.",
            "type": "string", "minLength": 1}


def models(desc):
    return one_or_list(desc + " Model ids, or provider/model.", "a model id")


def nodes(desc):
    return one_or_list(desc, "a node id")


def mapping(desc, props, required=(), extra=None):
    """A mapping with fixed keys; x- keys are the user's own."""
    s = {"description": desc, "type": "object", "properties": props,
         "patternProperties": {"^x-": {}}, "additionalProperties": False}
    if required:
        s["required"] = list(required)
    if extra:
        s.update(extra)
    return s


# ---- call settings ----

def call_setting_defs():
    """Each call setting once, in definitions; the sections refer to them."""
    p = {}
    p["timeout"] = duration("One attempt, from the request sent to the last byte "
                                "of the answer.", "60s")
    p.update({
        "first_token_timeout": duration("Until the first bytes of the answer "
                                        "(default: the call's timeout)."),
        "idle_timeout": duration("The longest silence between two chunks of a "
                                 "streamed answer (default: the call's timeout)."),
        "retries": integer("More attempts after the first on rate_limited, "
                           "overloaded, server, timeout, connection and truncated "
                           "failures.", 0, 100, 2),
        "temperature": number("Sampling temperature (not sent when not set).", 0, 2),
        "max_tokens": integer("The longest answer, in tokens.", 1, 1000000, 1024),
        "top_p": number("Nucleus sampling (not sent when not set).", 0, 1),
        "seed": {"description": "Asks the provider for repeatable sampling.",
                 "type": "integer"},
        "stop": {"description": "Sequences that end the answer.",
                 "anyOf": [{"type": "string"},
                           {"type": "array", "items": {"type": "string"}}]},
        "stream": boolean("Ask for the answer as a stream; false asks for one whole "
                          "response.", True),
        "max_response_bytes": integer("The most one response may bring; more fails "
                                      "the call as too_large.", 1024, 1 << 30, 16 << 20),
    })
    return p


def transport_defs():
    """The transport's settings: in defaults and on models, never on a node."""
    return {
        "http_version": {"description": "What the connection speaks: auto (HTTP/2 "
                         "over TLS where the server offers it, else 1.1), 1.1, or 2 "
                         "(over plain http with prior knowledge).", "default": "auto",
                         "anyOf": [{"enum": ["auto", "1.1", "2", "2.0"]},
                                   {"enum": [1.1, 2, 2.0]}]},
        "max_connections": integer("The most connections to one host; 0: as many as "
                                   "needed (over HTTPS, HTTP/2 multiplexes calls on "
                                   "few).", 0, 10000, 0),
        "ca_cert": string("A PEM file of the CAs to trust (relative to the workflow "
                          "file), instead of the system's or SSL_CERT_FILE."),
    }


def transport():
    return {k: {"$ref": "#/definitions/transport_" + k} for k in transport_defs()}


def call_settings(with_timeout):
    keys = [k for k in call_setting_defs() if with_timeout or k != "timeout"]
    return {k: {"$ref": "#/definitions/call_" + k} for k in keys}


# ---- nodes ----

def node_common_defs():
    return {
        "description": string("A note for people reading the file; never sent to a "
                              "model."),
        "timeout": duration("The whole node: calls still out when it passes are "
                            "cancelled and the node fails. 0: none.", None, True),
        "needs": nodes("Nodes that must finish first, without using their output."),
        "continue_on_error": boolean("When this node fails, the nodes that depend on "
                                     "it still run and its output renders as empty.",
                                     False),
    }


def node_common(in_run):
    p = {"kind": None}  # set per kind
    for k in node_common_defs():
        # A plan's run has no needs and no continue_on_error: the plan has them.
        if not (in_run and k in ("needs", "continue_on_error")):
            p[k] = {"$ref": "#/definitions/node_common_" + k}
    p.update(call_settings(False))
    return p


EXTRACT = {
    "description": "What part of each answer is compared: whole, last_line, number, "
                   "choice, json:FIELD or regex:PATTERN (PCRE2, one capture group).",
    "default": "whole",
    "anyOf": [{"enum": ["whole", "last_line", "number", "choice"]},
              {"type": "string", "pattern": "^json:.+"},
              {"type": "string", "pattern": "^regex:.+"}]}

ACCEPT = {
    "self_check": mapping(
        "The model checks its own answer samples times; accepted when the share of "
        "'correct' reaches threshold.",
        {"threshold": number("The share of checks that must say correct.", 0, 1, 0.7),
         "samples": integer("How many checks.", 1, 100, 3)}),
    "judge": mapping(
        "Another model rates the answer from 1 to 10; accepted at threshold or more.",
        {"model": model("The model that rates."),
         "threshold": number("The lowest accepted rating.", 0, 10, 7)},
        ["model"]),
    "agreement": mapping(
        "samples answers are drawn; accepted when the most common one's share "
        "reaches min.",
        {"samples": integer("Answers drawn from the model.", 2, 100, 3),
         "min": number("The share the most common answer needs.", 0, 1, 0.67)}),
}

WHEN = mapping(
    "Conditions on the prompt; every one written must hold.",
    {"regex": string("The prompt matches this PCRE2 pattern."),
     "min_chars": integer("The prompt has at least this many characters.", 0, 10**9),
     "max_chars": integer("The prompt has at most this many characters.", 0, 10**9),
     "contains_pii": {"description": "The prompt holds (true) or does not hold (false) "
                      "an email address, a phone number, a card number or an IBAN.",
                      "type": "boolean"},
     "input": {"description": "Each named input has exactly this value.",
               "type": "object", "additionalProperties": {"type": "string"}},
     "semantic": {"$ref": "#/definitions/semantic"},
     "score": {"$ref": "#/definitions/score"},
     "difficulty": {"$ref": "#/definitions/difficulty"},
     "tokens": {"$ref": "#/definitions/tokens"}},
    extra={"minProperties": 1})

# The conditions with keys of their own, each a definition.
CONDITIONS = {
    "semantic": mapping("The prompt's embedding (by the node's embed model) is within "
                        "threshold cosine similarity of one of the examples'.", {
        "examples": {"description": "Texts of the kind of prompt this route takes.",
                     "type": "array", "minItems": 1, "maxItems": 2048,
                     "items": {"type": "string", "minLength": 1}},
        "threshold": number("The least cosine similarity.", -1, 1, 0.8),
    }, ["examples"]),
    "score": mapping("A learned router (quorum router train) scores the prompt's "
                     "embedding from 0 to 1; the route holds at threshold or more.", {
        "file": string("The router file, relative to the workflow file; read when the "
                       "workflow loads."),
        "threshold": number("Default: the file's own (quorum router calibrate).", 0, 1),
    }, ["file"]),
    "difficulty": {"description": "In a plan's run only: the planner's estimate of the "
                   "subtask's difficulty is in this range: easy (0 to 1/3), medium (1/3 "
                   "to 2/3), hard (2/3 to 1), or {min, max} from 0 to 1.",
                   "oneOf": [{"enum": ["easy", "medium", "hard"]},
                             mapping("A range of difficulty, 0 easy to 1 hard.", {
                                 "min": number("The least difficulty.", 0, 1),
                                 "max": number("The most difficulty.", 0, 1)})]},
    "tokens": mapping("In a plan's run only: the planner's estimate of the subtask's "
                      "answer, in tokens, is in this range.", {
        "min": integer("The fewest tokens.", 0, 1000000),
        "max": integer("The most tokens.", 0, 1000000)}),
}

ROUTE = {"description": "A route: when its conditions hold, the prompt goes to `to`; "
         "or an ask route: a model answers (its answer is the output) or declines.",
         "oneOf": [mapping("A route.", {"when": {"$ref": "#/definitions/when"},
                                        "to": model("The model the prompt goes to.")},
                           ["when", "to"]),
                   mapping("An ask route.", {
                       "ask": model("The model asked to answer or decline."),
                       "decline": dict(string("Its marker for declining.", "[[DECLINE]]"),
                                       minLength=2)},
                           ["ask"])]}

REWARD = {"description": "What the bandit learns from: feedback (quorum feedback, quorum "
          "eval), the default, or {judge: MODEL}, a model that rates each answer 0 to "
          "10.", "default": "feedback",
          "oneOf": [{"const": "feedback"},
                    mapping("A judge rates each answer.",
                            {"judge": model("The model that rates the answer.")},
                            ["judge"])]}

ENDPOINT = mapping("One copy of the model: where it answers and with which key.", {
    "base_url": {"description": "Where this copy of the model answers: http:// or "
                 "https://; may read ${VAR} and ${VAR:-default}, never a key's "
                 "variable.", "type": "string",
                 "pattern": r"^([Hh][Tt][Tt][Pp][Ss]?://|\$\{)"},
    "api_key_env": string("The variable that holds its key; \"\" sends no key. "
                          "Default: the provider's."),
    "weight": number("Its odds under strategy shuffle (the others ignore it).", 0,
                     1000000, 1),
}, ["base_url"])

# Each kind: (description, its own keys, required keys).
KIND_KEYS = {
    "generate": ("Sends one prompt to every model in parallel, samples times each.", {
        "models": models("Who answers."),
        "prompt": template("The user message (default: the query)."),
        "system": template("The system message."),
        "samples": integer("Calls per model.", 1, 1000, 1),
        "min_ok": integer("How many calls must succeed for the node to be ok.",
                          1, 1000000, 1),
        "stop_when": {"description": "decided: when a vote reads this node alone, cancel "
                      "the calls still out once they cannot change its winner.",
                      "enum": ["decided"]},
    }, ["models"]),
    "vote": ("Picks the most common answer among the candidates; no model call.", {
        "from": nodes("Whose candidates are counted."),
        "extract": EXTRACT,
        "weights": {"description": "A model's vote counts this much (default 1).",
                    "type": "object",
                    "additionalProperties": {"type": "number", "minimum": 0,
                                             "maximum": 1000000}},
        "min_agreement": number("Below this share of the weight for the winner, "
                                "confident is false.", 0, 1, 0.5),
        "stop_when": {"description": "decided: cancel the calls of the from node "
                      "still out once they cannot change the winner.",
                      "enum": ["decided"]},
    }, ["from"]),
    "synthesize": ("One model writes one answer from all the candidates.", {
        "from": nodes("Whose candidates it merges."),
        "model": model("The model that writes."),
        "prompt": template("The user message (default: the query)."),
        "system": template("Instructions placed before the candidates in the system "
                           "message."),
    }, ["from", "model"]),
    "judge": ("One judge or a panel picks the best candidate; the output is that "
              "candidate's text, unchanged.", {
        "from": nodes("Whose candidates are judged."),
        "model": model("One judge (or write models for a panel)."),
        "models": models("A panel of judges, whose picks are voted."),
        "criteria": string("What the judges weigh."),
        "prompt": template("The question the candidates answer (default: the query)."),
    }, ["from"]),
    "rank": ("Each member ranks the anonymised candidates; merged by Borda count.", {
        "from": nodes("Whose candidates are ranked."),
        "models": models("The members."),
        "criteria": string("What the members weigh."),
    }, ["from", "models"]),
    "moa": ("Mixture-of-Agents: layers rounds of proposers, then the aggregator "
            "synthesizes; expands into ID.layer1..N and ID.", {
        "proposers": models("The models of each round."),
        "layers": integer("Rounds of proposers.", 1, 100, 3),
        "aggregator": model("The model that writes the final answer."),
        "prompt": template("The task, in every round (default: the query)."),
    }, ["proposers", "aggregator"]),
    "council": ("Members answer, rank each other, a chairman writes; expands into "
                "ID.answers, ID.review and ID.", {
        "members": models("The models that answer and rank."),
        "chairman": model("The model that writes the final answer."),
        "prompt": template("The question (default: the query)."),
    }, ["members", "chairman"]),
    "cascade": ("Tries models in order, cheapest first, until an answer is "
                "accepted.", {
        "models": models("The models, in the order tried."),
        "prompt": template("The user message (default: the query)."),
        "accept": {"$ref": "#/definitions/accept"},
    }, ["models"]),
    "route": ("Sends the prompt to the model of the first route whose condition "
              "holds, else to default.", {
        "prompt": template("The user message; conditions are tested on it "
                           "(default: the query)."),
        "system": template("The system message."),
        "routes": {"description": "Tried in order.", "type": "array",
                   "items": {"$ref": "#/definitions/route"}},
        "default": model("The model for prompts no route takes."),
        "embed": model("The embeddings model of semantic and score conditions."),
    }, ["routes", "default"]),
    "plan": ("A planner splits the task into subtasks, which run as a DAG.", {
        "model": model("The planner."),
        "prompt": template("The task given to the planner (default: the query)."),
        "max_subtasks": integer("The most subtasks a plan may have.", 1, 100, 8),
        "run": {"$ref": "#/definitions/run"},
    }, ["model"]),
    "bandit": ("Learns, run after run, which of its arms (models) to ask: one call to "
               "the arm it picks, its reward from a judge or from quorum feedback, kept "
               "in the state file.", {
        "arms": models("The models it chooses among (2 or more)."),
        "prompt": template("The user message (default: the query)."),
        "system": template("The system message."),
        "policy": {"description": "thompson (Thompson sampling), ucb (UCB-Tuned) or "
                   "linear (linear Thompson sampling on the prompt's embedding: needs "
                   "embed).", "enum": ["thompson", "ucb", "linear"],
                   "default": "thompson"},
        "embed": model("The embeddings model of policy linear."),
        "reward": {"$ref": "#/definitions/reward"},
        "cost_weight": number("What one USD is worth in reward: an arm that costs $x "
                              "more must score x * cost_weight more.", 0, 1e9, 0),
        "budget": number("USD per query on average: the bandit paces its choices to "
                         "keep to it; 0: none.", 0, 1000000, 0),
        "explore": integer("Pulls of each arm before the policy decides (the cold "
                           "start).", 0, 1000, 1),
        "state": string("The SQLite file where what it learns is kept, relative to the "
                        "workflow file."),
    }, ["arms", "state"]),
    "template": ("Renders text; no model call.", {
        "text": template("The node's output."),
    }, ["text"]),
}


def node_def(kind, in_run=False):
    desc, own, required = KIND_KEYS[kind]
    p = node_common(in_run)
    p["kind"] = {"description": "What the node does.", "const": kind}
    p.update(own)
    req = list(required) if in_run and kind == "generate" else ["kind"] + list(required)
    return mapping(desc, p, req)


def judge_def():
    d = node_def("judge")
    # One judge or a panel: exactly one of the two.
    d["oneOf"] = [{"required": ["model"]}, {"required": ["models"]}]
    return d


def dispatch(prefix, kinds, otherwise=None):
    """if kind is K then the definition prefix_K."""
    rules = []
    for k in kinds:
        rules.append({"if": {"properties": {"kind": {"const": k}}, "required": ["kind"]},
                      "then": {"$ref": "#/definitions/%s%s" % (prefix, k)}})
    if otherwise:
        rules.append({"if": {"not": {"required": ["kind"]}},
                      "then": {"$ref": "#/definitions/%s%s" % (prefix, otherwise)}})
    return rules


def schema():
    defs = {}
    for k, v in call_setting_defs().items():
        defs["call_" + k] = v
    for k, v in transport_defs().items():
        defs["transport_" + k] = v
    for k, v in node_common_defs().items():
        defs["node_common_" + k] = v
    defs["input"] = {"description": "A named input, given with --input NAME=VALUE.",
                     "anyOf": [{"type": "null"}, mapping("An input.", {
                         "required": boolean("The run is refused without this input.",
                                             False),
                         "default": string("The value when none is given."),
                         "description": string("What the input is for."),
                     })]}
    defaults_props = call_settings(True)
    defaults_props.update(transport())
    defs["defaults"] = mapping("Call settings for every call, unless a model or a node "
                               "overrides them.", defaults_props)
    defs["price"] = mapping("USD per million tokens.", {
        "input": number("USD per million input tokens.", 0, 100000),
        "output": number("USD per million output tokens.", 0, 100000),
    }, ["input", "output"])
    model_props = {
        "provider": {"description": "The wire format.",
                     "enum": ["openai", "anthropic", "gemini", "ollama"]},
        "model": string("The provider's name for the model."),
        "base_url": {"description": "Where requests go: http:// or https://; may read "
                     "${VAR} and ${VAR:-default} from the environment, never a key's "
                     "variable. Default: the provider's.", "type": "string",
                     "pattern": r"^([Hh][Tt][Tt][Pp][Ss]?://|\$\{)"},
        "api_key_env": string("The environment variable that holds the key; \"\" sends "
                              "no key. Default: OPENAI_API_KEY, ANTHROPIC_API_KEY, "
                              "GEMINI_API_KEY, none for ollama."),
        "price": {"$ref": "#/definitions/price"},
        "params": {"description": "Fields added to every request body as written "
                   "(they win over quorum's own).", "type": "object"},
        "max_concurrency": integer("At most this many calls in flight to this model; 0: "
                                   "no limit.", 0, 100000, 0),
        "rpm": number("At most this many calls started per minute; 0: no limit.",
                      0, 100000, 0),
        "fallback": models("The models tried, in order, when a call to this one fails "
                           "after its retries."),
        "local": boolean("The model runs on your own machine or network: personal data "
                         "may be routed to it.", False),
        "endpoints": {"description": "The same model behind several base URLs or keys; "
                      "each call picks one by strategy. With endpoints, base_url and "
                      "api_key_env go in each endpoint, not on the model.",
                      "type": "array", "minItems": 1, "maxItems": 64,
                      "items": {"$ref": "#/definitions/endpoint"}},
        "strategy": {"description": "How a call picks an endpoint: shuffle (at random by "
                     "weight), least_busy (the fewest calls in flight) or latency (the "
                     "lowest recent latency).",
                     "enum": ["shuffle", "least_busy", "latency"], "default": "shuffle"},
        "cooldown": duration("How long an endpoint rests after a rate limit, an "
                             "overload, a 5xx, a timeout or a lost connection (its "
                             "Retry-After when longer).", "30s"),
    }
    model_props.update(call_settings(True))
    model_props.update(transport())
    defs["model"] = mapping("A model endpoint.", model_props, ["provider", "model"])
    defs["budget"] = mapping("Limits on one run.", {
        "max_usd": number("The most one run may spend.", 0, 1000000),
        "max_calls": integer("The most requests one run may send.", 1, 10**9),
    })
    defs["node"] = {
        "description": "A node: kind and its keys.",
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"description": "What the node does.", "enum": KINDS}},
        "allOf": dispatch("node_", KINDS),
    }
    for k in KINDS:
        defs["node_" + k] = judge_def() if k == "judge" else node_def(k)
    defs["run"] = {
        "description": "What each subtask of a plan runs: a generate (the default) or "
                       "a route node, without needs or continue_on_error.",
        "type": "object",
        "properties": {"kind": {"description": "generate (default) or route.",
                                "enum": ["generate", "route"]}},
        "allOf": dispatch("run_", ["generate", "route"], "generate"),
    }
    defs["run_generate"] = node_def("generate", True)
    defs["run_route"] = node_def("route", True)
    defs["accept"] = mapping("Exactly one check.", dict(
        ACCEPT_REF, regex=string("Accepted when the answer matches this PCRE2 "
                                 "pattern.")),
        extra={"oneOf": [{"required": [k]} for k in
                         ["self_check", "judge", "agreement", "regex"]]})
    for k, v in ACCEPT.items():
        defs["accept_" + k] = v
    defs["route"] = ROUTE
    defs["when"] = WHEN
    defs.update(CONDITIONS)
    defs["reward"] = REWARD
    defs["endpoint"] = ENDPOINT

    top = {
        "version": {"description": "The version of the format.", "const": 1},
        "name": string("The workflow's name (default: the file's name without its "
                       "extension)."),
        "description": string("What the workflow does; shown by quorum validate."),
        "inputs": {"description": "Named inputs; query exists always.",
                   "type": "object", "propertyNames": {"pattern": ID},
                   "additionalProperties": {"$ref": "#/definitions/input"}},
        "defaults": {"$ref": "#/definitions/defaults"},
        "models": {"description": "Model endpoints by id.", "type": "object",
                   "propertyNames": {"minLength": 1},
                   "additionalProperties": {"$ref": "#/definitions/model"}},
        "nodes": {"description": "The DAG: node ids to nodes.", "type": "object",
                  "minProperties": 1, "propertyNames": {"pattern": ID},
                  "additionalProperties": {"$ref": "#/definitions/node"}},
        "output": string("The node whose output is the run's answer (default: the only "
                         "node nothing depends on)."),
        "budget": {"$ref": "#/definitions/budget"},
    }
    s = {"$schema": "http://json-schema.org/draft-07/schema#",
         "$comment": "Generated by docs/gen_schema.py: edit that, not this file.",
         "title": "quorum workflow file, version 1"}
    s.update(mapping("A quorum workflow: models, nodes and how their answers merge. "
                     "Reference: docs/workflow-format.md.", top, ["version", "nodes"]))
    s["definitions"] = defs
    return s


ACCEPT_REF = {k: {"$ref": "#/definitions/accept_" + k} for k in ACCEPT}


def dump(v, indent=0):
    """JSON with 2-space indentation; what fits in a line stays on one."""
    flat = json.dumps(v, ensure_ascii=False)
    if indent + len(flat) <= 88 or not isinstance(v, (dict, list)) or not v:
        return flat
    pad = " " * (indent + 2)
    if isinstance(v, dict):
        items = ["%s%s: %s" % (pad, json.dumps(k, ensure_ascii=False),
                               dump(x, indent + 2)) for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + dump(x, indent + 2) for x in v]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def text():
    return dump(schema()) + "\n"


def main(argv):
    if len(argv) == 3 and argv[1] == "--check":
        with open(argv[2], encoding="utf-8") as f:
            if f.read() != text():
                sys.stderr.write("%s is not what docs/gen_schema.py writes: run\n"
                                 "  python3 docs/gen_schema.py > %s\n" % (argv[2], argv[2]))
                return 1
        return 0
    if len(argv) != 1:
        sys.stderr.write("usage: gen_schema.py [--check FILE]\n")
        return 2
    sys.stdout.write(text())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
