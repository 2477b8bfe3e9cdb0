"""Source files of a Go binary on this machine: -trimpath builds, cores from elsewhere, exact stdlib sources.

See :mod:`.resolver` (:class:`SourceResolver`); :mod:`.gopaths` says what the paths in a binary look like.
"""

from __future__ import annotations

from gocore_dap.sources.gotool import DownloadFailed, GoTool
from gocore_dap.sources.resolver import Kind, Resolved, SourceOptions, SourceResolver, Unresolved

__all__ = ["DownloadFailed", "GoTool", "Kind", "Resolved", "SourceOptions", "SourceResolver", "Unresolved"]
