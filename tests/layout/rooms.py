#!/usr/bin/env python3
"""The shape of the house, checked: product code never includes tests/,
the arrows between rooms run one way (architecture.md), and inside
orchestrator/ the files form no include circle: a file belongs to the
module its name says (node_*.c to node, http.c and call_int.h to call),
and module A depends on B when a file of A includes B's header."""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
PRODUCT = ['common', 'dag', 'providers', 'aggregators', 'orchestrator', 'sim', 'server',
           'cli']
# Which rooms a room may include (architecture.md: arrows run downward).
ALLOWED = {
    'common': {'common'},
    'dag': {'dag', 'common'},
    'providers': {'providers', 'common'},
    'aggregators': {'aggregators', 'dag', 'common'},
    'orchestrator': {'orchestrator', 'aggregators', 'providers', 'dag', 'common',
                     'include'},
    'sim': {'sim', 'providers', 'common', 'include'},
    # quorum serve: a user of the library, as the command is, that the
    # command runs (it sees neither the engine's insides nor the command).
    'server': {'server', 'include', 'common'},
    # The command: the library through quorum.h only, the simulator, which
    # it runs in-process for --sim, and the server, which `quorum serve` runs.
    'cli': {'cli', 'include', 'common', 'sim', 'server'},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def includes(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        return INCLUDE.findall(f.read())


def room_of(room, inc):
    """The room an include in a file of `room` points at."""
    if inc == 'quorum.h':
        return 'include'
    parts = os.path.normpath(os.path.join(room, inc)).split(os.sep)
    return parts[0]


def module_of(name):
    stem = name.rsplit('.', 1)[0]
    if stem.startswith('node_'):
        return 'node'
    if stem in ('http', 'call_int', 'call_shared'):
        return 'call'
    if stem in ('shared_redis', 'shared_none'):
        return 'shared'
    return stem


def find_cycle(edges):
    state, stack = {}, []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in sorted(edges.get(n, ())):
            if state.get(m) == 1:
                return stack[stack.index(m):] + [m]
            if not state.get(m):
                c = visit(m)
                if c:
                    return c
        stack.pop()
        state[n] = 2
        return None

    for n in sorted(edges):
        if not state.get(n):
            c = visit(n)
            if c:
                return c
    return None


def main():
    problems = []
    orch = {}
    for room in PRODUCT:
        d = os.path.join(ROOT, room)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if not name.endswith(('.c', '.h')):
                continue
            for inc in includes(os.path.join(d, name)):
                target = room_of(room, inc)
                if target == 'tests':
                    problems.append(f'{room}/{name} includes {inc}: product code never '
                                    'includes tests/')
                elif target in PRODUCT + ['include'] and target not in ALLOWED[room]:
                    problems.append(f'{room}/{name} includes {inc}: {room}/ may not '
                                    f'include {target}/')
                if room == 'orchestrator' and target == 'orchestrator':
                    a, b = module_of(name), module_of(os.path.basename(inc))
                    if a != b:
                        orch.setdefault(a, set()).add(b)
    cycle = find_cycle(orch)
    if cycle:
        problems.append('orchestrator/ include circle: ' + ' -> '.join(cycle))
    for p in problems:
        print(p)
    print(f'{len(orch)} orchestrator modules, '
          f'{sum(len(v) for v in orch.values())} one-way dependencies')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
