#!/usr/bin/env python3
"""Checks that #include arrows point the way ../shared/ARCHITECTURE.md draws them ("Which way
the arrows point"): each layer of wasm-core/ includes only itself and what is below it, the
core includes no sockets, threads, clocks or files, and Beast/Asio stay out of the proxy
headers that the rest of the proxy includes.

Usage: check_layers.py [--root DIR]   (DIR: the repository; default: two folders up)
Prints one line per violation ("FILE:LINE: ...") and exits 1 when there is any, else 0.
stdlib only.
"""
import argparse
import os
import re
import sys

# wasm-core/<layer>/ may include "<other>/..." only for these others (itself always).
# Engines know nothing of tasks; the model and common are at the bottom.
CORE_LAYERS = {
    "common": set(),
    "model": {"common"},
    "pop3": {"common"},
    "imap": {"common"},
    "smtp": {"common"},
    "mime": {"common"},
    "jobs": {"common", "model", "pop3", "imap", "smtp", "mime"},
    "bindings": {"common", "model", "pop3", "imap", "smtp", "mime", "jobs"},
}

# System headers the sans-I/O core must not use (sockets, threads, clocks, files, processes).
CORE_FORBIDDEN_SYSTEM = re.compile(
    r"^(thread|mutex|shared_mutex|condition_variable|future|atomic|chrono|ctime|time\.h|"
    r"random|fstream|iostream|cstdio|stdio\.h|filesystem|unistd\.h|fcntl\.h|sys/.*|"
    r"netinet/.*|arpa/.*|netdb\.h|pthread\.h|signal\.h|csignal|boost/.*|openssl/.*)$")

# Proxy headers that the rest of the proxy includes widely: they (and what they include,
# transitively) must not reach Beast or Asio, which cost ~35 s and 1 GB per translation unit.
PROXY_LIGHT_HEADERS = [
    "serve/api.h", "serve/config.h", "serve/services.h", "serve/http_types.h",
    "serve/http_util.h", "serve/batch_codec.h", "serve/maildir_service.h",
    "serve/signin_limiter.h", "store/account_store.h", "store/database.h",
    "crypto/secrets.h", "mailbox/maildir.h", "mailbox/folder_name.h",
    "mailbox/posix_file.h", "retrieval_runner.h", "send_runner.h",
]
HEAVY = re.compile(r"^boost/(beast|asio)(/|\.hpp)")

# Known violations, each with the issue that removes it. Keep it short: an entry hides an
# arrow pointing the wrong way. Format: (file, included, why).
KNOWN = {
    ("wasm-core/mime/compose.cpp", "model/validation.h"):
        "compose uses model's UTF-8 and address checks; issue 10 moves them to common/ and "
        "mime/address",
    ("proxy/src/serve/config.h", "bridge/egress_policy.h"):
        "config.h holds the egress exceptions (bridge/egress_policy.h); issue 10 gives them an "
        "Asio-free header",
}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^">]+)[">]')
SOURCE = (".h", ".hpp", ".cpp", ".cc")


def includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if m:
                yield number, m.group(1), m.group(2)


def check_core(root, problems):
    core = os.path.join(root, "wasm-core")
    for layer in sorted(os.listdir(core)):
        folder = os.path.join(core, layer)
        if not os.path.isdir(folder):
            continue
        if layer not in CORE_LAYERS:
            problems.append(f"wasm-core/{layer}/: a layer the checker does not know: add it to "
                            "CORE_LAYERS in tests/layers/check_layers.py, below what it uses")
            continue
        allowed = CORE_LAYERS[layer] | {layer}
        for dirpath, _, files in os.walk(folder):
            for name in sorted(files):
                if not name.endswith(SOURCE):
                    continue
                path = os.path.join(dirpath, name)
                rel = os.path.relpath(path, root)
                for number, kind, target in includes(path):
                    if kind == "<":
                        if layer != "bindings" and target.startswith("emscripten/"):
                            problems.append(f"{rel}:{number}: <{target}> outside bindings/")
                        elif CORE_FORBIDDEN_SYSTEM.match(target) and layer != "bindings":
                            problems.append(f"{rel}:{number}: <{target}>: the core is sans-I/O "
                                            "(no sockets, threads, clocks, files)")
                        continue
                    top = target.split("/", 1)[0] if "/" in target else layer
                    if top == "proxy" or (top == "bindings" and layer != "bindings"):
                        problems.append(f"{rel}:{number}: \"{target}\" points up, out of the core")
                    elif top in CORE_LAYERS and top not in allowed:
                        if (rel, target) in KNOWN:
                            continue
                        problems.append(f"{rel}:{number}: \"{target}\": {layer}/ may include "
                                        f"only {', '.join(sorted(allowed))}")


def proxy_heavy_path(root, header, seen):
    """The include chain from a proxy header to Beast/Asio, or None."""
    path = os.path.join(root, "proxy", "src", header)
    if header in seen or not os.path.isfile(path):
        return None
    seen.add(header)
    for _, kind, target in includes(path):
        if kind == "<" and HEAVY.match(target):
            return [header, target]
        if kind == '"':
            if ("proxy/src/" + header, target) in KNOWN:
                continue  # a known violation
            chain = proxy_heavy_path(root, target, seen)
            if chain:
                return [header] + chain
    return None


def check_proxy(root, problems):
    for header in PROXY_LIGHT_HEADERS:
        chain = proxy_heavy_path(root, header, set())
        if not chain:
            continue
        rel = "proxy/src/" + header
        problems.append(f"{rel}: reaches <{chain[-1]}> through {' -> '.join(chain[:-1])}: keep "
                        "Beast and Asio out of headers the whole proxy includes")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--root", default=os.path.join(os.path.dirname(__file__), "..", ".."))
    args = ap.parse_args()
    root = os.path.abspath(args.root)
    problems = []
    check_core(root, problems)
    if os.path.isdir(os.path.join(root, "proxy", "src")):
        check_proxy(root, problems)
    for p in problems:
        print(p)
    print(f"layers: {len(problems)} include(s) against the arrows")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
