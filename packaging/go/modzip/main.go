// Command modzip writes a Go module directory as a module proxy serves it, so that a consumer
// can fetch it with GOPROXY=file://DIR: DIR/<escaped module path>/@v/{list, VERSION.info,
// VERSION.mod, VERSION.zip}. The zip is made by golang.org/x/mod/zip, the code the go command
// itself uses, so its layout (entries prefixed MODULE@VERSION/) and its checks (file names,
// sizes, no vendor/ or nested modules) are the go command's own.
//
//	go run . -dir MODULE_DIR -version v0.1.0 -time 2026-11-22T10:00:00Z -out PROXY_DIR
//
// Prints the zip's go.sum hash (h1:…).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"
)

func main() {
	dir := flag.String("dir", "", "the module's directory (holds go.mod)")
	version := flag.String("version", "", "the module version, e.g. v0.1.0")
	stamp := flag.String("time", "", "the version's time (RFC 3339), for VERSION.info")
	out := flag.String("out", "", "the proxy directory to write (GOPROXY=file://OUT)")
	flag.Parse()
	if *dir == "" || *version == "" || *stamp == "" || *out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*dir, *version, *stamp, *out); err != nil {
		fmt.Fprintln(os.Stderr, "modzip:", err)
		os.Exit(1)
	}
}

func run(dir, version, stamp, out string) error {
	when, err := time.Parse(time.RFC3339, stamp)
	if err != nil {
		return fmt.Errorf("-time %q is not RFC 3339: %w", stamp, err)
	}
	goMod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	path := modfile.ModulePath(goMod)
	if path == "" {
		return fmt.Errorf("%s/go.mod names no module", dir)
	}
	mv := module.Version{Path: path, Version: version}
	if err := module.Check(mv.Path, mv.Version); err != nil {
		return err
	}
	escaped, err := module.EscapePath(path)
	if err != nil {
		return err
	}
	escapedVersion, err := module.EscapeVersion(version)
	if err != nil {
		return err
	}
	at := filepath.Join(out, filepath.FromSlash(escaped), "@v")
	if err := os.MkdirAll(at, 0o755); err != nil {
		return err
	}
	zipPath := filepath.Join(at, escapedVersion+".zip")
	zipFile, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	if err := modzip.CreateFromDir(zipFile, mv, dir); err != nil {
		zipFile.Close()
		return fmt.Errorf("module zip of %s: %w", dir, err)
	}
	if err := zipFile.Close(); err != nil {
		return err
	}
	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{version, when.UTC()})
	if err != nil {
		return err
	}
	for name, data := range map[string][]byte{
		"list":                   []byte(version + "\n"),
		escapedVersion + ".info": info,
		escapedVersion + ".mod":  goMod,
	} {
		if err := os.WriteFile(filepath.Join(at, name), data, 0o644); err != nil {
			return err
		}
	}
	sum, err := dirhash.HashZip(zipPath, dirhash.Hash1)
	if err != nil {
		return err
	}
	fmt.Println(sum)
	return nil
}
