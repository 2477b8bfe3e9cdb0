module gocore-dap.test/corpus/deadlock

go 1.25
