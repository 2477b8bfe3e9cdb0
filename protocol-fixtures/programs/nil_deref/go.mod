module gocore-dap.test/corpus/nil_deref

go 1.25
