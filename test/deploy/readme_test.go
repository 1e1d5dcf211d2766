package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestREADMENamesDeployVariables checks that README's Deployment section
// names every variable s.yaml reads from the deployer's environment with
// ${env(...)}: `s` stops at the first one that is unset.
func TestREADMENamesDeployVariables(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	syaml, err := os.ReadFile(filepath.Join(root, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Deployment\n")
	if !ok {
		t.Fatal("README.md has no ## Deployment section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	vars := map[string]bool{}
	for _, m := range regexp.MustCompile(`\$\{env\(\s*'([A-Za-z0-9_]+)'`).FindAllStringSubmatch(string(syaml), -1) {
		vars[m[1]] = true
	}
	if len(vars) == 0 {
		t.Fatal("found no ${env('...')} in s.yaml: the pattern or the file changed")
	}
	for v := range vars {
		if !strings.Contains(section, "`"+v+"`") {
			t.Errorf("s.yaml reads ${env('%s')} but README's Deployment section does not name `%s`", v, v)
		}
	}
}
