package deploy

import (
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"
)

// buildActionKey is the s.yaml action hook that runs before `s deploy` and
// `s local`.
const buildActionKey = "pre-${regex('deploy|local')}"

// repoRoot returns the repository root: two levels above this package's
// directory, which is the working directory of `go test`.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !bytes.Contains(mod, []byte("module mediastate")) {
		t.Fatalf("%s is not the root of module mediastate (go.mod: %v)", root, err)
	}
	return root
}

// functionDirs returns the names of the directories under functions/ that
// hold a main.go of package main: one FC function each.
func functionDirs(t testing.TB) []string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "functions")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("list function directories: %v", err)
	}
	var fns []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name(), "main.go"), nil, parser.PackageClauseOnly)
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			t.Fatalf("functions/%s/main.go: %v", e.Name(), err)
		}
		if f.Name.Name == "main" {
			fns = append(fns, e.Name())
		}
	}
	if len(fns) == 0 {
		t.Fatalf("no function directories (with a main.go of package main) under %s", dir)
	}
	sort.Strings(fns)
	return fns
}

// loadYAML decodes a YAML file into JSON-compatible values (maps with string
// keys, slices, strings, bools, ints and float64s). Anchors and aliases are
// expanded.
func loadYAML(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	var doc map[string]any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	if doc == nil {
		t.Fatalf("%s is empty", path)
	}
	return doc
}

// sFunction is one fc3 resource of s.yaml.
type sFunction struct {
	// Name is the resource key, which must be the function directory name.
	Name string
	// Raw is the resource as written; Props are its props with ${vars.x}
	// resolved.
	Raw   map[string]any
	Props map[string]any
}

// sYAML is the parsed s.yaml.
type sYAML struct {
	Path      string
	Doc       map[string]any
	Vars      map[string]any
	Functions map[string]*sFunction
}

func loadSYAML(t testing.TB) *sYAML {
	t.Helper()
	path := filepath.Join(repoRoot(t), "s.yaml")
	doc := loadYAML(t, path)
	s := &sYAML{Path: path, Doc: doc, Functions: map[string]*sFunction{}}
	s.Vars, _ = doc["vars"].(map[string]any)
	resources, ok := doc["resources"].(map[string]any)
	if !ok || len(resources) == 0 {
		t.Fatalf("s.yaml: no resources")
	}
	for name, r := range resources {
		raw, ok := r.(map[string]any)
		if !ok {
			t.Fatalf("s.yaml: resource %s is not a map", name)
		}
		props, _ := raw["props"].(map[string]any)
		resolved, err := resolveVars(props, s.Vars)
		if err != nil {
			t.Fatalf("s.yaml: resource %s: %v", name, err)
		}
		rp, _ := resolved.(map[string]any)
		s.Functions[name] = &sFunction{Name: name, Raw: raw, Props: rp}
	}
	return s
}

var (
	varRef   = regexp.MustCompile(`\$\{vars\.([A-Za-z0-9_]+)\}`)
	wholeVar = regexp.MustCompile(`^\$\{vars\.([A-Za-z0-9_]+)\}$`)
	envRef   = regexp.MustCompile(`^\$\{env\('([A-Z][A-Z0-9_]*)'\)\}$`)
	anyMagic = regexp.MustCompile(`\$\{[^}]*\}`)
)

// resolveVars replaces ${vars.x} the way Serverless Devs does before the
// component sees its props: a string that is exactly one reference takes the
// variable's value (of any type), a reference inside a longer string is
// replaced by the variable's text. Other magic variables (${env(...)},
// ${config(...)}) stay as they are: they are strings wherever they are used.
func resolveVars(v any, vars map[string]any) (any, error) {
	var err error
	out := rewrite(v, func(v any) (any, bool) {
		str, ok := v.(string)
		if !ok || err != nil {
			return v, ok
		}
		if m := wholeVar.FindStringSubmatch(str); m != nil {
			val, ok := vars[m[1]]
			if !ok {
				err = fmt.Errorf("undefined variable vars.%s", m[1])
			}
			return val, true
		}
		return varRef.ReplaceAllStringFunc(str, func(ref string) string {
			name := varRef.FindStringSubmatch(ref)[1]
			val, ok := vars[name]
			switch val.(type) {
			case map[string]any, []any:
				err = fmt.Errorf("variable vars.%s is not a scalar but is used inside the string %q", name, str)
			}
			if !ok {
				err = fmt.Errorf("undefined variable vars.%s in %q", name, str)
				return ref
			}
			return fmt.Sprint(val)
		}), true
	})
	return out, err
}

