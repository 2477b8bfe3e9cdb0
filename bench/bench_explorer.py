"""Benchmark: gocore-dap against Delve's own DAP server on cores with many goroutines.

For each size (goroutines parked by protocol-fixtures/programs/many_goroutines before one panics),
measured in the same run, contenders back to back and their order rotated from run to run, so that the
machine's noise hits every contender alike. Times are from the start of the process, as an editor sees
them:

* gocore-dap (.venv/bin/gocore-dap over stdio): `initialize` answered; the `stopped` event (the launch is
  sent as soon as `initialize` is answered, `configurationDone` as soon as `initialized` comes); the
  crashing goroutine's `stackTrace`; `threads` after the stop; the first `goroutines` page grouped by stack
  (sent right after the stop, as the VS Code extension does), exact or not; a page grouped by wait object;
* `dlv dap` (the `"mode": "core"` launch vscode-go sends, over TCP): `initialize`, `stopped`, the stopped
  thread's `stackTrace`, `threads`;
* Delve's own grouped listing: one `ListGoroutines` with server-side grouping by user location (`GroupBy`
  2, 10 members per group) in a fresh `dlv core --headless`, timed from its `ListGoroutines` request;
* peak RSS (VmHWM) of the adapter, of the Delve it runs, and of `dlv dap`, read at the end.

Prints medians of --runs runs and ratios (medians of the ratios within each run), and writes the table as
Markdown (--output).

    .venv/bin/python bench/bench_explorer.py --sizes 1000,10000,100000,1000000 --runs 3
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parents[1]
DEFAULT_SIZES = (1000, 10_000, 100_000, 1_000_000)
STEP_TIMEOUT = 600.0


# --- a small DAP client over any byte stream ---------------------------------------------------------------


class DapPeer:
    """Just enough DAP to drive a session: framing, requests, waiting for responses and events."""

    def __init__(self, reader: IO[bytes], write: Callable[[bytes], None]) -> None:
        self._reader = reader
        self._write = write
        self._seq = 0
        self._messages: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        threading.Thread(target=self._read_loop, daemon=True).start()

    def _read_loop(self) -> None:
        try:
            while True:
                header = b""
                while not header.endswith(b"\r\n\r\n"):
                    byte = self._reader.read(1)
                    if not byte:
                        return
                    header += byte
                match = re.search(rb"Content-Length:\s*(\d+)", header, re.IGNORECASE)
                if match is None:
                    return
                length = int(match.group(1))
                body = b""
                while len(body) < length:
                    chunk = self._reader.read(length - len(body))
                    if not chunk:
                        return
                    body += chunk
                with self._cond:
                    self._messages.append(json.loads(body))
                    self._cond.notify_all()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()

    def send(self, command: str, arguments: Mapping[str, Any] | None = None) -> int:
        self._seq += 1
        message: dict[str, Any] = {"seq": self._seq, "type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = dict(arguments)
        body = json.dumps(message).encode()
        self._write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def wait(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i, message in enumerate(self._messages):
                    if predicate(message):
                        return self._messages.pop(i)
                if self._closed:
                    raise EOFError("the debug adapter closed the connection")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("no answer in time")
                self._cond.wait(remaining)

    def request(
        self, command: str, arguments: Mapping[str, Any] | None = None, timeout: float = STEP_TIMEOUT
    ) -> dict[str, Any]:
        seq = self.send(command, arguments)
        response = self.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == seq, timeout)
        if not response.get("success"):
            raise RuntimeError(f"{command} failed: {response.get('message')} {response.get('body')}")
        body: dict[str, Any] = response.get("body") or {}
        return body

    def event(self, name: str, timeout: float = STEP_TIMEOUT) -> dict[str, Any]:
        return self.wait(lambda m: m.get("type") == "event" and m.get("event") == name, timeout)


INITIALIZE = {"clientID": "gocore-dap-bench", "adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True,
              "pathFormat": "path"}  # fmt: skip


def _timeline(peer: DapPeer, launch: Mapping[str, Any], started: float) -> dict[str, float | None]:
    """An editor's session from the process start (`started`): initialize, launch, configurationDone, the
    stop, the stopped thread's stack and the thread list; seconds since `started` for each answer."""
    times: dict[str, float | None] = {}
    peer.request("initialize", INITIALIZE)
    times["initialize"] = time.monotonic() - started
    launched = peer.send("launch", dict(launch))
    peer.event("initialized")
    peer.request("configurationDone")
    stopped = peer.event("stopped")
    times["stopped"] = time.monotonic() - started
    peer.wait(lambda m: m.get("type") == "response" and m.get("request_seq") == launched)
    thread_id = (stopped.get("body") or {}).get("threadId")
    if thread_id is None:
        threads = peer.request("threads").get("threads") or []
        thread_id = threads[0]["id"] if threads else None
    if thread_id is not None:
        frames = peer.request("stackTrace", {"threadId": thread_id, "startFrame": 0, "levels": 20})
        if not frames.get("stackFrames"):
            raise RuntimeError("the crashing goroutine's stack is empty")
    times["crash_stack"] = time.monotonic() - started
    before = time.monotonic()
    peer.request("threads")
    times["threads"] = time.monotonic() - before
    return times


