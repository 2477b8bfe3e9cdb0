"""Benchmark: the language server's first marks on a core, against Delve's own grouped listing.

For each size (goroutines parked by protocol-fixtures/programs/many_goroutines before one panics), in
the same run and in turns:

* `gocore-dap lsp` (stdio, pygls's own client): process start -> `initialize` answered; -> the first
  `textDocument/publishDiagnostics` for the program's `main.go` that holds the crash line (the core is
  given in `initializationOptions`, `main.go` opened right after `initialized`); the server's peak RSS;
* Delve's grouped listing: one `ListGoroutines` with server-side grouping by user location in a fresh
  `dlv core --headless` (the least a Delve-based server needs before it can place goroutines on lines),
  timed from Delve's start, so that both include loading the core.

Prints medians of --runs runs and the ratio (median of the per-run ratios), and writes a Markdown table.

    .venv/bin/python bench/bench_lsp.py --sizes 1000,10000,100000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
STEP_TIMEOUT = 600.0


async def lsp_run(binary: Path, core: Path, source: Path) -> dict[str, float]:
    from lsprotocol import types as lsp
    from tests.lsp.client import LspSession

    session = LspSession()
    started = time.monotonic()
    await session.start(source.parent, {"program": str(binary), "coreFilePath": str(core)})
    initialized = time.monotonic() - started
    uri = session.open_document(source)
    try:
        await session.wait_for(
            lambda: any(d.severity == lsp.DiagnosticSeverity.Error for d in session.diagnostics.get(uri, [])),
            STEP_TIMEOUT,
            "the crash line's diagnostic",
        )
        marked = time.monotonic() - started
        process = session.client._server
        rss = _peak_rss_mb(process.pid) if process is not None else float("nan")
        return {
            "initialize": initialized,
            "diagnostics": marked,
            "rss": rss,
            "lines": float(len(session.diagnostics[uri])),
        }
    finally:
        await session.stop()


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def delve_run(dlv: Path, binary: Path, core: Path) -> dict[str, float]:
    from gocore_dap.backends.delve.process import DelveProcess

    started = time.monotonic()
    delve = await DelveProcess.start(dlv, binary, core, rpc_timeout=STEP_TIMEOUT)
    try:
        await delve.call(
            "ListGoroutines",
            {"Start": 0, "Count": 0, "GroupBy": 2, "GroupByKey": "", "MaxGroupMembers": 10, "MaxGroups": 200},
        )
        return {"grouped": time.monotonic() - started}
    finally:
        await delve.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results_lsp.md")
    args = parser.parse_args()
    from gocore_dap.corpus import build

    dlv = REPO / ".tools" / "bin" / "dlv"
    rows = []
    began = time.monotonic()
    for size in [int(s) for s in args.sizes.split(",")]:
        print(f"building the core with {size:,} goroutines", flush=True)
        artifact = build("many_goroutines", params={"goroutines": str(size)}, timeout=900)
        source = artifact.source_dir / "main.go"
        ours: list[dict[str, float]] = []
        theirs: list[dict[str, float]] = []
        for run in range(args.runs):
            pair: list[tuple[str, Any]] = [
                ("lsp", lsp_run(artifact.binary, artifact.core, source)),
                ("delve", delve_run(dlv, artifact.binary, artifact.core)),
            ]
            for name, coroutine in pair if run % 2 == 0 else reversed(pair):
                result = asyncio.run(coroutine)
                (ours if name == "lsp" else theirs).append(result)
                print(f"  {size:,} run {run + 1}/{args.runs} {name}: {result}", flush=True)
        ratio = statistics.median(o["diagnostics"] / t["grouped"] for o, t in zip(ours, theirs, strict=True))
        rows.append(
            f"| {size:,} | {statistics.median(o['initialize'] for o in ours):.2f} s "
            f"| {statistics.median(o['diagnostics'] for o in ours):.2f} s "
            f"| {statistics.median(t['grouped'] for t in theirs):.2f} s | {ratio:.2f}x "
            f"| {statistics.median(o['rss'] for o in ours):.0f} MB | {int(ours[0]['lines'])} |"
        )
    load = Path("/proc/loadavg").read_text().split()[0]
    table = "\n".join(
        [
            "# bench_lsp results",
            "",
            "| goroutines | initialize | first marks (crash line) | Delve: start + grouped listing | ratio "
            "| peak RSS (server) | diagnostics on main.go |",
            "|---:|---:|---:|---:|---:|---:|---:|",
            *rows,
            "",
            f"Medians of {args.runs} runs, from each process's start; the ratio is the median of the per-run "
            f"ratios. Machine: 2 CPUs, load average at the end {load}; total {time.monotonic() - began:.0f} s.",
        ]
    )
    print(table)
    args.output.write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