// rewrite returns a copy of v in which every value that f takes (ok) is
// replaced by what f returns; maps and lists f leaves are walked.
func rewrite(v any, f func(any) (any, bool)) any {
	if r, ok := f(v); ok {
		return r
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = rewrite(e, f)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = rewrite(e, f)
		}
		return out
	}
	return v
}

// ROS template.

// rosTemplate is the parsed template.yml.
type rosTemplate struct {
	Doc        map[string]any
	Parameters map[string]map[string]any
	Resources  map[string]map[string]any
	Outputs    map[string]any
}

func loadTemplate(t testing.TB) *rosTemplate {
	t.Helper()
	doc := loadYAML(t, filepath.Join(repoRoot(t), "template.yml"))
	maps := func(section string) map[string]map[string]any {
		out := map[string]map[string]any{}
		entries, _ := doc[section].(map[string]any)
		for k, v := range entries {
			m, ok := v.(map[string]any)
			if !ok {
				t.Fatalf("template.yml: %s.%s is not a map", section, k)
			}
			out[k] = m
		}
		return out
	}
	tp := &rosTemplate{Doc: doc, Parameters: maps("Parameters"), Resources: maps("Resources")}
	tp.Outputs, _ = doc["Outputs"].(map[string]any)
	return tp
}

// ofType returns the logical ids of the resources of a type, sorted.
func (tp *rosTemplate) ofType(typ string) []string {
	var ids []string
	for id, r := range tp.Resources {
		if r["Type"] == typ {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids
}

// props returns a resource's Properties.
func (tp *rosTemplate) props(id string) map[string]any {
	p, _ := tp.Resources[id]["Properties"].(map[string]any)
	return p
}

// unresolved stands for a template value that s.yaml has no counterpart
// of (an attribute of a resource, a condition).
type unresolved struct{ expr string }

// rosTerms says what stands in template.yml for each reference s.yaml
// makes: its variables are the template's parameters (whose defaults
// TestTemplate checks against the variables' values) or pseudo
// parameters, and Serverless Devs' magic variables their ROS counterparts.
// The two files are compared through this table, term by term, without
// evaluating either.
var rosTerms = map[string]string{
	"${vars.region}":               "${ALIYUN::Region}",
	"${config('AccountID')}":       "${ALIYUN::AccountId}",
	"${vars.ossEndpoint}":          "https://oss-${ALIYUN::Region}-internal.aliyuncs.com",
	"${vars.prefix}":               "${FunctionPrefix}",
	"${vars.bucket}":               "${StateBucket}",
	"${vars.statePrefix}":          "${StatePrefix}",
	"${vars.callbackBaseUrl}":      "${CallbackBaseUrl}",
	"${vars.callbackQueue}":        "${CallbackQueueName}",
	"${vars.deadLetterQueue}":      "${DeadLetterQueueName}",
	"${vars.asyncFailureQueue}":    "${AsyncFailureQueueName}",
	"${vars.logProject}":           "${LogProject}",
	"${vars.logStore}":             "${LogStore}",
	"${vars.liveCallbackQueue}":    "${LiveCallbackQueueName}",
	"${env('VOD_CALLBACK_KEYS')}":  "${VodCallbackKeys}",
	"${env('IMS_CALLBACK_KEYS')}":  "${ImsCallbackKeys}",
	"${env('LIVE_CALLBACK_KEYS')}": "${LiveCallbackKeys}",
	"${env('QUERY_TOKEN')}":        "${QueryToken}",
}

// inROSTerms rewrites an s.yaml value (as written, before ${vars.x} is
// resolved) in the terms of template.yml (see rosTerms). A reference the
// table lacks is kept, so that the comparison reports it.
func inROSTerms(v any) any {
	return rewrite(v, func(v any) (any, bool) {
		str, ok := v.(string)
		return anyMagic.ReplaceAllStringFunc(str, func(ref string) string {
			if r, ok := rosTerms[ref]; ok {
				return r
			}
			return ref
		}), ok
	})
}

// rosValue renders a template value with its references as text: {Ref: X}
// is "${X}", {Fn::Sub: s} is s; other functions are unresolved.
func rosValue(v any) any {
	return rewrite(v, func(v any) (any, bool) {
		if s, ok := symbolic(v); ok {
			return s, true
		}
		if m, ok := v.(map[string]any); ok && len(m) == 1 {
			for fn := range m {
				if strings.HasPrefix(fn, "Fn::") {
					return unresolved{fmt.Sprint(v)}, true
				}
			}
		}
		return v, false
	})
}

// symbolic renders a template string expression with its references kept:
// {Ref: X} is "${X}", {Fn::Sub: s} is s.
func symbolic(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case map[string]any:
		if r, ok := v["Ref"].(string); ok && len(v) == 1 {
			return "${" + r + "}", true
		}
		if s, ok := v["Fn::Sub"].(string); ok && len(v) == 1 {
			return s, true
		}
	}
	return "", false
}

// getAtt returns the resource and attribute of {Fn::GetAtt: [resource, attribute]}.
func getAtt(v any) (string, string, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return "", "", false
	}
	l, ok := m["Fn::GetAtt"].([]any)
	if !ok || len(l) != 2 {
		return "", "", false
	}
	r, ok1 := l[0].(string)
	a, ok2 := l[1].(string)
	return r, a, ok1 && ok2
}

