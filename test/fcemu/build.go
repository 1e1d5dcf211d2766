package fcemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// buildEntry is one build of a package, shared by every caller that asks for
// the same package while it runs and after it succeeded.
type buildEntry struct {
	done chan struct{}
	path string
	err  error
}

// buildCache maps absolute package directories to their builds.
var buildCache = struct {
	mu sync.Mutex
	m  map[string]*buildEntry
}{m: map[string]*buildEntry{}}

// Build compiles the function main package in pkgDir into outDir and returns
// the absolute path of the binary.
//
// The build runs `go build -trimpath` from the root of the module that
// contains pkgDir, with CGO_ENABLED=0 and the host GOOS and GOARCH (the
// binary runs locally, not on Function Compute). Directories named testdata
// can be built this way even though `./...` patterns skip them.
//
// Results are cached per package directory for the life of the process:
// later calls return the first binary as long as it still exists, whatever
// outDir they pass, and concurrent calls share one build. Failed builds are
// not cached. Build is safe for concurrent use.
func Build(ctx context.Context, pkgDir, outDir string) (string, error) {
	absPkg, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: resolve package directory: %w", pkgDir, err)
	}
	for {
		buildCache.mu.Lock()
		e := buildCache.m[absPkg]
		if e == nil {
			e = &buildEntry{done: make(chan struct{})}
			buildCache.m[absPkg] = e
			buildCache.mu.Unlock()
			e.path, e.err = goBuild(ctx, absPkg, outDir)
			if e.err != nil {
				buildCache.mu.Lock()
				if buildCache.m[absPkg] == e {
					delete(buildCache.m, absPkg)
				}
				buildCache.mu.Unlock()
			}
			close(e.done)
			return e.path, e.err
		}
		buildCache.mu.Unlock()

		select {
		case <-e.done:
		case <-ctx.Done():
			return "", fmt.Errorf("fcemu: build %s: wait for concurrent build: %w", absPkg, ctx.Err())
		}
		if e.err != nil {
			// A build cancelled by another caller's context says nothing about
			// this caller: try again with our own context.
			if ctx.Err() == nil && (errors.Is(e.err, context.Canceled) || errors.Is(e.err, context.DeadlineExceeded)) {
				continue
			}
			return "", e.err
		}
		if _, statErr := os.Stat(e.path); statErr == nil {
			return e.path, nil
		}
		// The cached binary vanished (for example its outDir was a removed
		// temporary directory): forget it and build again.
		buildCache.mu.Lock()
		if buildCache.m[absPkg] == e {
			delete(buildCache.m, absPkg)
		}
		buildCache.mu.Unlock()
	}
}

// goBuild runs the go tool for one package.
func goBuild(ctx context.Context, absPkg, outDir string) (string, error) {
	root, err := ModuleRoot(absPkg)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: %w", absPkg, err)
	}
	rel, err := filepath.Rel(root, absPkg)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: package path relative to module root %s: %w", absPkg, root, err)
	}
	absOut, err := filepath.Abs(outDir)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: resolve output directory %s: %w", absPkg, outDir, err)
	}
	if err := os.MkdirAll(absOut, 0o755); err != nil {
		return "", fmt.Errorf("fcemu: build %s: create output directory: %w", absPkg, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: find the go tool: %w", absPkg, err)
	}

	// The hash keeps binaries of same-named packages (functions/a/cmd and
	// functions/b/cmd) apart when they share outDir.
	sum := sha256.Sum256([]byte(absPkg))
	bin := filepath.Join(absOut, filepath.Base(absPkg)+"-"+hex.EncodeToString(sum[:4]))

	cmd := exec.CommandContext(ctx, goTool, "build", "-trimpath", "-o", bin, "./"+filepath.ToSlash(rel))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return "", fmt.Errorf("fcemu: build %s: %w", absPkg, ctxErr)
		}
		return "", fmt.Errorf("fcemu: build %s: go build: %w\n%s", absPkg, err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// ModuleRoot returns the closest directory at or above dir holding go.mod,
// as an absolute path.
func ModuleRoot(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("no go.mod found in %s or any parent directory", dir)
		}
		d = parent
	}
}
