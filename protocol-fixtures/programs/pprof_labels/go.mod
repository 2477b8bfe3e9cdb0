module gocore-dap.test/corpus/pprof_labels

go 1.25
