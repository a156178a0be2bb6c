#!/usr/bin/env python3
"""clang-tidy over the given translation units, with a cache of clean results.

Usage: hack/tidy.py BUILD_DIR CACHE_DIR JOBS TIMEOUT_SECONDS -- CLANG_TIDY_ARGS... -- FILES...

A file is checked again only when something that can change its findings
changed: clang-tidy's version, .clang-tidy, the arguments, the file's compile
command, or the content of any file it includes (the dependency list ninja
recorded when it compiled the file, system headers included). Only clean
results are cached, so a finding is reported on every run until it is fixed.
Paths inside the repository are hashed relative to it, so clones in other
directories share the cache (as they share ccache's).

Prints each file's findings on stdout and the progress on stderr; exits 1 if there are any, 124 if the time bound
ran out first, 0 when every file is clean.
"""
import concurrent.futures
import functools
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def split_args(argv):
    head, rest = argv[:4], argv[4:]
    if len(head) < 4 or not rest or rest[0] != "--" or "--" not in rest[1:]:
        sys.exit(__doc__)
    second = rest.index("--", 1)
    return head, rest[1:second], rest[second + 1:]


def object_of(entry):
    """The -o target of a compile command: how ninja names the file's deps."""
    args = shlex.split(entry["command"])
    return args[args.index("-o") + 1] if "-o" in args else None


def ninja_deps(build_dir, objects):
    """object -> the files it was compiled from, as ninja recorded them."""
    out = subprocess.run(["ninja", "-C", build_dir, "-t", "deps", *objects],
                         capture_output=True, text=True, check=False).stdout
    deps, current = {}, None
    for line in out.splitlines():
        if line and not line.startswith(" "):
            current = line.split(":", 1)[0]
            # "(STALE)" or missing deps: the file is always checked.
            deps[current] = [] if "(VALID)" in line else None
        elif line.strip() and current is not None and deps[current] is not None:
            deps[current].append(line.strip())
    return deps


@functools.lru_cache(maxsize=None)
def content_hash(full_path):
    """The sha256 of a file's content; a header shared by many files is read once."""
    try:
        with open(full_path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return "missing"


def progress(message):
    print(f"clang-tidy: {message}", file=sys.stderr, flush=True)


def relative(text):
    return text.replace(ROOT, "<root>")


def cache_key(entry, deps, build_dir, preamble):
    h = hashlib.sha256(preamble)
    h.update(relative(entry["command"]).encode())
    for dep in deps:
        full = os.path.normpath(os.path.join(build_dir, dep))
        h.update(relative(full).encode() + b"\0" + content_hash(full).encode() + b"\n")
    return h.hexdigest()


def main():
    (build_dir, cache_dir, jobs, timeout), tidy_args, files = split_args(sys.argv[1:])
    deadline = time.monotonic() + int(timeout)
    os.makedirs(cache_dir, exist_ok=True)
    with open(os.path.join(build_dir, "compile_commands.json")) as f:
        entries = {os.path.realpath(e["file"]): e for e in json.load(f)}

    version = subprocess.run(["clang-tidy-16", "--version"], capture_output=True, text=True, check=True).stdout
    with open(os.path.join(ROOT, ".clang-tidy"), "rb") as f:
        config = f.read()
    preamble = (version + "\0" + " ".join(tidy_args) + "\0").encode() + config

    units = []
    for path in files:
        entry = entries.get(os.path.realpath(path))
        if entry is None:
            progress(f"{path} is not in {build_dir}/compile_commands.json: configure {build_dir} again")
            return 1
        units.append((path, entry))
    deps = ninja_deps(build_dir, [o for o in (object_of(e) for _, e in units) if o])

    todo = []
    for path, entry in units:
        recorded = deps.get(object_of(entry))
        key = cache_key(entry, recorded, os.path.abspath(build_dir), preamble) if recorded else None
        if key and os.path.exists(os.path.join(cache_dir, key)):
            continue
        todo.append((path, key))
    progress(f"{len(units) - len(todo)} of {len(units)} files unchanged since a clean run; checking {len(todo)}")

    def check(item):
        path, key = item
        left = deadline - time.monotonic()
        if left <= 0:
            return path, None, ""
        try:
            run = subprocess.run(["clang-tidy-16", "-quiet", "-p", build_dir, *tidy_args, path],
                                 capture_output=True, text=True, timeout=left, check=False)
        except subprocess.TimeoutExpired:
            return path, None, ""
        output = run.stdout + run.stderr
        clean = run.returncode == 0 and "warning:" not in output and "error:" not in output
        if clean and key:
            open(os.path.join(cache_dir, key), "w").close()
        return path, clean, output

    findings, unfinished, done = 0, 0, 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(jobs)) as pool:
        for path, clean, output in pool.map(check, todo):
            done += 1
            if clean is None:
                unfinished += 1
            elif not clean:
                findings += 1
                print(f"--- {relative(path)}\n{output}", flush=True)
            if done % 10 == 0 or done == len(todo):
                progress(f"{done}/{len(todo)} checked, {findings} with findings")
    if unfinished:
        progress(f"{unfinished} files not checked within {timeout}s")
        return 124
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
