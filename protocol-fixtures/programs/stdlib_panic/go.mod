module gocore-dap.test/corpus/stdlib_panic

go 1.25
