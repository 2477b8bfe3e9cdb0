module gocore-dap.test/corpus/cgo_inlined_lookup

go 1.25
