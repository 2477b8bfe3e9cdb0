"""Delve started before the checks (core.early_delve): adopted when the checks pick the same Delve for the
same files, ended when they refuse the input or choose otherwise. Real Delve on real corpus cores."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from gocore_dap.core.early_delve import start_early
from gocore_dap.core.open import open_core
from gocore_dap.core.options import OpenOptions
from gocore_dap.errors import GocoreError
from tests.integration.test_bad_inputs_launch import Files
from tests.support.corpus_fixtures import corpus_artifact

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def files(dlv_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Files:
    return Files(corpus_artifact("classic"), corpus_artifact("nil_deref"), tmp_path_factory.mktemp("early"))


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie is gone too: it holds no memory and is reaped by its parent's watcher.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split(") ", 1)[1].startswith("Z")


def test_a_plain_core_opens_with_the_delve_started_before_the_checks(files: Files) -> None:
    async def run() -> None:
        options = OpenOptions(program=str(files.classic.binary), core=str(files.classic.core))
        early = await start_early(options)
        assert early is not None, "the classic core is the plain case: uncompressed, DWARF, release installed"
        pid = (await asyncio.shield(early.task)).pid
        loaded = await open_core(options, early=early)
        try:
            assert early.adopted and loaded.delve.pid == pid
            assert loaded.crash.headline, "the crash read through the adopted Delve"
        finally:
            await loaded.close()
        assert _gone(pid)

    asyncio.run(run())


def test_a_refused_input_ends_the_delve_started_early(files: Files) -> None:
    """The early start looks at the files only enough to pick a Delve: the checks then refuse a core of
    another program, and the process started for it does not outlive the refusal."""

    async def run() -> None:
        options = OpenOptions(program=str(files.other.binary), core=str(files.classic.core))
        early = await start_early(options)
        assert early is not None
        with pytest.raises(GocoreError):
            await open_core(options, early=early)
        assert early.task.done()
        if not early.task.cancelled() and early.task.exception() is None:
            assert _gone(early.task.result().pid)

    asyncio.run(run())


def test_no_early_start_for_an_explicit_delve_a_compressed_core_or_a_pipe(files: Files, dlv_path: Path) -> None:
    async def run() -> None:
        explicit = OpenOptions(program=str(files.classic.binary), core=str(files.classic.core), dlv_path=str(dlv_path))
        assert await start_early(explicit) is None
        not_elf = files.root / "core.not-elf"
        not_elf.write_bytes(b"(\xb5/\xfd" + b"\0" * 64)  # zstd's magic: decompressed by the checks first
        assert await start_early(OpenOptions(program=str(files.classic.binary), core=str(not_elf))) is None
        # A named pipe is refused by the checks; opening it here would block the event loop for good.
        fifo = files.root / "core.fifo"
        os.mkfifo(fifo)
        assert (
            await asyncio.wait_for(start_early(OpenOptions(program=str(files.classic.binary), core=str(fifo))), 5)
            is None
        )

    asyncio.run(run())
