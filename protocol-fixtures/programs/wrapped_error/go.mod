module gocore-dap.test/corpus/wrapped_error

go 1.25
