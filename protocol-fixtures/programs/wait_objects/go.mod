module gocore-dap.test/corpus/wait_objects

go 1.25
