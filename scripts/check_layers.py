#!/usr/bin/env python3
"""Fails on an #include that points up a layer (docs/ARCHITECTURE.md, "Layers").

    scripts/check_layers.py [ROOT]      check the tree at ROOT (default: the repository)
    scripts/check_layers.py --self-test check that the rules catch what they must

Layers, bottom to top; a file may include its own folder's files and those of lower layers only:
    0 core/                      errors, per-element __host__ __device__ math (hd/), version.hpp
    1 io/                        store, scores file, CSV, import
    2 host/era/                  ranks, statistics, least squares, formulas, era stages
    3 host/lang/  host/synth/    the formula language; the synthetic history generator
    4 host/run/   host/report/   era loop and backends; compare, audit, report
    5 host/cli/                  the command line
    6 host/mpi/  python/         backscore-mpi: the era-sharded run over MPI ranks; the Python
                                 module (its C++ binding)
kernels/ is a CUDA-only leaf: it includes only kernels/ and core/, and only host/run/cuda/ (the
CUDA backend's host orchestration), tests/gpu/ and bench/ include it. host/run/cuda/ is seen only
by itself, tests/gpu/ and bench/. CUDA library headers (cuda_runtime, cuBLAS, cuSOLVER, CUB,
Thrust) appear only in kernels/ and host/run/cuda/; MPI's header (mpi.h) only in host/mpi/.
tests/ and bench/ may include anything but python/: nothing outside python/ includes it.
"""
import os
import re
import sys
import tempfile

LAYERS = [  # (folder prefix, layer); the longest matching prefix wins
    ("core/", 0), ("io/", 1), ("host/era/", 2), ("host/lang/", 3), ("host/synth/", 3),
    ("host/run/", 4), ("host/report/", 4), ("host/cli/", 5), ("host/mpi/", 6), ("python/", 6),
]
GENERATED = {"version.hpp": "core/"}  # configured into the build tree from core/version.hpp.in
CUDA_ONLY = ("kernels/", "host/run/cuda/")
CUDA_SEERS = ("kernels/", "host/run/cuda/", "tests/gpu/", "bench/")
CUDA_SYSTEM = re.compile(r"^(cuda|cuda_runtime|cuda_runtime_api|cublas|cublas_v2|cusolverDn|"
                         r"cusolver_common|cub/|thrust/|cuda/)")
MPI_SYSTEM = re.compile(r"^mpi(\.h|cxx\.h|_portable_platform\.h)?$")
SOURCE_DIRS = ("core", "io", "host", "kernels", "tests", "bench", "python")
EXTENSIONS = (".hpp", ".cpp", ".cu", ".cuh", ".h")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def folder(path):
    """The unit a path belongs to: a layer folder, kernels/, host/run/cuda/, tests/, bench/."""
    for prefix in ("host/run/cuda/", "kernels/", "tests/", "bench/"):
        if path.startswith(prefix):
            return prefix
    best = None
    for prefix, _ in LAYERS:
        if path.startswith(prefix) and (best is None or len(prefix) > len(best)):
            best = prefix
    return best


def layer(unit):
    if unit == "host/run/cuda/":
        return 4
    return dict(LAYERS).get(unit)


