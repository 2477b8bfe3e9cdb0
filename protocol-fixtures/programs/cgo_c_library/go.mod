module gocore-dap.test/corpus/cgo_c_library

go 1.25
