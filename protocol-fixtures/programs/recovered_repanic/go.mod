module gocore-dap.test/corpus/recovered_repanic

go 1.25
