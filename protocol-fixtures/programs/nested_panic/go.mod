module gocore-dap.test/corpus/nested_panic

go 1.25
