package fcemu

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// builds maps an absolute package directory to its build.
var builds sync.Map

type build struct {
	mu   sync.Mutex
	path string
}

// Build compiles the main package in pkgDir into outDir and returns the
// binary's absolute path: go build -trimpath from the root of the module
// holding pkgDir, CGO_ENABLED=0, for this machine (testdata directories
// build too). A package is built once per process: later calls return the
// same binary, whatever outDir they pass, while it exists, and concurrent
// calls wait for one build. A failed build is not kept.
func Build(ctx context.Context, pkgDir, outDir string) (string, error) {
	abs, err := filepath.Abs(pkgDir)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: %w", pkgDir, err)
	}
	v, _ := builds.LoadOrStore(abs, &build{})
	b := v.(*build)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.path != "" {
		if _, err := os.Stat(b.path); err == nil {
			return b.path, nil
		}
	}
	b.path, err = goBuild(ctx, abs, outDir)
	return b.path, err
}

func goBuild(ctx context.Context, abs, outDir string) (string, error) {
	root, err := ModuleRoot(abs)
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: %w", abs, err)
	}
	rel, err := filepath.Rel(root, abs)
	if err == nil {
		outDir, err = filepath.Abs(outDir)
	}
	if err == nil {
		err = os.MkdirAll(outDir, 0o755)
	}
	if err != nil {
		return "", fmt.Errorf("fcemu: build %s: %w", abs, err)
	}
	// The hash keeps same-named packages (a/cmd, b/cmd) apart in one outDir.
	sum := sha256.Sum256([]byte(abs))
	bin := filepath.Join(outDir, filepath.Base(abs)+"-"+hex.EncodeToString(sum[:4]))
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./"+filepath.ToSlash(rel))
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("fcemu: build %s: go build: %w\n%s", abs, err, strings.TrimSpace(string(out)))
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
