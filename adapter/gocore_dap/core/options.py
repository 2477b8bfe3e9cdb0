"""What a front end asks for when it opens a core: the files and how to read them."""

from __future__ import annotations

import os
from pathlib import Path

import attrs

__all__ = ["BATCH", "DEFAULT_DLV_TIMEOUT", "INTERACTIVE", "ModelSettings", "OpenOptions"]

DEFAULT_DLV_TIMEOUT = 60.0


@attrs.frozen
class OpenOptions:
    """The inputs of `open_core`. Paths may be relative (to `cwd`, else the process's directory) and
    start with `~`."""

    program: str
    core: str
    cwd: str | None = None
    # A specific Delve binary (launch.json `dlvPath`, `report --dlv`); else one is found.
    dlv_path: str | None = None
    # Seconds one Delve answer may take before that request fails (the core stays open).
    dlv_timeout: float = DEFAULT_DLV_TIMEOUT
    # Where the program's sources are (source paths are mapped by themselves from the build info):
    # explicit (editor path, path in the binary) rules win; `source_root` and the editor's workspace
    # folders are where the main module is looked for, besides `cwd`.
    substitute_path: tuple[tuple[str, str], ...] = ()
    source_root: str | None = None
    workspace_folders: tuple[str, ...] = ()
    # Download missing sources (the standard library of the program's Go release, dependency modules)
    # with `go mod download` when they are not on this machine.
    fetch_sources: bool = True
    # Read goroutines and their stacks straight from the core (backends.direct) rather than through
    # Delve's listing; Delve is used anyway when the direct reader cannot read the core.
    direct: bool = True
    # Debug information kept apart from a stripped program (besides DEBUGINFOD_URLS).
    debug_info_directories: tuple[str, ...] = ()
    symbol_file: str | None = None
    # Which frames are the user's own (`goviews.code_scope.YourCode`): "mainModule", "modules" (the main
    # module and its non-standard-library dependencies) or "nonRuntime". Checked by `open_core`.
    your_code: str = "modules"

    def resolved(self) -> tuple[Path, Path]:
        """(program, core) as absolute paths, symlinks resolved: the files every later step names."""
        base = Path(self.cwd).expanduser() if self.cwd else Path.cwd()
        return (
            (base / os.path.expanduser(self.program)).resolve(),
            (base / os.path.expanduser(self.core)).resolve(),
        )


# Stacks read per query for stack grouping (~0.25 ms each with the adapter's share): a 10k core is
# read completely, a 100k one is sampled and refined.
STACK_BUDGET = 12_000
# From this many goroutines on, the first grouped answer comes from Delve's grouping: an exact stack
# grouping reads every stack (~0.2 ms each), over a second from here on.
FAST_PATH_MIN_GOROUTINES = 5_000


@attrs.frozen
class ModelSettings:
    """How the model trades exactness for time: an editor wants a first answer fast, a report (read
    later) wants it exact."""

    fast_threshold: int = FAST_PATH_MIN_GOROUTINES
    stack_budget: int = STACK_BUDGET
    background_load: bool = True
    # Seconds of Delve time one answer spends naming wait objects after the program's variables (names
    # found are kept: a later answer goes on where this one stopped).
    naming_budget: float = 1.0


INTERACTIVE = ModelSettings()
# A report may read more stacks than an interactive query: 40,000 is ~10 s of Delve time.
BATCH = ModelSettings(fast_threshold=1 << 62, stack_budget=40_000, background_load=False, naming_budget=10.0)
