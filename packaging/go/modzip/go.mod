module imagecheck.dev/imagecheck/packaging/go/modzip

go 1.25.0

// v0.37.0 builds with Go 1.25, the Go binding's floor (v0.41.0 needs Go 1.26).
require golang.org/x/mod v0.37.0
