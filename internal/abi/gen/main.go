// Command gen writes bun/abi.gen.ts and internal/abi/abi_gen.go from
// include/zig_h3.h (see package abigen). Run it with go generate
// ./internal/abi from anywhere in the repository.
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/zig-h3/h3bun/internal/abi/abigen"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := abigen.Root()
	if err != nil {
		return err
	}
	files, err := abigen.Generate(root)
	if err != nil {
		return err
	}
	for _, path := range abigen.Outputs {
		if err := os.WriteFile(filepath.Join(root, path), files[path], 0o644); err != nil {
			return err
		}
	}
	return nil
}
