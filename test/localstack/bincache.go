package localstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
)

// sourceHash is a digest of everything a function binary is built from: the
// Go toolchain, the target, go.mod, go.sum and every non-test .go file of
// the module (testdata excluded). Equal hashes mean equal binaries, so a
// binary built for one hash can be reused for as long as nothing changes.
func sourceHash(root string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "build" || name == "bin") {
				return filepath.SkipDir
			}
			return nil
		}
		if (strings.HasSuffix(name, ".go") && !strings.HasSuffix(name, "_test.go")) || path == filepath.Join(root, "go.mod") || path == filepath.Join(root, "go.sum") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("hash sources: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\n", filepath.ToSlash(rel))
		r, err := os.Open(f)
		if err != nil {
			return "", fmt.Errorf("hash sources: %w", err)
		}
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return "", fmt.Errorf("hash sources: %w", err)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}

// buildAll returns the functions' binaries, kept under
// cacheDir/<source hash>/ and reused while the sources are unchanged
// (cached says which were). The missing ones are built by ONE go build,
// which compiles the packages they share once, into a private directory
// and then renamed into place, so that concurrent stacks never see half a
// file. Builds of other sources are removed.
func buildAll(ctx context.Context, root string, fns []string, cacheDir string) (bins map[string]string, cached []string, err error) {
	sum, err := sourceHash(root)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(cacheDir, sum)
	if old, err := os.ReadDir(cacheDir); err == nil {
		for _, e := range old {
			if e.IsDir() && e.Name() != sum && len(e.Name()) == len(sum) {
				os.RemoveAll(filepath.Join(cacheDir, e.Name()))
			}
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("binary cache: %w", err)
	}
	bins = map[string]string{}
	var missing []string
	for _, fn := range fns {
		p := filepath.Join(dir, fn)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			bins[fn] = p
			cached = append(cached, fn)
		} else {
			missing = append(missing, fn)
		}
	}
	sort.Strings(cached)
	if len(missing) == 0 {
		return bins, cached, nil
	}
	tmp, err := os.MkdirTemp(dir, ".build-")
	if err != nil {
		return nil, nil, fmt.Errorf("binary cache: %w", err)
	}
	defer os.RemoveAll(tmp)
	args := []string{"build", "-trimpath", "-o", tmp + string(filepath.Separator)}
	for _, fn := range missing {
		args = append(args, "./"+filepath.ToSlash(filepath.Join("functions", fn)))
	}
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("build %s: go build: %w\n%s", strings.Join(missing, ", "), err, strings.TrimSpace(string(out)))
	}
	for _, fn := range missing {
		bins[fn] = filepath.Join(dir, fn)
		if err := os.Rename(filepath.Join(tmp, fn), bins[fn]); err != nil {
			return nil, nil, fmt.Errorf("binary cache: %w", err)
		}
	}
	return bins, cached, nil
}
