"""The language server front end (`gocore-dap lsp`): a core dump shown on the source lines, in any editor.

Built on the core model like the DAP server and the report; see docs/lsp.md and `lsp.server`. The package
imports nothing itself: pygls is imported only by the `lsp` command.
"""
