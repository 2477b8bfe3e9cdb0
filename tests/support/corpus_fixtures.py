"""The crash corpus as test data: every program built once per test run, on each Go toolchain.

A `CorpusCase` is one program built with one toolchain: the artifact (binary, core, the program's own
stderr) and that stderr parsed by `goviews.traceback_text`, which is the ground truth the bridge tests
compare the adapter with.

`TOOLCHAINS` is a constant rather than something read from Delve at run time: test ids must be known at
collection time, and the pinned Delve (`gocore_dap.DELVE_VERSION`) changes only by a commit, which updates
this list in the same commit. `None` is the local Go (`GOTOOLCHAIN=local`); "go1.25.0" is the oldest Go
the pinned Delve 1.27.x supports (its MinSupportedVersionOfGo is 1.25), fetched by the go command as a
toolchain module. Runtime layouts (wait reasons, the panic record) differ between the two.

Builds run in parallel (one worker per CPU): part of a run is waiting (for the program to park its
goroutines, for the kernel to write the core). The builder's per-entry lock file makes concurrent builds
of one entry safe. `python -m tests.support.corpus_fixtures --cold` times a build from empty caches.

What a failure means: a missing go command, a toolchain the go command cannot use, or a machine that
cannot write cores (a piped core_pattern, a hard core size limit of 0) is `CorpusUnavailable`, which tests
turn into `require_tool` (a skip locally, a failure under CI=true). A program that no longer builds,
does not crash, or crashes otherwise than its manifest says is a `CorpusError`, and fails the test that
needs it, locally too. `corpus_artifact` is the one way a test outside the `corpus_case` fixtures gets an
artifact with these rules.
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import attrs

from gocore_dap.corpus import CorpusError, CrashArtifact, build, builder, list_programs
from gocore_dap.goviews.traceback_text import ParsedTraceback, parse_traceback

__all__ = [
    "OLDEST_GO",
    "TOOLCHAINS",
    "CaseKey",
    "CorpusCache",
    "CorpusCase",
    "CorpusUnavailable",
    "all_case_keys",
    "case_id",
    "corpus_artifact",
    "go_version_of",
    "machine_cannot_dump_cores",
]

OLDEST_GO = "go1.25.0"
TOOLCHAINS: list[str | None] = [None, OLDEST_GO]

CaseKey = tuple[str, str | None]  # (program, toolchain)


class CorpusUnavailable(Exception):
    """Go, or one of the toolchains, is not usable here (a missing tool, not a failing build)."""


def machine_cannot_dump_cores() -> str | None:
    """Why no corpus program can leave a core here, if that is so (the machine's setup, not the program's)."""
    pattern = builder.read_core_pattern()
    if pattern.startswith("|"):
        return f"a kernel.core_pattern that writes files (it pipes cores to {pattern!r})"
    if resource.getrlimit(resource.RLIMIT_CORE)[1] == 0:
        return "a hard core size limit above 0 (ulimit -H -c is 0)"
    return None


def _unavailable_or_raise(exc: CorpusError) -> None:
    """Re-raise a build failure as CorpusUnavailable when the machine, not the program, is the cause."""
    why = machine_cannot_dump_cores()
    if why is not None:
        raise CorpusUnavailable(f"{why}; the builder said: {exc}") from None


@cache
def go_version_of(toolchain: str | None) -> str | None:
    """`go1.26.8` for the local Go; the toolchain's own name otherwise; None if Go is not usable."""
    if toolchain is not None:
        return toolchain
    if shutil.which("go") is None:
        return None
    try:
        return builder._go_info(None).version
    except CorpusError:
        return None


def case_id(name: str, toolchain: str | None) -> str:
    """`classic-go1.26.8`, `classic-go1.25.0`; `classic-local` when the local Go is missing."""
    return f"{name}-{go_version_of(toolchain) or 'local'}"


def all_case_keys(names: Iterable[str] | None = None) -> list[CaseKey]:
    return [(name, toolchain) for toolchain in TOOLCHAINS for name in (names or list_programs())]


@attrs.frozen
class CorpusCase:
    name: str
    toolchain: str | None
    artifact: CrashArtifact
    parsed: ParsedTraceback

    @property
    def id(self) -> str:
        return f"{self.name}-{self.artifact.go_version}"

    @property
    def go_version(self) -> str:
        return self.artifact.go_version


