module gocore-dap.test/corpus/external_abrt

go 1.25
