"""The core model: one way to open a Go core dump and one object that knows everything about it.

Every front end (the DAP server, `gocore-dap report`, the language server) calls `core.open.open_core`
and reads the `core.loaded.LoadedCore` it returns; below it are the backends (Delve) and `goviews`
(pure Go knowledge). The package itself imports nothing, so that a front end can answer its first
message before it pays for importing what opening a core needs.
"""