# --- process helpers ---------------------------------------------------------------------------------------


def peak_rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def child_pids(pid: int, name: str) -> list[int]:
    """Processes whose name starts with `name` (a renamed copy of dlv counts) and whose parent is `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        if ppid == pid and comm.startswith(name):
            out.append(int(entry))
    return out


def _end(process: subprocess.Popen[bytes], peer: DapPeer | None) -> None:
    if peer is not None and process.poll() is None:
        with contextlib.suppress(OSError):
            peer.send("disconnect", {"terminateDebuggee": True})
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# --- the contenders ----------------------------------------------------------------------------------------


def adapter_command() -> list[str]:
    """The adapter as an editor starts it."""
    adapter = REPO / ".venv" / "bin" / "gocore-dap"
    return [str(adapter)] if adapter.exists() else [sys.executable, "-m", "gocore_dap"]


def run_adapter(binary: Path, core: Path) -> dict[str, float | None]:
    command = adapter_command()
    started = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdin is not None and process.stdout is not None
    stdin = process.stdin

    def write(data: bytes) -> None:
        stdin.write(data)
        stdin.flush()

    peer = DapPeer(process.stdout, write)
    try:
        times = _timeline(peer, {"program": str(binary), "coreFilePath": str(core)}, started)
        stopped_at = started + (times["stopped"] or 0)
        grouped = peer.request("goroutines", {"groupBy": "stack"})
        times["grouped"] = time.monotonic() - stopped_at
        times["grouped_approximate"] = float(bool(grouped.get("approximate")))
        times["groups"] = float(grouped.get("totalGroups", 0))
        before = time.monotonic()
        peer.request("goroutines", {"groupBy": "waitObject"})
        times["wait_objects"] = time.monotonic() - before
        dlv = child_pids(process.pid, "dlv")
        times["adapter_rss"] = peak_rss_mb(process.pid)
        times["adapter_dlv_rss"] = peak_rss_mb(dlv[0]) if dlv else None
        return times
    finally:
        _end(process, peer)


def run_dlv_dap(dlv: Path, binary: Path, core: Path) -> dict[str, float | None]:
    started = time.monotonic()
    process = subprocess.Popen(
        [str(dlv), "dap", "--listen=127.0.0.1:0"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert process.stdout is not None
    peer: DapPeer | None = None
    sock: socket.socket | None = None
    try:
        line = process.stdout.readline().decode()
        match = re.search(r"listening at:?\s*\[?([0-9.]+)\]?:(\d+)", line)
        if match is None:
            raise RuntimeError(f"dlv dap did not say where it listens: {line!r}")
        sock = socket.create_connection((match.group(1), int(match.group(2))), timeout=STEP_TIMEOUT)
        sock.settimeout(None)
        connected = sock
        peer = DapPeer(connected.makefile("rb"), connected.sendall)
        times = _timeline(peer, {"mode": "core", "program": str(binary), "coreFilePath": str(core)}, started)
        times["rss"] = peak_rss_mb(process.pid)
        return times
    finally:
        _end(process, peer)
        if sock is not None:
            sock.close()


def run_delve_grouped(dlv: Path, binary: Path, core: Path) -> dict[str, float | None]:
    """One ListGoroutines pass with server-side grouping in a fresh headless Delve."""
    from gocore_dap.backends.delve.process import DelveProcess

    async def measure() -> float:
        delve = await DelveProcess.start(dlv, binary, core, rpc_timeout=STEP_TIMEOUT)
        try:
            started = time.monotonic()
            await delve.call(
                "ListGoroutines",
                {"Start": 0, "Count": 0, "GroupBy": 2, "GroupByKey": "", "MaxGroupMembers": 10, "MaxGroups": 200},
            )
            return time.monotonic() - started
        finally:
            await delve.close()

    return {"grouped_pass": asyncio.run(measure())}


# --- the run -----------------------------------------------------------------------------------------------


def median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _fmt(value: float | None, unit: str = "s") -> str:
    if value is None:
        return "n/a"
    if unit == "MB":
        return f"{value:.0f} MB"
    return f"{value:.2f} s" if value >= 0.1 else f"{value * 1000:.0f} ms"


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "n/a"


def paired_ratio(numerators: list[float | None], denominators: list[float | None]) -> float | None:
    """The median of run-by-run ratios: each run's contenders ran back to back, so a ratio within a run
    is less exposed to the machine's load drifting over the whole benchmark than a ratio of medians."""
    ratios = [a / b for a, b in zip(numerators, denominators, strict=True) if a is not None and b]
    return statistics.median(ratios) if ratios else None