class CorpusCache:
    """Builds (or finds in `.cache/corpus`) and parses each case once; `prebuild` builds many at once."""

    def __init__(self, cache_root: Path | None = None) -> None:
        self.cache_root = cache_root
        self._cases: dict[CaseKey, CorpusCase] = {}
        self._errors: dict[CaseKey, BaseException] = {}
        self.build_seconds: dict[CaseKey, float] = {}

    def check_toolchain(self, toolchain: str | None) -> None:
        """Raise CorpusUnavailable if the go command or this toolchain cannot be used."""
        if shutil.which("go") is None:
            raise CorpusUnavailable("the go command")
        try:
            builder._go_info(toolchain)
        except CorpusError as exc:
            raise CorpusUnavailable(f"the Go toolchain {toolchain or 'local'} ({exc})") from None

    def get(self, name: str, toolchain: str | None) -> CorpusCase:
        key = (name, toolchain)
        if key in self._errors:
            raise self._errors[key]
        if key not in self._cases:
            self.check_toolchain(toolchain)
            started = time.monotonic()
            try:
                artifact = build(name, toolchain=toolchain, cache_root=self.cache_root)
            except CorpusError as exc:
                _unavailable_or_raise(exc)
                self._errors[key] = exc
                raise
            self.build_seconds[key] = time.monotonic() - started
            self._cases[key] = CorpusCase(name, toolchain, artifact, parse_traceback(artifact.stderr_text()))
        return self._cases[key]

    def prebuild(self, keys: Sequence[CaseKey], workers: int | None = None) -> None:
        """Build `keys` concurrently; failures are kept and raised by `get` for the case that failed."""
        usable: list[CaseKey] = []
        for toolchain in dict.fromkeys(t for _, t in keys):
            try:
                self.check_toolchain(toolchain)
            except CorpusUnavailable:
                continue  # `get` reports it, per case
            usable.extend(k for k in keys if k[1] == toolchain)
        # Interleave the toolchains (program 1 on each, program 2 on each, ...): concurrent first builds
        # then fill different toolchains' build caches instead of compiling the same std packages twice.
        # `go env` above already fetched each toolchain, so no download runs concurrently either.
        order = {name: index for index, name in enumerate(dict.fromkeys(name for name, _ in usable))}
        usable.sort(key=lambda key: (order[key[0]], TOOLCHAINS.index(key[1]) if key[1] in TOOLCHAINS else 0))
        with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2) as pool:
            for future in [pool.submit(self._try_get, key) for key in usable]:
                future.result()

    def _try_get(self, key: CaseKey) -> None:
        # A failure is kept (or re-checked) and raised by `get` where the case is used.
        with contextlib.suppress(CorpusError, CorpusUnavailable):
            self.get(*key)


def corpus_artifact(
    name: str, toolchain: str | None = None, *, params: dict[str, str] | None = None, timeout: float = 120
) -> CrashArtifact:
    """A corpus program built (or found in the cache) for a test: a missing tool or a machine that cannot
    dump cores skips (fails under CI=true); a program that does not build or crash as its manifest says
    fails the test."""
    from tests.conftest import require_tool

    try:
        CorpusCache().check_toolchain(toolchain)
        try:
            return build(name, toolchain=toolchain, params=params, timeout=timeout)
        except CorpusError as exc:
            _unavailable_or_raise(exc)
            raise
    except CorpusUnavailable as exc:
        require_tool(False, str(exc))
        raise  # not reached: require_tool skips or fails


def main() -> None:
    """`python -m tests.support.corpus_fixtures [--cold]`: time building the whole corpus.

    `--cold` builds into a fresh cache root with an empty GOCACHE, as on a CI machine (the toolchain
    module of go1.25.0 still comes from the module cache; on CI it is one ~70 MB download more).
    """
    import sys
    import tempfile

    cold = "--cold" in sys.argv
    workers = next((int(a.split("=", 1)[1]) for a in sys.argv if a.startswith("--workers=")), None)
    root = Path(tempfile.mkdtemp(prefix="corpus-timing-")) if cold else None
    if cold:
        os.environ["GOCACHE"] = str(Path(tempfile.mkdtemp(prefix="gocache-timing-")))
    cache = CorpusCache(root)
    started = time.monotonic()
    cache.prebuild(all_case_keys(), workers=workers)
    total = time.monotonic() - started
    for key in all_case_keys():
        try:
            case = cache.get(*key)
            print(f"{case.id:40} {cache.build_seconds.get(key, 0):6.1f}s")
        except Exception as exc:
            print(f"{case_id(*key):40} FAILED {exc}")
    print(f"total {total:.1f}s with {workers or os.cpu_count()} workers (cold={cold})")
    if root is not None:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(os.environ["GOCACHE"], ignore_errors=True)


if __name__ == "__main__":
    main()
