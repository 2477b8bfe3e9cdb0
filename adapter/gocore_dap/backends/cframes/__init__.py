"""C frames (and any frame a signal interrupted) symbolised from the binary's DWARF at an exact PC.

Delve looks a frame's line up at pc-1, right for a return address and for a syscall a signal interrupted,
wrong for the instruction a fault interrupted (a NULL dereference in C code under cgo): pc-1 can sit on
another line, even in another inlined function. `PcSymbolizer` answers for the exact PC, from the line
table and the inlined subroutines; `backends.delve.stack_repair` applies it to Delve's stacks.
"""