def bench_size(size: int, runs: int, dlv: Path, log: Callable[[str], None]) -> dict[str, Any]:
    from gocore_dap.corpus import build

    log(f"building the core with {size:,} goroutines")
    artifact = build("many_goroutines", params={"goroutines": str(size)}, timeout=900)
    samples: dict[str, list[dict[str, float | None]]] = {"adapter": [], "dlv_dap": [], "delve": []}
    for run in range(runs):
        # Rotate the order so that a slow moment of the machine does not always hit the same one.
        order: list[tuple[str, Callable[[], dict[str, float | None]]]] = [
            ("adapter", lambda: run_adapter(artifact.binary, artifact.core)),
            ("dlv_dap", lambda: run_dlv_dap(dlv, artifact.binary, artifact.core)),
            ("delve", lambda: run_delve_grouped(dlv, artifact.binary, artifact.core)),
        ]
        order = order[run % 3 :] + order[: run % 3]
        for name, fn in order:
            result = fn()
            samples[name].append(result)
            log(f"  {size:,} run {run + 1}/{runs} {name}: " + ", ".join(
                f"{k}={v:.3f}" for k, v in result.items() if v is not None))  # fmt: skip

    def med(who: str, key: str) -> float | None:
        return median([s.get(key) for s in samples[who]])

    def peak(who: str, key: str) -> float | None:
        return max((v for s in samples[who] if (v := s.get(key)) is not None), default=None)

    def ratio(key: str, other: str = "dlv_dap", other_key: str | None = None) -> float | None:
        return paired_ratio([s.get(key) for s in samples["adapter"]],
                            [s.get(other_key or key) for s in samples[other]])  # fmt: skip

    row: dict[str, Any] = {"size": size, "runs": runs}
    for key in ("initialize", "stopped", "crash_stack", "threads"):
        row[key] = (med("adapter", key), med("dlv_dap", key), ratio(key))
    row["grouped"] = med("adapter", "grouped")
    row["grouped_approximate"] = any(s.get("grouped_approximate") for s in samples["adapter"])
    row["delve_grouped"] = med("delve", "grouped_pass")
    row["grouped_ratio"] = ratio("grouped", "delve", "grouped_pass")
    row["wait_objects"] = med("adapter", "wait_objects")
    row["groups"] = med("adapter", "groups")
    row["adapter_rss"] = peak("adapter", "adapter_rss")
    row["adapter_dlv_rss"] = peak("adapter", "adapter_dlv_rss")
    row["dlv_dap_rss"] = peak("dlv_dap", "rss")
    return row


