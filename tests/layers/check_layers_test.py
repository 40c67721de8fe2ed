#!/usr/bin/env python3
"""Tests of check_layers.py: each deliberately wrong include in a small tree is found (exit 1,
naming the file and line), a clean tree passes, and so does the repository itself.
Prints "N passed, N failed"; exits 1 when anything failed. stdlib only."""
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKER = os.path.join(HERE, "check_layers.py")
passed = failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name} {detail}")


def run(root):
    r = subprocess.run([sys.executable, CHECKER, "--root", root], capture_output=True, text=True)
    return r.returncode, r.stdout


def tree(files):
    root = tempfile.mkdtemp(prefix="layers-")
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    return root


CLEAN = {
    "wasm-core/common/ascii.h": "#pragma once\n#include <string_view>\n",
    "wasm-core/pop3/client.cpp": '#include "pop3/client.h"\n#include "common/ascii.h"\n',
    "wasm-core/jobs/job.cpp": '#include "pop3/client.h"\n#include "model/task.h"\n',
    "proxy/src/serve/api.h": '#pragma once\n#include "store/database.h"\n',
    "proxy/src/store/database.h": "#pragma once\n#include <string>\n",
    "proxy/src/bridge/bridge.h": "#pragma once\n#include <boost/beast/core/tcp_stream.hpp>\n",
}

code, out = run(tree(CLEAN))
check("a clean tree passes", code == 0, out)

cases = [
    ("an engine including jobs/ (up)", "wasm-core/pop3/client.cpp",
     '#include "pop3/client.h"\n#include "jobs/job.h"\n', "wasm-core/pop3/client.cpp:2"),
    ("an engine including another engine (sideways)", "wasm-core/imap/x.cpp",
     '#include "smtp/client.h"\n', "wasm-core/imap/x.cpp:1"),
    ("mime/ including model/ (the issue's example)", "wasm-core/mime/view.cpp",
     '#include "model/validation.h"\n', "wasm-core/mime/view.cpp:1"),
    ("the core including the proxy", "wasm-core/jobs/job.cpp",
     '#include "proxy/src/serve/api.h"\n', "wasm-core/jobs/job.cpp:1"),
    ("the core using threads", "wasm-core/common/ascii.h", "#include <thread>\n",
     "wasm-core/common/ascii.h:1"),
    ("the core opening files", "wasm-core/model/task.cpp", "#include <fstream>\n",
     "wasm-core/model/task.cpp:1"),
    ("emscripten outside bindings", "wasm-core/jobs/j.cpp", "#include <emscripten/val.h>\n",
     "wasm-core/jobs/j.cpp:1"),
    ("a widely included proxy header reaching Beast", "proxy/src/store/database.h",
     '#pragma once\n#include "bridge/bridge.h"\n', "proxy/src/serve/api.h"),
    ("a new core layer the table does not know", "wasm-core/ews/client.cpp",
     '#include "common/ascii.h"\n', "wasm-core/ews/"),
]
for name, rel, text, expected in cases:
    files = dict(CLEAN)
    files[rel] = text
    code, out = run(tree(files))
    check(f"{name} is refused", code == 1 and expected in out, f"(exit {code}): {out}")

code, out = run(os.path.join(HERE, "..", ".."))
check("the repository keeps the arrows", code == 0, out)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
