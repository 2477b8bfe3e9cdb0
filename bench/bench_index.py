"""Benchmark: the direct goroutine index against Delve on cores with many goroutines.

For each size (goroutines parked by protocol-fixtures/programs/many_goroutines before one panics),
measured in the same run, contenders back to back within each run:

* index: a fresh Python process that imports `gocore_dap.backends.direct`, runs `open_index` (layouts
  from the per-build-ID cache, which a warm-up run fills) and groups every goroutine exactly by stack
  (`np.unique` over `stack_ids`, then by (function, file, line) through the stack table); then reads the
  wait objects. Reported: `open_index`, open + exact grouping, wait objects, the process's wall time
  (interpreter start and imports included) and its peak RSS (VmHWM).
* Delve grouped: one `ListGoroutines` with server-side grouping by user location (`GroupBy` 2, 10 members
  per group) in a fresh `dlv core --headless` (what the adapter's approximate grouping starts from);
* Delve full listing: one `ListGoroutines` of every goroutine in a fresh Delve, then `Stacktrace` (depth
  50) of every goroutine in the same Delve (what exact grouping through Delve needs), and Delve's peak RSS.

Prints medians of --runs runs and ratios (median of the per-run ratios), writes a Markdown table.

    .venv/bin/python bench/bench_index.py --sizes 1000,10000,100000,1000000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1000, 10_000, 100_000, 1_000_000)
STEP_TIMEOUT = 3600.0
STACK_DEPTH = 50


# --- the index, in a child process -------------------------------------------------------------------------


def child(binary: str, core: str) -> None:
    """Runs in a fresh interpreter: prints one JSON line of timings and the peak RSS."""
    started = time.perf_counter()
    import numpy as np

    from gocore_dap.backends.direct import open_index

    imported = time.perf_counter()
    index = open_index(Path(binary), Path(core))
    opened = time.perf_counter()
    # Exact grouping: goroutines with the same stack (PCs), then stacks with the same frames
    # (function, file, line), which is what a client shows.
    stack_ids, counts = np.unique(index.stack_ids, return_counts=True)
    by_lines: dict[tuple[tuple[str, str, int], ...], int] = {}
    for sid, count in zip(stack_ids.tolist(), counts.tolist(), strict=True):
        key = () if sid < 0 else tuple((f.function, f.file, f.line) for f in index.frames(sid))
        by_lines[key] = by_lines.get(key, 0) + count
    grouped = time.perf_counter()
    reader = index.wait_object_reader()
    objects = reader.object_ids()
    waited = time.perf_counter()
    print(
        json.dumps(
            {
                "goroutines": len(index),
                "stacks": len(stack_ids),
                "groups": len(by_lines),
                "wait_objects": len(set(objects.tolist()) - {-1}),
                "import": imported - started,
                "open": opened - imported,
                "group": grouped - opened,
                "wait": waited - grouped,
                "timings": index.timings,
                "peak_rss_mb": peak_rss_mb(os.getpid()),
            }
        )
    )
    index.close()


def run_index(binary: Path, core: Path, cache_home: Path | None = None) -> dict[str, Any]:
    """One index run in a fresh interpreter; ``cache_home`` (XDG_CACHE_HOME) empty = layouts from DWARF."""
    env = dict(os.environ)
    if cache_home is not None:
        env["XDG_CACHE_HOME"] = str(cache_home)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, __file__, "--child", str(binary), str(core)],
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        cwd=REPO,
        check=False,
        env=env,
    )
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"the index child failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall"] = wall
    result["open_group"] = result["open"] + result["group"]
    return result


# --- Delve -------------------------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def run_delve(dlv: Path, binary: Path, core: Path, *, listing: bool, stacks: bool) -> dict[str, Any]:
    from gocore_dap.backends.delve.api import DelveApi
    from gocore_dap.backends.delve.process import DelveProcess

    async def grouped() -> tuple[float, float | None]:
        delve = await DelveProcess.start(dlv, binary, core, rpc_timeout=STEP_TIMEOUT)
        try:
            started = time.monotonic()
            await delve.call(
                "ListGoroutines",
                {"Start": 0, "Count": 0, "GroupBy": 2, "GroupByKey": "", "MaxGroupMembers": 10, "MaxGroups": 200},
            )
            return time.monotonic() - started, peak_rss_mb(delve.pid)
        finally:
            await delve.close()

    async def full() -> dict[str, Any]:
        delve = await DelveProcess.start(dlv, binary, core, rpc_timeout=STEP_TIMEOUT)
        try:
            api = DelveApi(delve)
            started = time.monotonic()
            goroutines = await api.all_goroutines(timeout=STEP_TIMEOUT)
            listed = time.monotonic()
            out: dict[str, Any] = {"listing": listed - started, "goroutines": len(goroutines)}
            if stacks:
                for g in goroutines:
                    await api.stacktrace(g.id, STACK_DEPTH)
                out["stacks"] = time.monotonic() - listed
                out["listing_stacks"] = out["listing"] + out["stacks"]
            out["delve_rss_mb"] = peak_rss_mb(delve.pid)
            return out
        finally:
            await delve.close()

    seconds, rss = asyncio.run(grouped())
    result: dict[str, Any] = {"grouped": seconds, "delve_rss_mb": rss}
    if listing:
        full_result = asyncio.run(full())
        full_result["delve_rss_mb"] = max(rss or 0, full_result.get("delve_rss_mb") or 0)
        result.update(full_result)
    return result


# --- the run -----------------------------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def paired_ratio(numerators: list[float | None], denominators: list[float | None]) -> float | None:
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if a is not None and b]
    return statistics.median(ratios) if ratios else None


def fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "x":
        return f"{value:,.1f}x"
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def bench_size(size: int, args: argparse.Namespace, dlv: Path | None, log: Callable[[str], None]) -> dict[str, Any]:
    from gocore_dap.corpus import build

    started = time.monotonic()
    artifact = build(
        "many_goroutines", toolchain=args.toolchain, params={"goroutines": str(size)}, timeout=STEP_TIMEOUT
    )
    log(f"{size:,}: core {artifact.core} ({artifact.core.stat().st_size / 2**30:.1f} GiB), built in "
        f"{time.monotonic() - started:.0f} s")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-index-cache-") as empty:
        cold = run_index(artifact.binary, artifact.core, Path(empty))
    warm = run_index(artifact.binary, artifact.core)  # fills the user's layout cache if it is empty
    log(f"  warm-up: layouts from DWARF {cold['timings']['layouts']:.2f} s (open {cold['open']:.2f} s); "
        f"from the cache {warm['timings']['layouts'] * 1000:.0f} ms")  # fmt: skip
    index_runs: list[dict[str, Any]] = []
    delve_runs: list[dict[str, Any]] = []
    use_delve = dlv is not None and size <= args.delve_max
    for run in range(args.runs):
        index_runs.append(run_index(artifact.binary, artifact.core))
        i = index_runs[-1]
        log(f"  run {run + 1}: index open {i['open']:.2f} s + group {i['group']:.3f} s, wait objects "
            f"{i['wait']:.2f} s, process {i['wall']:.2f} s, {i['peak_rss_mb']:.0f} MB, {i['stacks']} stacks, "
            f"{i['groups']} groups")  # fmt: skip
        if use_delve:
            assert dlv is not None
            delve_runs.append(
                run_delve(
                    dlv,
                    artifact.binary,
                    artifact.core,
                    listing=size <= args.delve_listing_max,
                    stacks=size <= args.delve_stacks_max,
                )
            )
            d = delve_runs[-1]
            log(f"         Delve grouped {d['grouped']:.2f} s, listing {d.get('listing', float('nan')):.2f} s, "
                f"stacks {d.get('stacks', float('nan')):.2f} s, {d.get('delve_rss_mb') or 0:.0f} MB")  # fmt: skip

    def med(runs: list[dict[str, Any]], key: str) -> float | None:
        return median([r.get(key) for r in runs])

    def ratio(key: str, ours: str = "open_group") -> float | None:
        if not delve_runs:
            return None
        return paired_ratio([d.get(key) for d in delve_runs], [i[ours] for i in index_runs])

    return {
        "size": size,
        "goroutines": index_runs[0]["goroutines"],
        "groups": index_runs[0]["groups"],
        "open": med(index_runs, "open"),
        "open_group": med(index_runs, "open_group"),
        "wait": med(index_runs, "wait"),
        "wall": med(index_runs, "wall"),
        "rss": max(r["peak_rss_mb"] for r in index_runs),
        "layouts_cold": cold["timings"]["layouts"],
        "delve_grouped": med(delve_runs, "grouped"),
        "delve_listing": med(delve_runs, "listing"),
        "delve_listing_stacks": med(delve_runs, "listing_stacks"),
        "delve_rss": max((d.get("delve_rss_mb") or 0 for d in delve_runs), default=None) or None,
        "ratio_grouped": ratio("grouped"),
        "ratio_listing": ratio("listing"),
        "ratio_stacks": ratio("listing_stacks"),
    }


def table(rows: list[dict[str, Any]], runs: int, total: float, go_version: str) -> str:
    header = (
        "| goroutines | index: open | open + exact grouping | wait objects | index process (wall) | index peak RSS "
        "| Delve grouped listing | ratio | Delve full listing | ratio | Delve listing + all stacks | ratio "
        "| Delve peak RSS |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = [
        f"| {r['goroutines']:,} ({r['groups']} groups) | {fmt(r['open'])} | {fmt(r['open_group'])} | {fmt(r['wait'])} "
        f"| {fmt(r['wall'])} | {fmt(r['rss'], 'MB')} | {fmt(r['delve_grouped'])} | {fmt(r['ratio_grouped'], 'x')} "
        f"| {fmt(r['delve_listing'])} | {fmt(r['ratio_listing'], 'x')} | {fmt(r['delve_listing_stacks'])} "
        f"| {fmt(r['ratio_stacks'], 'x')} | {fmt(r['delve_rss'], 'MB')} |"
        for r in rows
    ]
    load = os.getloadavg()[0]
    notes = (
        f"\nMedians of {runs} runs; ratios are Delve's time over the index's open + exact grouping, medians of "
        f"the per-run ratios. {go_version}, {os.cpu_count()} CPUs, load average at the end {load:.1f}; "
        f"total {total:.0f} s. The index runs in a fresh process each time with a warm page cache and the "
        "layouts cached per build ID; reading the layouts from DWARF the first time took "
        + ", ".join(f"{r['layouts_cold']:.2f} s" for r in rows)
        + " (about 1 ms from the cache). n/a: not measured at that size "
        "(--delve-max, --delve-listing-max, --delve-stacks-max).\n"
    )
    return "# bench_index results\n\n" + header + "\n".join(lines) + "\n" + notes


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        child(argv[1], argv[2])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--toolchain", default=None, help="Go toolchain of the cores (default: the local Go)")
    parser.add_argument("--delve-max", type=int, default=1_000_000, help="largest size for Delve's grouped listing")
    parser.add_argument("--delve-listing-max", type=int, default=1_000_000, help="largest size for the full listing")
    parser.add_argument("--delve-stacks-max", type=int, default=100_000, help="largest size for all stacks")
    parser.add_argument("--no-delve", action="store_true")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results_index.md")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "adapter"))
    from gocore_dap.corpus.builder import _go_info

    dlv = None if args.no_delve else REPO / ".tools" / "bin" / "dlv"
    if dlv is not None and not dlv.exists():
        print(f"no Delve at {dlv} (run scripts/setup.sh, or pass --no-delve)", file=sys.stderr)
        return 2
    started = time.monotonic()

    def log(text: str) -> None:
        print(text, flush=True)

    rows = [bench_size(int(s), args, dlv, log) for s in args.sizes.split(",")]
    text = table(rows, args.runs, time.monotonic() - started, _go_info(args.toolchain).version)
    print(text)
    args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
