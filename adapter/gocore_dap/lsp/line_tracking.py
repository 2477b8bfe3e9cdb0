"""Follow source lines through edits: a mark stays on its line while lines are added above it, and goes
when its own line changes.

The marks are placed on a base text (the one `lsp.build_check` accepted). Rather than replaying every
incremental change an editor sends (and getting one wrong for good), the current text is compared with
the base as lists of lines (difflib): lines in unchanged runs map one to one, a changed or new line maps
to nothing. Undoing an edit maps the line back. A few thousand lines compare in milliseconds.

Pure: stdlib only.
"""

from __future__ import annotations

import bisect
import difflib
from collections.abc import Sequence

__all__ = ["LineMap"]


class LineMap:
    """Base line -> current line (0-based), for one base text and its current edit."""

    def __init__(self, base: Sequence[str]) -> None:
        self.base: tuple[str, ...] = tuple(base)
        self._identity = True
        self._blocks: list[tuple[int, int, int]] = []  # (base start, current start, size)
        self._starts: list[int] = []
        self.current_count = len(self.base)

    @property
    def unchanged(self) -> bool:
        return self._identity

    def update(self, current: Sequence[str]) -> None:
        self.current_count = len(current)
        if len(current) == len(self.base) and all(a == b for a, b in zip(current, self.base, strict=True)):
            self._identity = True
            self._blocks = []
            self._starts = []
            return
        matcher = difflib.SequenceMatcher(None, self.base, list(current), autojunk=False)
        self._identity = False
        self._blocks = [(b.a, b.b, b.size) for b in matcher.get_matching_blocks() if b.size]
        self._starts = [b[0] for b in self._blocks]

    def to_current(self, base_line: int) -> int | None:
        """Where base line `base_line` is now, or None when it was changed or removed."""
        if self._identity:
            return base_line if 0 <= base_line < len(self.base) else None
        at = bisect.bisect_right(self._starts, base_line) - 1
        if at < 0:
            return None
        start, current, size = self._blocks[at]
        if base_line < start + size:
            return current + (base_line - start)
        return None

    def nearest_current(self, base_line: int) -> int:
        """Where to say something about a base line that is gone: the line now where it would be."""
        if self._identity:
            return min(base_line, max(0, len(self.base) - 1))
        at = bisect.bisect_right(self._starts, base_line) - 1
        if at < 0:
            return 0
        start, current, size = self._blocks[at]
        return min(current + size, max(0, self.current_count - 1)) if base_line >= start + size else current
