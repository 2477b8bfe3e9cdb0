"""Pre-flight checks on PROGRAM and CORE before Delve starts (see :mod:`.checks`)."""

from gocore_dap.preflight.checks import ALL_CODES, PreflightIssue, PreflightResult, preflight
from gocore_dap.preflight.coreinfo import CoreInfo
from gocore_dap.preflight.exeinfo import ExeInfo

__all__ = ["ALL_CODES", "CoreInfo", "ExeInfo", "PreflightIssue", "PreflightResult", "preflight"]
