module imagecheck.dev/imagecheck/demo

go 1.25.0

require imagecheck.dev/imagecheck/bindings-go v0.0.0

replace imagecheck.dev/imagecheck/bindings-go => ../../bindings-go
