module gocore-dap.test/corpus/cgo_crash

go 1.25
