"""The crash corpus: real Go programs of protocol-fixtures/programs built into real cores."""

from __future__ import annotations

from gocore_dap.corpus.builder import (
    CorpusError,
    CrashArtifact,
    Manifest,
    build,
    default_cache_root,
    list_programs,
    load_manifest,
    programs_dir,
)

__all__ = [
    "CorpusError",
    "CrashArtifact",
    "Manifest",
    "build",
    "default_cache_root",
    "list_programs",
    "load_manifest",
    "programs_dir",
]
