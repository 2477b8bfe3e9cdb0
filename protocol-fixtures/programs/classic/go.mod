module gocore-dap.test/corpus/classic

go 1.25
