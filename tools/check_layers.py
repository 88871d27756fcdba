"""The layering guard of `./build.sh test` (see README "Layout").

1. Native code (examples, fuzz targets, native tests) never imports `convscope::web`, the
   wasm-bindgen boundary: what native code needs belongs in `app` or below.
2. No file in src/ imports a file that imports it back, directly or around a longer circle.
   Imports are `use crate::...` / `use super::...` statements and inline `crate::a::b` paths;
   a name a `mod.rs` re-exports (`pub use child::Name`) counts as an import of `child`.
Exits 1 with the offending files named.
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
IDENT = r"[A-Za-z_][A-Za-z0-9_]*"


def module_of(path):
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts = parts[:-1]
    return tuple(parts)


def strip_comments(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def expand(tree):
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e] (as lists of segments)."""
    tree = tree.strip()
    depth, start = 0, None
    for i, ch in enumerate(tree):
        if ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}":
            depth -= 1
    if start is None:
        path = tree.split(" as ")[0].strip()
        return [[s for s in path.split("::") if s]]
    prefix = [s for s in tree[:start].split("::") if s]
    inner = tree[start + 1 : tree.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    out = []
    for item in items:
        if item.strip():
            out += [prefix + p for p in expand(item)]
    return out


def absolute(path, module, is_mod_file):
    """A `crate::` / `super::` / `self::` path as segments from the crate root, or None."""
    if path[0] == "crate":
        return path[1:]
    base = list(module) if is_mod_file else list(module[:-1])
    if path[0] == "self":
        return base + path[1:] if is_mod_file else list(module) + path[1:]
    if path[0] == "super":
        cur = list(module) if not is_mod_file else list(module)
        cur = cur[:-1]
        rest = path[1:]
        while rest and rest[0] == "super":
            cur, rest = cur[:-1], rest[1:]
        return cur + rest
    return None


def main():
    problems = []

    # 1. native code and the wasm boundary
    native = list((ROOT / "examples").glob("*.rs")) + list((ROOT / "fuzz" / "fuzz_targets").glob("*.rs"))
    native += [p for p in (ROOT / "tests").rglob("*.rs")]
    for p in native:
        text = p.read_text()
        if '#![cfg(target_arch = "wasm32")]' in text:
            continue
        if re.search(r"convscope::web\b", strip_comments(text)):
            problems.append(f"{p.relative_to(ROOT)}: native code imports convscope::web (move what it needs into app/)")

    # 2. import circles between files of src/
    files = {module_of(p): p for p in SRC.rglob("*.rs") if "bin" not in p.relative_to(SRC).parts}
    reexports = {}  # (module, name) -> child module it comes from
    texts = {m: strip_comments(p.read_text()) for m, p in files.items()}
    for m, text in texts.items():
        is_mod = files[m].name in ("mod.rs", "lib.rs")
        for stmt in re.findall(r"\bpub(?:\([a-z]+\))?\s+use\s+([^;]+);", text):
            for path in expand(stmt):
                if path[0] in ("crate", "super", "self"):
                    continue
                if (*m, path[0]) in files and is_mod:
                    reexports[(m, path[-1])] = (*m, path[0])

    def resolve(segments):
        for n in range(len(segments), 0, -1):
            mod = tuple(segments[:n])
            if mod in files:
                if n < len(segments) and (mod, segments[n]) in reexports:
                    return reexports[(mod, segments[n])]
                return mod
        return ()

    graph = {m: set() for m in files}
    for m, text in texts.items():
        is_mod = files[m].name in ("mod.rs", "lib.rs")
        paths = []
        for stmt in re.findall(r"\buse\s+([^;]+);", text):
            paths += expand(stmt)
        paths += [p.split("::") for p in re.findall(rf"\b(?:crate|super)(?:::{IDENT})+", text)]
        for path in paths:
            if path[0] not in ("crate", "super", "self"):
                continue
            segs = absolute(path, m, is_mod)
            if segs is None:
                continue
            dep = resolve(segs)
            if dep and dep != m:
                graph[m].add(dep)
    # Depth-first search for a circle.
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                circle = stack[stack.index(d):] + [d]
                problems.append("import circle: " + " -> ".join(str(files[c].relative_to(ROOT)) for c in circle))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)

    for p in problems:
        print("check_layers:", p, file=sys.stderr)
    if problems:
        sys.exit(1)
    print(f"check_layers: {len(native)} native files keep out of convscope::web; {len(files)} files of src/ import no circle")


main()