// Comparison of s.yaml and template.yml values.

// lowerFirst maps ROS property names (MemorySize) to fc3 prop names
// (memorySize); names in capitals (OSS_BUCKET) stay as they are.
func lowerFirst(s string) string {
	if len(s) < 2 || !unicode.IsUpper(rune(s[0])) || !unicode.IsLower(rune(s[1])) {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// diff lists the differences between an s.yaml value and an evaluated
// template value. Map keys are compared with their first letter lower-cased;
// unresolved template values match anything; numbers compare by value.
func diff(path string, s, tv any) []string {
	if _, ok := tv.(unresolved); ok {
		return nil
	}
	switch sv := s.(type) {
	case map[string]any:
		tm, ok := tv.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: s.yaml has a map, template.yml has %#v", path, tv)}
		}
		ns, nt := foldKeys(sv), foldKeys(tm)
		var out []string
		for _, k := range sortedKeys(ns, nt) {
			a, inS := ns[k]
			b, inT := nt[k]
			switch {
			case !inS:
				out = append(out, fmt.Sprintf("%s.%s: only in template.yml", path, k))
			case !inT:
				out = append(out, fmt.Sprintf("%s.%s: only in s.yaml", path, k))
			default:
				out = append(out, diff(path+"."+k, a, b)...)
			}
		}
		return out
	case []any:
		tl, ok := tv.([]any)
		if !ok || len(tl) != len(sv) {
			return []string{fmt.Sprintf("%s: s.yaml has %#v, template.yml has %#v", path, s, tv)}
		}
		var out []string
		for i := range sv {
			out = append(out, diff(fmt.Sprintf("%s[%d]", path, i), sv[i], tl[i])...)
		}
		return out
	}
	if a, ok := number(s); ok {
		if b, ok := number(tv); ok && a == b {
			return nil
		}
	} else if reflect.DeepEqual(s, tv) {
		return nil
	}
	return []string{fmt.Sprintf("%s: s.yaml has %#v, template.yml has %#v", path, s, tv)}
}

// foldKeys returns m with its keys passed through lowerFirst.
func foldKeys(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[lowerFirst(k)] = v
	}
	return out
}

func sortedKeys(ms ...map[string]any) []string {
	seen := map[string]bool{}
	var keys []string
	for _, m := range ms {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	sort.Strings(keys)
	return keys
}

// Small accessors for decoded YAML.

// get walks nested maps.
func get(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

func str(v any, path ...string) string {
	s, _ := get(v, path...).(string)
	return s
}

// integer returns an integer literal; a float, string or variable is not one.
func integer(v any) (int, bool) {
	i, ok := v.(int)
	return i, ok
}

// number returns an int or float64 literal as float64.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func list(v any) []any {
	l, _ := v.([]any)
	return l
}

func keys[M ~map[string]V, V any](m M) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
