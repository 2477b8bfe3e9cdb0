module gocore-dap.test/corpus/optimized_inlined

go 1.25
