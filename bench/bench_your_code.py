"""Benchmark: what "your code" adds on top of Delve, measured in the same run as the Delve work it follows.

* fault frame: `PcSymbolizer.open` + `frames_at(fault pc)` (reading the binary's DWARF in Python) on the
  cgo corpus cores, against the Delve `Stacktrace` of the crashing goroutine it repairs;
* user locations: `CodeScope.classify` + `user_location` + `stack_label` over every goroutine's stack of
  `many_goroutines` (size --goroutines), against the Delve `Stacktrace` calls that read those stacks.

Prints medians of --runs runs and their ratios.

    .venv/bin/python bench/bench_your_code.py --runs 5 --goroutines 10000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from gocore_dap import DELVE_VERSION
from gocore_dap.backends.cframes.symbolize import PcSymbolizer
from gocore_dap.backends.delve.api import DelveApi
from gocore_dap.backends.delve.crash_probe import probe_crash
from gocore_dap.backends.delve.process import DelveProcess
from gocore_dap.backends.delve.stack_repair import fault_pc
from gocore_dap.corpus import build
from gocore_dap.goviews.code_scope import CodeScope
from gocore_dap.goviews.goroutine_info import GoLocation
from gocore_dap.goviews.user_location import stack_label, user_location

REPO = Path(__file__).resolve().parents[1]
DLV = REPO / ".tools" / "bin" / "dlv"


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


async def _fault_frame(program: str, runs: int) -> tuple[float, float]:
    artifact = build(program)
    delve = await DelveProcess.start(DLV, artifact.binary, artifact.core)
    try:
        facts = await probe_crash(delve)
        signal = facts.handled_signal
        assert signal is not None and facts.goroutine_id is not None
        pc = fault_pc(signal.number, signal.pc)
        assert pc is not None
        api = DelveApi(delve)
        ours, theirs = [], []
        for _ in range(runs):
            start = time.perf_counter()
            await api.stacktrace(facts.goroutine_id, 64)
            theirs.append(time.perf_counter() - start)
            ours.append(_timed(lambda: PcSymbolizer.open(artifact.binary).frames_at(pc)))
        return statistics.median(ours), statistics.median(theirs)
    finally:
        await delve.close()


async def _user_locations(goroutines: int, runs: int) -> tuple[float, float, int]:
    artifact = build("many_goroutines", params={"goroutines": str(goroutines)}, timeout=900)
    delve = await DelveProcess.start(DLV, artifact.binary, artifact.core, rpc_timeout=600)
    try:
        api = DelveApi(delve)
        ids = [g.id for g in await api.all_goroutines()]
        ours, theirs = [], []
        for _ in range(runs):
            start = time.perf_counter()
            stacks = [await api.stacktrace(i, 64) for i in ids]
            theirs.append(time.perf_counter() - start)
            frames = [[GoLocation(f.location.function_name, f.location.file, f.location.line) for f in s]
                      for s in stacks]  # fmt: skip

            def work(frames: list[list[GoLocation]] = frames) -> None:
                scope = CodeScope()  # a fresh scope: its classification cache starts empty
                for stack in frames:
                    user_location(stack, scope)
                    stack_label(stack, scope)

            ours.append(_timed(work))
        return statistics.median(ours), statistics.median(theirs), len(ids)
    finally:
        await delve.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--goroutines", type=int, default=10_000)
    args = parser.parse_args()
    started = time.perf_counter()
    print("| measurement | ours | Delve (same run) | ratio |")
    print("|---|---:|---:|---:|")
    for program in ("cgo_crash", "cgo_inlined_lookup", "cgo_c_library"):
        ours, theirs = asyncio.run(_fault_frame(program, args.runs))
        print(f"| fault frame, {program}: DWARF open + lookup vs Stacktrace | {ours * 1e3:.1f} ms | "
              f"{theirs * 1e3:.1f} ms | {ours / theirs:.2f}x |")  # fmt: skip
    ours, theirs, count = asyncio.run(_user_locations(args.goroutines, args.runs))
    print(f"| user location + stack label, {count:,} goroutines vs their Stacktraces | {ours:.2f} s | "
          f"{theirs:.2f} s | {ours / theirs:.2f}x |")  # fmt: skip
    load = os.getloadavg()[0]
    print(
        f"\nMedians of {args.runs} runs; {os.cpu_count()} CPUs, load average {load:.1f}; "
        f"total {time.perf_counter() - started:.0f} s; Delve {DELVE_VERSION}"
    )


if __name__ == "__main__":
    main()
