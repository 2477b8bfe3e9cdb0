module gocore-dap.test/corpus/concurrent_map_writes

go 1.25
