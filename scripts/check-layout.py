#!/usr/bin/env python3
"""Checks that imports run one way: between the workspace's crates, and between the modules of each crate.

1. Crates: each workspace crate has a layer (LAYERS below); a crate may depend (normal, build or dev) only on
   crates of a lower layer. Cargo already refuses a `use` of a crate that is not a dependency, so this is the
   check that keeps the dependencies themselves pointing down.
2. Modules: inside each crate, no circle of modules importing each other. A module's imports are the
   `crate::…`, `super::…` and `self::…` paths it names outside its tests; a path naming a module's own
   ancestor (the parent that declares it) does not count, since declaring is not importing.

Exits non-zero naming every offending dependency and circle. `--self-test` checks that both checks catch
what they must, on made-up inputs.
"""

import json
import os
import re
import subprocess
import sys
from collections import defaultdict

# Lower layers first. A crate may depend only on crates of a lower layer.
LAYERS = {
    "stepline-definition": 0,
    "stepline-emulator": 1,
    "stepline-types": 1,
    "stepline-core": 2,
    "stepline-app": 3,
    "stepline": 4,
    "stepline-frontend": 4,
}


def crate_problems(metadata):
    """Dependencies between workspace crates that do not run down the layers."""
    members = {p["id"] for p in metadata["packages"] if p["id"] in set(metadata["workspace_members"])}
    problems = []
    for p in metadata["packages"]:
        if p["id"] not in members:
            continue
        name = p["name"]
        if name not in LAYERS:
            problems.append(f"{name}: a workspace crate without a layer (add it to LAYERS in {sys.argv[0]})")
            continue
        for d in p["dependencies"]:
            if d.get("path") is None or d["name"] not in LAYERS:
                continue
            if LAYERS[d["name"]] >= LAYERS[name]:
                kind = d.get("kind") or "normal"
                problems.append(
                    f"{name} (layer {LAYERS[name]}) depends on {d['name']} (layer {LAYERS[d['name']]}, {kind}): "
                    "imports must run down the layers"
                )
    return problems


PATH = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)+)")
GROUP = re.compile(r"\b(crate|super|self)((?:::[A-Za-z_][A-Za-z0-9_]*)*)::\{([^;]*?)\}", re.S)


def module_files(src):
    """Module path (a tuple of names) → file, for one crate's source folder."""
    out = {}
    for d, _, fs in os.walk(src):
        for f in fs:
            # A binary's main.rs is a crate of its own, importing the library by its name.
            if not f.endswith(".rs") or (d == src and f == "main.rs"):
                continue
            path = os.path.join(d, f)
            parts = os.path.relpath(path, src)[:-3].split(os.sep)
            if parts[-1] in ("mod", "lib"):
                parts = parts[:-1]
            out[tuple(parts)] = path
    return out


def code_of(text):
    """The code outside comments and test modules."""
    text = re.sub(r"//[^\n]*", "", text)
    cut = text.find("#[cfg(test)]")
    return text if cut < 0 else text[:cut]


def imports(module, code, modules):
    """The modules `module` names (not itself, not its ancestors)."""
    def resolve(kind, segs):
        if kind == "crate":
            base = ()
        elif kind == "self":
            base = module
        else:  # super
            base = module[:-1]
            while segs and segs[0] == "super":
                segs, base = segs[1:], base[:-1]
        path = base + tuple(segs)
        for i in range(len(path), 0, -1):
            if path[:i] in modules:
                return path[:i]
        return None

    found = set()
    for kind, rest in PATH.findall(code):
        found.add(resolve(kind, rest.strip(":").split("::")))
    for kind, rest, items in GROUP.findall(code):
        prefix = [s for s in rest.strip(":").split("::") if s]
        for item in re.findall(r"[A-Za-z_][A-Za-z0-9_]*(?:::[A-Za-z_][A-Za-z0-9_]*)*", items):
            if item != "self":
                found.add(resolve(kind, prefix + item.split("::")))
    # A child module named by its bare name (`oidc::session_cookie` in `access`).
    for child in {m[-1] for m in modules if m[:-1] == module and m}:
        if re.search(r"(?<![A-Za-z0-9_:])" + child + r"::", code):
            found.add(module + (child,))
    return {t for t in found if t is not None and t != module and module[: len(t)] != t}


def circles(edges):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in list(edges):
        if v not in index:
            visit(v)
    return out


def module_problems(crate, src):
    modules = module_files(src)
    edges = defaultdict(set)
    for m, path in modules.items():
        edges[m] |= imports(m, code_of(open(path).read()), modules)
    problems = []
    for comp in circles(edges):
        names = ", ".join("::".join(m) or "(root)" for m in comp)
        problems.append(f"{crate}: modules import each other in a circle: {names}")
    return problems


def self_test():
    meta = {
        "workspace_members": ["a", "b"],
        "packages": [
            {"id": "a", "name": "stepline-types", "dependencies": [{"name": "stepline-core", "path": "x"}]},
            {"id": "b", "name": "stepline-core", "dependencies": [{"name": "stepline-types", "path": "x"}]},
        ],
    }
    got = crate_problems(meta)
    assert len(got) == 1 and "stepline-types (layer 1) depends on stepline-core" in got[0], got
    mods = {("a",), ("b",), ("c",), ("c", "d")}
    assert imports(("a",), "use crate::b::Thing;", mods) == {("b",)}
    assert imports(("c", "d"), "use super::super::a; use super::X;", mods) == {("a",)}
    assert imports(("a",), "use crate::{b::X, c::d::Y};", mods) == {("b",), ("c", "d")}
    assert imports(("c",), "let x = d::f();", mods) == {("c", "d")}
    edges = {("a",): {("b",)}, ("b",): {("c", "d")}, ("c", "d"): {("a",)}, ("c",): set()}
    assert circles(edges) == [[("a",), ("b",), ("c", "d")]], circles(edges)
    assert circles({("a",): {("b",)}, ("b",): set()}) == []
    print("layout check: self-test passed")


def main():
    if "--self-test" in sys.argv:
        self_test()
        return 0
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    meta = json.loads(
        subprocess.run(
            ["cargo", "metadata", "--format-version", "1", "--no-deps", "--offline"],
            cwd=root, check=True, capture_output=True, text=True,
        ).stdout
    )
    problems = crate_problems(meta)
    for p in meta["packages"]:
        src = os.path.join(os.path.dirname(p["manifest_path"]), "src")
        if os.path.isdir(src):
            problems += module_problems(p["name"], src)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} imports run the wrong way: see the layout comment in each crate's lib.rs")
        return 1
    print(f"layout: {len(meta['packages'])} crates, imports run one way, no module circles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
