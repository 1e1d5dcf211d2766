package localstack

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"mediastate/test/fcemu"
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

// buildAll builds the functions concurrently and returns their binaries.
// With cacheDir set, binaries are kept under cacheDir/<source hash>/ and
// reused while the sources are unchanged; cached reports which were. Without
// it they are built into tmpDir (fcemu caches them for the process).
func buildAll(ctx context.Context, root string, fns []string, cacheDir, tmpDir string) (bins map[string]string, cached []string, err error) {
	dir := tmpDir
	if cacheDir != "" {
		sum, err := sourceHash(root)
		if err != nil {
			return nil, nil, err
		}
		dir = filepath.Join(cacheDir, sum)
		// Older builds are of other sources: remove them.
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
	}
	bins = map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bin, hit, err := buildOne(ctx, root, fn, dir, cacheDir != "")
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs[i] = fmt.Errorf("build %s: %w", fn, err)
				return
			}
			bins[fn] = bin
			if hit {
				cached = append(cached, fn)
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, nil, err
		}
	}
	sort.Strings(cached)
	return bins, cached, nil
}

// buildOne returns the binary of one function: the cached one when keep is
// set and it exists, else a fresh build (moved into dir under the
// function's name when keep is set, atomically, so concurrent stacks never
// see half a file).
func buildOne(ctx context.Context, root, fn, dir string, keep bool) (string, bool, error) {
	final := filepath.Join(dir, fn)
	if keep {
		if st, err := os.Stat(final); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return final, true, nil
		}
	}
	out := dir
	if keep {
		tmp, err := os.MkdirTemp(dir, "."+fn+"-")
		if err != nil {
			return "", false, err
		}
		defer os.RemoveAll(tmp)
		out = tmp
	}
	bin, err := fcemu.Build(ctx, filepath.Join(root, "functions", fn), out)
	if err != nil || !keep {
		return bin, false, err
	}
	// fcemu may hand back a binary it built earlier elsewhere in this
	// process: copy it rather than move another stack's file.
	if err := copyFile(bin, final); err != nil {
		return "", false, fmt.Errorf("binary cache: %w", err)
	}
	return final, false, nil
}

// copyFile copies an executable to dst through a temporary file in dst's
// directory and a rename.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
