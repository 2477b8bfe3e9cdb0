"""Benchmark: the source resolver per frame, and the preflight with each way of giving split debug info.

* resolver: a new `SourceResolver` for a -trimpath core (build info from the binary, the repository as the
  workspace folder): `prepare()` (runs `go env` once, indexes the workspace's go.mod files, finds the Go
  release's sources), then each distinct file's first answer, and a cached answer; over every goroutine's
  frames as Delve reads them from the core.
* preflight of `classic` (stripped, DWARF kept apart) with no debug info (the refusal), a debug directory,
  symbolFile (the unstripped build; the debug file), debuginfod (a real server on loopback: the first
  download, then from gocore-dap's cache), against the unstripped program as the baseline; and the time to
  the first answered Delve `State` with and without the private Delve config.

Medians of --runs runs, printed as a Markdown table (--output writes it too).

    .venv/bin/python bench/bench_sources_debuginfo.py --runs 7
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "adapter"))

from gocore_dap.backends.delve.debuginfo_config import delve_debug_info_env  # noqa: E402
from gocore_dap.backends.delve.process import DelveProcess  # noqa: E402
from gocore_dap.corpus import build  # noqa: E402
from gocore_dap.preflight import preflight  # noqa: E402
from gocore_dap.preflight.debuginfo import DebugInfoOptions  # noqa: E402
from gocore_dap.preflight.exeinfo import read_exe_info  # noqa: E402
from gocore_dap.sources import SourceOptions, SourceResolver  # noqa: E402

DLV = REPO / ".tools" / "bin" / "dlv"
MODULE_PROGRAMS = REPO / "protocol-fixtures" / "module-programs"


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:.2f} ms"


def median_us(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1e6:.1f} µs"


async def frame_files(binary: Path, core: Path) -> list[tuple[str, str]]:
    process = await DelveProcess.start(DLV, binary, core)
    try:
        assert process.rpc is not None
        out: list[tuple[str, str]] = []
        page = await process.rpc.call("ListGoroutines", {"Start": 0, "Count": 1000})
        for g in page["Goroutines"] or []:
            stack = await process.rpc.call("Stacktrace", {"Id": g["id"], "Depth": 60})
            out += [((loc.get("function") or {}).get("name", ""), loc["file"]) for loc in stack["Locations"] or []]
        return out
    finally:
        await process.close()


def bench_resolver(runs: int) -> list[tuple[str, str]]:
    rows = []
    for name, toolchain in (("dependency_panic", None), ("dependency_panic", "go1.25.0"), ("classic", "go1.25.0")):
        root = MODULE_PROGRAMS if name == "dependency_panic" else None
        artifact = build(name, toolchain=toolchain, trimpath=True, programs_root=root)
        frames = asyncio.run(frame_files(artifact.binary, artifact.core))
        distinct = list(dict.fromkeys(frames))
        info = read_exe_info(artifact.binary).build_info
        first: list[float] = []
        each_new: list[float] = []
        cached: list[float] = []
        for _ in range(runs):
            r = SourceResolver(info, SourceOptions(workspace_folders=(str(REPO),)))
            started = time.perf_counter()
            r.prepare()
            first.append(time.perf_counter() - started)
            started = time.perf_counter()
            for function, file in distinct:
                r.to_local(file, function)
            each_new.append((time.perf_counter() - started) / len(distinct))
            started = time.perf_counter()
            for function, file in frames:
                r.to_local(file, function)
            cached.append((time.perf_counter() - started) / len(frames))
        label = f"{name} -trimpath {artifact.go_version} ({len(frames)} frames, {len(distinct)} distinct)"
        rows += [
            (f"resolver {label}: prepare() (go env, workspace index, Go release sources)", median_ms(first)),
            (f"resolver {label}: first answer per distinct file", median_us(each_new)),
            (f"resolver {label}: cached answer per frame", median_us(cached)),
        ]
    return rows


@contextlib.contextmanager
def debuginfod(served: Path, build_id: str) -> Iterator[str]:
    work = Path(tempfile.mkdtemp(prefix="bench-debuginfod-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        ["debuginfod", "-p", str(port), "-F", str(served), "-d", str(work / "db.sqlite"), "-t", "0", "-g", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/buildid/{build_id}/debuginfo") as a:
                if a.status == 200:
                    break
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait()
        shutil.rmtree(work, ignore_errors=True)


def timed(runs: int, action: Callable[[], object]) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append(time.perf_counter() - started)
    return samples


def bench_preflight(runs: int) -> list[tuple[str, str]]:
    split = build("classic", strip="split")
    plain = build("classic")
    assert split.debug_file is not None
    gnu = read_exe_info(split.binary).build_ids.gnu
    assert gnu is not None
    work = Path(tempfile.mkdtemp(prefix="bench-debug-"))
    store = work / "store" / ".build-id" / gnu[:2]
    store.mkdir(parents=True)
    shutil.copyfile(split.debug_file, store / f"{gnu[2:]}.debug")
    served = work / "served"
    served.mkdir()
    shutil.copyfile(split.debug_file, served / "classic.debug")
    bare = {"system_directories": (), "debuginfod_urls": ()}

    def run(program: Path, **options: object) -> object:
        result = preflight(program, split.core, debug_options=DebugInfoOptions(**{**bare, **options}))  # type: ignore[arg-type]
        return result

    rows = [
        ("preflight: unstripped program (baseline)", median_ms(timed(runs, lambda: run(plain.binary)))),
        ("preflight: stripped, nothing found (refusal)", median_ms(timed(runs, lambda: run(split.binary)))),
        (
            "preflight: stripped + debug directory (.build-id)",
            median_ms(timed(runs, lambda: run(split.binary, directories=(work / "store",)))),
        ),
        (
            "preflight: stripped + symbolFile (unstripped build)",
            median_ms(timed(runs, lambda: run(split.binary, symbol_file=plain.binary))),
        ),
        (
            "preflight: stripped + symbolFile (debug file)",
            median_ms(timed(runs, lambda: run(split.binary, symbol_file=split.debug_file))),
        ),
    ]
    if shutil.which("debuginfod"):
        with debuginfod(served, gnu) as url:
            caches: list[Path] = []

            def download() -> object:
                cache = work / f"cache{len(caches)}"
                caches.append(cache)
                return run(split.binary, debuginfod_urls=(url,), cache_dir=cache)

            size = split.debug_file.stat().st_size / (1 << 20)
            rows.append(
                (f"preflight: stripped + debuginfod, download ({size:.1f} MiB)", median_ms(timed(runs, download)))
            )
            rows.append(
                (
                    "preflight: stripped + debuginfod, from gocore-dap's cache",
                    median_ms(timed(runs, lambda: run(split.binary, debuginfod_urls=(url,), cache_dir=caches[0]))),
                )
            )
    else:
        rows.append(("preflight: stripped + debuginfod", "skipped (no debuginfod; scripts/setup-debuginfod.sh)"))

    async def ready(program: Path, env: dict[str, str]) -> float:
        process = await DelveProcess.start(DLV, program, split.core, extra_env=env)
        try:
            return process.ready_seconds or 0.0
        finally:
            await process.close()

    home = work / "xdg"
    home.mkdir()
    env = delve_debug_info_env(home, split.debug_file, split.binary, gnu_build_id=gnu, debuglink="binary.debug")
    rows += [
        ("Delve ready: unstripped program", median_ms([asyncio.run(ready(plain.binary, {})) for _ in range(runs)])),
        (
            "Delve ready: stripped + private config",
            median_ms([asyncio.run(ready(split.binary, env)) for _ in range(runs)]),
        ),
    ]
    shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    rows = bench_resolver(args.runs) + bench_preflight(args.runs)
    table = ["| measurement | median |", "|---|---|", *(f"| {a} | {b} |" for a, b in rows)]
    text = f"{args.runs} runs, {time.strftime('%Y-%m-%d')}\n\n" + "\n".join(table) + "\n"
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