def table(rows: list[dict[str, Any]]) -> str:
    head = ("| goroutines | initialize: ours / dlv dap | stopped: ours / dlv dap | crash stack: ours / dlv dap "
            "| threads (after the stop): ours / dlv dap | exact grouping by stack (from the stop) "
            "| Delve's grouped listing | ratio | grouping by wait object "
            "| peak RSS: adapter / its Delve / dlv dap |")  # fmt: skip
    lines = [head, "|" + "|".join(["---:"] * 10) + "|"]

    def pair(value: tuple[float | None, float | None, float | None]) -> str:
        ours, theirs, r = value
        return f"{_fmt(ours)} / {_fmt(theirs)} ({_ratio(r)})"

    for r in rows:
        grouped = _fmt(r["grouped"]) + (" (approx.)" if r["grouped_approximate"] else "")
        lines.append(
            f"| {r['size']:,} | {pair(r['initialize'])} | {pair(r['stopped'])} | {pair(r['crash_stack'])} "
            f"| {pair(r['threads'])} | {grouped} | {_fmt(r['delve_grouped'])} | {_ratio(r['grouped_ratio'])} "
            f"| {_fmt(r['wait_objects'])} | {_fmt(r['adapter_rss'], 'MB')} / {_fmt(r['adapter_dlv_rss'], 'MB')} "
            f"/ {_fmt(r['dlv_dap_rss'], 'MB')} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default=",".join(str(s) for s in DEFAULT_SIZES),
                        help="goroutine counts, comma-separated (default: 1000,10000,100000)")  # fmt: skip
    parser.add_argument("--runs", type=int, default=3, help="runs per contender and size (median; default 3)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results.md", help="Markdown table file")
    parser.add_argument("--dlv", type=Path, default=None, help="Delve (default: the pinned one)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be integers separated by commas, got {args.sizes!r}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    sys.path.insert(0, str(REPO / "adapter"))
    from gocore_dap.backends.delve.locate import dlv_version, find_dlv

    dlv = args.dlv or find_dlv(None)
    version = (dlv_version(dlv) or "unknown version").strip()

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.monotonic()
    rows = [bench_size(size, args.runs, dlv, log) for size in sizes]
    text = table(rows)
    load = os.getloadavg()
    footer = (
        f"\nMedians of {args.runs} runs per contender; ratios are medians of the ratios within each run (the "
        f"contenders of a run run back to back); peak RSS is the highest VmHWM. Machine: {os.cpu_count()} CPUs, "
        f"load average at the end {load[0]:.1f}; Delve {version}; total {time.monotonic() - started:.0f} s.\n"
        "initialize, stopped and crash stack (the stopped thread's `stackTrace` answered) are seconds from the "
        "process start; threads is the `threads` request after the stop; exact grouping by stack is the first "
        "`goroutines` request (`groupBy: stack`) sent right after the stop, timed from the stop; Delve's grouped "
        "listing is one `ListGoroutines` with `GroupBy` (user location) in a fresh `dlv core --headless`; the "
        "ratio is ours over it.\n"
    )
    print(text)
    print(footer)
    args.output.write_text("# bench_explorer results\n\n" + text + "\n" + footer, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