def violations(root):
    found = []
    for top in SOURCE_DIRS:
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if not name.endswith(EXTENSIONS):
                    continue
                full = os.path.join(dirpath, name)
                rel = os.path.relpath(full, root).replace(os.sep, "/")
                src = folder(rel)
                with open(full, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        why = check(root, rel, src, m.group(1), m.group(2))
                        if why:
                            found.append(f"{rel}:{lineno}: #include {m.group(1)}{m.group(2)}"
                                         f"{'>' if m.group(1) == '<' else m.group(1)}: {why}")
    return found


def check(root, rel, src, bracket, target):
    if src is None:
        return None
    if bracket == "<":
        if CUDA_SYSTEM.match(target) and not src.startswith(CUDA_SEERS):
            return f"CUDA headers belong in kernels/ or host/run/cuda/, not {src}"
        if MPI_SYSTEM.match(target) and src != "host/mpi/":
            return f"MPI's header belongs in host/mpi/, not {src}"
        return None
    if src in ("tests/", "bench/") and not target.startswith(SOURCE_DIRS):
        return None  # the tests' own helpers ("test_support.hpp")
    dst = GENERATED.get(target) or folder(target)
    if dst is None or (target not in GENERATED and not os.path.exists(os.path.join(root, target))):
        return "not a file of the project (include paths are relative to the repository root)"
    if dst == "python/" and src != "python/":
        return "python/ is the top: nothing outside it includes it"
    if src in ("tests/", "bench/"):
        if dst in CUDA_ONLY and src == "tests/" and not rel.startswith("tests/gpu/"):
            return "only tests/gpu/ sees the CUDA code"
        return None
    if src == dst:
        return None
    if dst in CUDA_ONLY:
        if src in CUDA_ONLY and not (src == "kernels/" and dst == "host/run/cuda/"):
            return None
        return f"{dst} is seen only by {' '.join(CUDA_SEERS)}"
    if src == "kernels/":
        return None if dst == "core/" else "kernels/ is a CUDA-only leaf: it includes only kernels/ and core/"
    if layer(dst) is None or layer(src) is None:
        return f"{dst} is not a layer"
    if layer(dst) > layer(src):
        return f"points up: {src} (layer {layer(src)}) includes {dst} (layer {layer(dst)})"
    if layer(dst) == layer(src) and not (src == "host/run/cuda/" and dst == "host/run/"):
        return f"{src} and {dst} are siblings (layer {layer(src)}): neither includes the other"
    return None


def self_test():
    cases = {  # file -> (its text, the violation expected, or None)
        "io/bad_up.hpp": ('#include "host/era/rank.hpp"\n', "points up"),
        "host/era/rank.hpp": ('#include "core/error.hpp"\n#include <vector>\n', None),
        "core/error.hpp": ("#pragma once\n", None),
        "host/lang/sib.hpp": ('#include "host/synth/s.hpp"\n', "siblings"),
        "host/synth/s.hpp": ('#include "host/era/rank.hpp"\n', None),
        "host/era/cuda.hpp": ("#include <cuda_runtime.h>\n", "CUDA headers"),
        "host/report/k.hpp": ('#include "kernels/device.hpp"\n', "seen only by"),
        "kernels/device.hpp": ('#include "io/store.hpp"\n', "CUDA-only leaf"),
        "io/store.hpp": ('#include "version.hpp"\n', None),
        "host/run/cuda/x.cpp": ('#include "kernels/device.hpp"\n#include "host/run/r.hpp"\n',
                                None),
        "host/run/r.hpp": ('#include "host/run/cuda/x.hpp"\n', "seen only by"),
        "host/run/cuda/x.hpp": ("#pragma once\n", None),
        "host/cli/c.cpp": ('#include "host/run/r.hpp"\n#include "host/nope.hpp"\n',
                           "not a file"),
        "tests/t.cpp": ('#include "test_support.hpp"\n#include "host/cli/c.cpp"\n', None),
        "host/mpi/w.cpp": ('#include <mpi.h>\n#include "host/cli/c.cpp"\n', None),
        "host/run/m.cpp": ("#include <mpi.h>\n", "MPI's header"),
        "host/cli/up.cpp": ('#include "host/mpi/w.cpp"\n', "points up"),
        "python/b.cpp": ('#include "host/cli/c.cpp"\n#include "io/store.hpp"\n'
                         '#include "python/b.hpp"\n', None),
        "python/b.hpp": ("#pragma once\n", None),
        "python/m.cpp": ('#include "host/mpi/w.cpp"\n', "siblings"),
        "tests/p.cpp": ('#include "python/b.hpp"\n', "nothing outside it"),
        "host/cli/p.cpp": ('#include "python/b.hpp"\n', "nothing outside it"),
    }
    with tempfile.TemporaryDirectory() as root:
        for rel, (text, _) in cases.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = violations(root)
    ok = True
    for rel, (_, expected) in cases.items():
        mine = [v for v in found if v.startswith(rel + ":")]
        if expected is None and mine:
            print(f"self-test: unexpected {mine}")
            ok = False
        if expected is not None and not any(expected in v for v in mine):
            print(f"self-test: {rel} should be reported ({expected}); got {mine}")
            ok = False
    print(f"check_layers self-test: {'passed' if ok else 'FAILED'} ({len(found)} violations seen)")
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    found = violations(os.path.abspath(root))
    for v in found:
        print(v)
    print(f"check_layers: {len(found)} upward or forbidden include(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
