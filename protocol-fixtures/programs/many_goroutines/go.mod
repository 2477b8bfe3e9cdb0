module gocore-dap.test/corpus/many_goroutines

go 1.25
