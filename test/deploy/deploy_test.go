package deploy

import (
	"debug/elf"
	"fmt"
	"go/parser"
	"go/token"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"mediastate/shared/statestore"
)

// allowedOSSActions is everything the function role may do in OSS: read
// (GetObject also covers HeadObject), create-only writes (PutObject),
// listing, deletion of old versions (DeleteObject covers DeleteObjects)
// and the start-up versioning check.
var allowedOSSActions = map[string]bool{
	"oss:GetObject": true, "oss:PutObject": true, "oss:ListObjects": true,
	"oss:DeleteObject": true, "oss:GetBucketVersioning": true,
}

// allowedOtherActions are the non-OSS actions the role may have, each on
// named resources only: writing its logs, and FC's delivery of failed
// asynchronous invocations to the failure queue.
var allowedOtherActions = map[string]bool{"log:PostLogStoreLogs": true, "mns:SendMessage": true}

// credentialVars must never be set in a deployment: in FC the credentials
// are the function role's, per invocation.
var credentialVars = []string{"OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"}

// senderLimits are how long the HTTP callers wait for an answer; an answer
// budget must stay below its caller's limit.
var senderLimits = map[string]time.Duration{"VOD_ANSWER_BUDGET": 5 * time.Second, "IMS_ANSWER_BUDGET": 3 * time.Second}

// answerBudgetDefaults are shared/config's defaults of the answer budgets.
var answerBudgetDefaults = map[string]time.Duration{
	"VOD_ANSWER_BUDGET": 4 * time.Second, "IMS_ANSWER_BUDGET": 2500 * time.Millisecond, "LIVE_ANSWER_BUDGET": 4 * time.Second,
}

// defaultCacheTTL is shared/config's default STATE_CACHE_TTL.
const defaultCacheTTL = 5 * time.Minute

// isSecret reports whether an environment variable holds a secret.
func isSecret(name string) bool { return strings.HasSuffix(name, "_KEYS") || name == "QUERY_TOKEN" }

// TestSYAML checks s.yaml: one fc3 resource per function directory, valid
// for the fc3 model of fc3_test.go, with the runtime, sizes, build action,
// triggers and environment the functions need.
func TestSYAML(t *testing.T) {
	t.Parallel()
	fns := functionDirs(t)
	s := loadSYAML(t)

	if v := s.Doc["edition"]; v != "3.0.0" {
		t.Errorf("edition is %#v, want \"3.0.0\"", v)
	}
	for _, k := range []string{"name", "access"} {
		if str(s.Doc, k) == "" {
			t.Errorf("s.yaml has no %s", k)
		}
	}
	if got, want := keys(s.Functions), fns; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("s.yaml resources %v, want exactly one per function directory %v", got, want)
	}
	if q := str(s.Vars, "callbackQueue"); !strings.HasPrefix(q, "ice-callback-") {
		t.Errorf("vars.callbackQueue %q: IMS writes callbacks only to queues whose names start with ice-callback-", q)
	}

	names := map[string]string{}
	for _, fn := range fns {
		f := s.Functions[fn]
		t.Run(fn, func(t *testing.T) {
			if c := f.Raw["component"]; c != "fc3" {
				t.Errorf("component is %#v, want fc3", c)
			}
			p := f.Props
			if p == nil {
				t.Fatal("no props")
			}
			if _, err := decodeFC3Props(p); err != nil {
				t.Errorf("props do not meet the fc3 model (test/deploy/fc3_test.go; unknown keys are refused: the component would ignore them): %v", err)
			}
			checkFunctionProps(t, s, fn, p)
			if other, dup := names[str(p, "functionName")]; dup {
				t.Errorf("functionName %q is also %s's", str(p, "functionName"), other)
			}
			names[str(p, "functionName")] = fn
			checkBuildAction(t, s, fn, f)
			checkEnvironment(t, p)
			checkTriggers(t, p)
			checkTimeouts(t, p)
		})
	}
}

// checkFunctionProps checks runtime, handler, sizes, name and code.
func checkFunctionProps(t *testing.T, s *sYAML, fn string, p map[string]any) {
	if v := p["runtime"]; v != "go1" {
		t.Errorf("runtime is %#v, want go1", v)
	}
	if v := p["handler"]; v != "main" {
		t.Errorf("handler is %#v, want main (the binary's name in the code directory)", v)
	}
	mem, ok := integer(p["memorySize"])
	if !ok || mem < 128 || mem > 32768 || mem%64 != 0 {
		t.Errorf("memorySize is %#v, want an integer literal in 128..32768 that is a multiple of 64", p["memorySize"])
	}
	if v, present := p["cpu"]; present {
		// FC 3.0: vCPU a multiple of 0.05, and memory in GB between 1x and 4x the vCPUs.
		cpu, ok := number(v)
		switch {
		case !ok:
			t.Errorf("cpu is %#v, want a number literal", v)
		case math.Abs(cpu/0.05-math.Round(cpu/0.05)) > 1e-9:
			t.Errorf("cpu %v is not a multiple of 0.05", cpu)
		case mem > 0 && (float64(mem)/1024 < cpu-1e-9 || float64(mem)/1024 > 4*cpu+1e-9):
			t.Errorf("memorySize %d MB with cpu %v: FC 3.0 wants between 1 and 4 GB per vCPU", mem, cpu)
		}
	}
	if v, ok := integer(p["timeout"]); !ok || v <= 0 {
		t.Errorf("timeout is %#v, want a positive integer literal", p["timeout"])
	}
	if v, ok := integer(p["instanceConcurrency"]); !ok || v < 1 {
		t.Errorf("instanceConcurrency is %#v, want an integer literal of at least 1", p["instanceConcurrency"])
	}
	if want := str(s.Vars, "prefix") + "-" + fn; str(p, "functionName") != want {
		t.Errorf("functionName is %q, want %q", str(p, "functionName"), want)
	}
	if code, ok := p["code"].(string); !ok || filepath.Clean(code) != filepath.Join("build", fn) {
		t.Errorf("code is %#v, want ./build/%s (a directory holding only the binary)", p["code"], fn)
	}
	if str(p, "role") == "" {
		t.Error("no role: the functions need the role's credentials for OSS")
	}
	if str(p, "region") != str(s.Vars, "region") {
		t.Errorf("region is %q, want vars.region %q", str(p, "region"), str(s.Vars, "region"))
	}
	if p["logConfig"] == nil {
		t.Error("no logConfig: the function logs would be lost")
	}
}

// buildEnv and buildFlags are how every function is built: a static
// linux/amd64 binary (runtime go1 runs static x86_64 executables) without
// symbols or local paths.
var (
	buildEnv   = []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}
	buildFlags = []string{"-trimpath", "-ldflags", "-s -w"}
)

// buildArgs returns the arguments after "go" of the command that builds
// function fn into out.
func buildArgs(fn, out string) []string {
	return slices.Concat([]string{"build"}, buildFlags, []string{"-o", out, "./functions/" + fn})
}

// buildLine is the build action s.yaml must have for fn: buildArgs as one
// shell line writing the handler into the code directory.
func buildLine(fn string) string {
	words := slices.Concat(buildEnv, []string{"go"}, buildArgs(fn, "build/"+fn+"/main"))
	for i, w := range words {
		if strings.Contains(w, " ") {
			words[i] = `"` + w + `"`
		}
	}
	return strings.Join(words, " ")
}

// checkBuildAction checks that the build action is exactly buildLine, run
// in the module root, and writes the handler into the code directory.
func checkBuildAction(t *testing.T, s *sYAML, fn string, f *sFunction) {
	steps := list(get(f.Raw, "actions", buildActionKey))
	if len(steps) != 1 {
		t.Fatalf("actions[%q] has %d steps, want one build step", buildActionKey, len(steps))
	}
	if got, want := str(steps[0], "run"), buildLine(fn); got != want {
		t.Errorf("build action\n  %s\nwant\n  %s", got, want)
	}
	dir := filepath.Join(filepath.Dir(s.Path), str(steps[0], "path"))
	if _, err := os.Stat(filepath.Join(dir, "go.mod")); str(steps[0], "path") == "" || err != nil {
		t.Errorf("the build step's path %q is not the module root (%v)", str(steps[0], "path"), err)
	}
	if code, handler := str(f.Props, "code"), str(f.Props, "handler"); filepath.Clean(code) != "build/"+fn || handler != "main" {
		t.Errorf("code %q handler %q, want build/%s and main, where the build writes", code, handler, fn)
	}
}

// checkEnvironment checks the environment variables of one function.
func checkEnvironment(t *testing.T, p map[string]any) {
	env, _ := p["environmentVariables"].(map[string]any)
	if len(env) == 0 {
		t.Fatal("no environmentVariables")
	}
	for name, v := range env {
		val, ok := v.(string)
		if !ok {
			t.Errorf("environment variable %s is %#v, want a string (quote it)", name, v)
			continue
		}
		if isSecret(name) {
			if m := envRef.FindStringSubmatch(val); m == nil || m[1] != name {
				t.Errorf("%s must come from the deployer's environment as ${env('%s')}, never a literal", name, name)
			}
		} else if m := anyMagic.FindString(val); m != "" && !strings.HasPrefix(m, "${config(") {
			t.Errorf("%s = %q keeps an unresolved reference %s", name, val, m)
		}
	}
	for _, name := range credentialVars {
		if _, ok := env[name]; ok {
			t.Errorf("%s is set: in FC the functions must use the role's credentials", name)
		}
	}
	region := str(p, "region")
	if want := "https://oss-" + region + "-internal.aliyuncs.com"; str(env, "OSS_ENDPOINT") != want {
		t.Errorf("OSS_ENDPOINT is %q, want the internal endpoint of %s, %s", str(env, "OSS_ENDPOINT"), region, want)
	}
	if r, ok := env["OSS_REGION"]; ok && r != region {
		t.Errorf("OSS_REGION is %#v, want the function's region %q", r, region)
	}
	for _, name := range []string{"OSS_BUCKET", "STATE_PREFIX"} {
		if str(env, name) == "" {
			t.Errorf("%s is not set", name)
		}
	}
	for name, limit := range senderLimits {
		if v, ok := env[name].(string); ok {
			if d, err := time.ParseDuration(v); err != nil || d <= 0 || d >= limit {
				t.Errorf("%s = %q: want a duration below the sender's %v limit", name, v, limit)
			}
		}
	}
}

// checkTriggers checks the settings the functions depend on in each
// trigger (decodeFC3Props has checked their shape).
func checkTriggers(t *testing.T, p map[string]any) {
	triggers := list(p["triggers"])
	if len(triggers) == 0 {
		t.Fatal("no triggers")
	}
	env, _ := p["environmentVariables"].(map[string]any)
	seen := map[string]bool{}
	types := map[string]int{}
	for i, tr := range triggers {
		name, typ := str(tr, "triggerName"), str(tr, "triggerType")
		where := fmt.Sprintf("triggers[%d] (%s)", i, name)
		if name == "" || seen[name] {
			t.Errorf("%s: trigger names must be present and unique", where)
		}
		seen[name] = true
		types[typ]++
		cfg, _ := tr.(map[string]any)["triggerConfig"].(map[string]any)
		switch typ {
		case "http":
			checkHTTPTrigger(t, where, cfg, env)
		case "eventbridge":
			checkEventBridgeTrigger(t, where, cfg)
		case "timer":
			if c := str(cfg, "cronExpression"); !regexp.MustCompile(`^(CRON_TZ=\S+ )?(\S+ ){5}\S+$|^@every \S+$`).MatchString(c) {
				t.Errorf("%s: cronExpression %q: want six fields (seconds first), optionally after CRON_TZ=<zone>, or @every", where, c)
			}
			if cfg["enable"] != true {
				t.Errorf("%s: the timer is not enabled", where)
			}
			if str(p, "asyncInvokeConfig", "destinationConfig", "onFailure", "destination") == "" {
				t.Errorf("%s: timer triggers invoke asynchronously: set asyncInvokeConfig with an onFailure destination", where)
			}
		}
	}
	if types["timer"] > 0 && types["http"] > 0 {
		t.Error("a timer-driven task must not have an HTTP trigger")
	}
	if ac, ok := p["asyncInvokeConfig"]; ok && str(ac, "destinationConfig", "onFailure", "destination") == "" {
		t.Error("asyncInvokeConfig without an onFailure destination: failed asynchronous invocations would vanish")
	}
}

func checkHTTPTrigger(t *testing.T, where string, cfg, env map[string]any) {
	switch a := str(cfg, "authType"); a {
	case "anonymous":
		// Nothing guards the URL but the function's own checks: callback
		// signatures, or the query token.
		if strings.EqualFold(str(env, "CALLBACK_AUTH"), "off") {
			t.Errorf("%s: an anonymous HTTP trigger with CALLBACK_AUTH=off lets anyone write state", where)
		}
		if callbackSchemes(t, where, env) == 0 && str(env, "QUERY_TOKEN") == "" {
			t.Errorf("%s: an anonymous HTTP trigger needs callback keys (VOD_CALLBACK_KEYS, ...) or QUERY_TOKEN for the function to authenticate callers", where)
		}
	case "function", "jwt":
	default:
		t.Errorf("%s: authType %q, want anonymous, function or jwt", where, a)
	}
	methods := list(cfg["methods"])
	if len(methods) == 0 {
		t.Errorf("%s: no methods", where)
	}
	if callbackSchemes(t, where, env) > 0 {
		for _, m := range methods {
			if m != "POST" {
				t.Errorf("%s: method %v: callbacks are POSTed; a callback function accepts nothing else", where, m)
			}
		}
	}
}

// callbackSchemes counts the callback signature schemes configured (each
// *_CALLBACK_KEYS with its *_CALLBACK_URL).
func callbackSchemes(t *testing.T, where string, env map[string]any) int {
	var n int
	for name := range env {
		if s, ok := strings.CutSuffix(name, "_CALLBACK_KEYS"); ok {
			n++
			if str(env, s+"_CALLBACK_URL") == "" {
				t.Errorf("%s: %s without %s_CALLBACK_URL", where, name, s)
			}
		}
	}
	return n
}

func checkEventBridgeTrigger(t *testing.T, where string, cfg map[string]any) {
	if cfg["triggerEnable"] != true {
		t.Errorf("%s: triggerEnable is %#v, want true", where, cfg["triggerEnable"])
	}
	if cfg["asyncInvocationType"] != false {
		t.Errorf("%s: asyncInvocationType is %#v, want false: EventBridge must see failed invocations to retry and dead-letter them", where, cfg["asyncInvocationType"])
	}
	if v := str(cfg, "eventSourceConfig", "eventSourceType"); v != "MNS" {
		t.Errorf("%s: eventSourceType is %q, want MNS", where, v)
	}
	mns := get(cfg, "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters")
	if q := str(mns, "QueueName"); !strings.HasPrefix(q, "ice-callback-") {
		t.Errorf("%s: QueueName %q: the callback queue must start with ice-callback- (IMS's requirement; VOD shares it)", where, q)
	}
	if v := get(mns, "IsBase64Decode"); v != false {
		t.Errorf("%s: IsBase64Decode is %#v, want false: undocumented for plain-JSON bodies, and the functions decode base64 themselves", where, v)
	}
	if v := str(cfg, "eventSinkConfig", "deliveryOption", "eventSchema"); v != "CloudEvents" {
		t.Errorf("%s: eventSinkConfig.deliveryOption.eventSchema is %q, want CloudEvents (the envelope the trigger decoding is tested with)", where, v)
	}
	ro, _ := cfg["runOptions"].(map[string]any)
	if v := str(ro, "mode"); v != "event-streaming" {
		t.Errorf("%s: runOptions.mode is %q, want event-streaming", where, v)
	}
	if n, ok := integer(get(ro, "batchWindow", "CountBasedWindow")); !ok || n < 1 || n > 10000 {
		t.Errorf("%s: batchWindow.CountBasedWindow is %#v, want an integer in 1..10000", where, get(ro, "batchWindow", "CountBasedWindow"))
	}
	if n, ok := integer(get(ro, "batchWindow", "TimeBasedWindow")); !ok || n < 0 || n > 15 {
		t.Errorf("%s: batchWindow.TimeBasedWindow is %#v, want an integer in 0..15 (seconds)", where, get(ro, "batchWindow", "TimeBasedWindow"))
	}
	switch v := str(ro, "retryStrategy", "PushRetryStrategy"); v {
	case "BACKOFF_RETRY", "EXPONENTIAL_DECAY_RETRY":
	default:
		t.Errorf("%s: retryStrategy.PushRetryStrategy is %q, want BACKOFF_RETRY or EXPONENTIAL_DECAY_RETRY", where, v)
	}
	dlq := str(ro, "deadLetterQueue", "Arn")
	switch v := str(ro, "errorsTolerance"); v {
	case "ALL":
		if dlq == "" {
			t.Errorf("%s: errorsTolerance ALL without a deadLetterQueue drops batches that exhausted their retries", where)
		}
	case "NONE", "":
		// The stream stops after the retries; a dead-letter queue is never used.
	default:
		t.Errorf("%s: errorsTolerance is %q, want ALL or NONE", where, v)
	}
	if dlq != "" && !regexp.MustCompile(`^acs:mns:[a-z0-9-]+:\S+:/queues/[A-Za-z0-9-]+$`).MatchString(dlq) {
		t.Errorf("%s: deadLetterQueue.Arn %q is not an MNS queue ARN (acs:mns:<region>:<account>:/queues/<name>)", where, dlq)
	}
}

// checkTimeouts relates the timeout to the answer budgets and to the sweep's
// safety margin.
func checkTimeouts(t *testing.T, p map[string]any) {
	timeout, _ := integer(p["timeout"])
	to := time.Duration(timeout) * time.Second
	env, _ := p["environmentVariables"].(map[string]any)
	var http, writer bool
	for _, tr := range list(p["triggers"]) {
		switch str(tr, "triggerType") {
		case "http":
			http, writer = true, true
		case "eventbridge":
			writer = true
		}
	}
	if http {
		for name, def := range answerBudgetDefaults {
			d := def
			if v, ok := env[name].(string); ok {
				d, _ = time.ParseDuration(v)
			}
			if d >= to {
				t.Errorf("timeout %v does not exceed %s (%v): the function could not dead-letter a slow callback before FC kills it", to, name, d)
			}
		}
	}
	if writer {
		ttl := defaultCacheTTL
		if v, ok := env["STATE_CACHE_TTL"].(string); ok {
			var err error
			if ttl, err = time.ParseDuration(v); err != nil {
				t.Errorf("STATE_CACHE_TTL %q: %v", v, err)
			}
		}
		if to+ttl >= statestore.MinSweepAge {
			t.Errorf("timeout %v + STATE_CACHE_TTL %v reaches the sweep's minimum age %v: the sweep could delete a version a writer still builds on",
				to, ttl, statestore.MinSweepAge)
		}
	}
}

// TestTemplate checks that template.yml describes the functions of s.yaml
// with the same settings, that every function runs as the template's RAM
// role, and that the role is least privilege.
func TestTemplate(t *testing.T) {
	t.Parallel()
	fns := functionDirs(t)
	s := loadSYAML(t)
	tp := loadTemplate(t)

	if v := tp.Doc["ROSTemplateFormatVersion"]; v != "2015-09-01" {
		t.Errorf("ROSTemplateFormatVersion is %#v, want \"2015-09-01\"", v)
	}
	for ref, term := range rosTerms {
		name, isVar := strings.CutPrefix(strings.Trim(ref, "${}"), "vars.")
		param := strings.Trim(term, "${}")
		if pm, ok := tp.Parameters[param]; isVar && ok && pm["Default"] != nil && fmt.Sprint(pm["Default"]) != fmt.Sprint(s.Vars[name]) {
			t.Errorf("parameter %s defaults to %v, s.yaml's vars.%s is %v", param, pm["Default"], name, s.Vars[name])
		}
	}
	if got, want := str(s.Vars, "ossEndpoint"), "https://oss-"+str(s.Vars, "region")+"-internal.aliyuncs.com"; got != want {
		t.Errorf("vars.ossEndpoint %q is not the region's internal endpoint %q, which template.yml uses", got, want)
	}

	roles := tp.ofType("ALIYUN::RAM::Role")
	if len(roles) != 1 {
		t.Fatalf("template.yml has %d RAM roles %v, want one function role", len(roles), roles)
	}
	role := roles[0]

	// Functions, by the function directory their name ends with.
	byFn := map[string]string{}
	for _, id := range tp.ofType("ALIYUN::FC3::Function") {
		name, _ := symbolic(tp.props(id)["FunctionName"])
		fn := ""
		for _, d := range fns {
			if strings.HasSuffix(name, "-"+d) && len(d) > len(fn) {
				fn = d
			}
		}
		if fn == "" {
			fn = "(" + name + ")"
		}
		if other, dup := byFn[fn]; dup {
			t.Errorf("functions %s and %s both end in -%s", other, id, fn)
		}
		byFn[fn] = id
	}
	if got := keys(byFn); strings.Join(got, ",") != strings.Join(fns, ",") {
		t.Fatalf("template.yml functions %v (by name suffix), want exactly one per function directory %v", got, fns)
	}

	bucketParam := checkRolePolicy(t, tp, role)

	for _, fn := range fns {
		id, sf := byFn[fn], s.Functions[fn]
		t.Run(fn, func(t *testing.T) {
			p := tp.props(id)
			raw, _ := sf.Raw["props"].(map[string]any)
			for _, k := range []string{"FunctionName", "Handler", "Runtime", "MemorySize", "Cpu", "Timeout", "InstanceConcurrency", "Description", "LogConfig", "EnvironmentVariables"} {
				for _, d := range diff(k, inROSTerms(raw[lowerFirst(k)]), rosValue(p[k])) {
					t.Error(d)
				}
			}
			if r, a, ok := getAtt(p["Role"]); !ok || r != role || a != "Arn" {
				t.Errorf("Role is %#v, want {Fn::GetAtt: [%s, Arn]}", p["Role"], role)
			}
			env, _ := p["EnvironmentVariables"].(map[string]any)
			if b, _ := symbolic(env["OSS_BUCKET"]); b != "${"+bucketParam+"}" {
				t.Errorf("OSS_BUCKET is %#v, want {Ref: %s}, the bucket the role may access", env["OSS_BUCKET"], bucketParam)
			}
			for name, v := range env {
				if !isSecret(name) {
					continue
				}
				ref, _ := symbolic(v)
				param := strings.TrimSuffix(strings.TrimPrefix(ref, "${"), "}")
				if pm, ok := tp.Parameters[param]; !ok || ref != "${"+param+"}" || pm["NoEcho"] != true {
					t.Errorf("secret %s is %#v, want {Ref: <parameter with NoEcho: true>}", name, v)
				}
			}
			if code, _ := p["Code"].(map[string]any); code["OssBucketName"] == nil || code["OssObjectName"] == nil {
				t.Errorf("Code is %#v, want OssBucketName and OssObjectName of the uploaded zip", p["Code"])
			}
			checkTemplateTriggers(t, tp, id, sf)
			checkTemplateAsync(t, tp, id, sf)
		})
	}
}

// checkRolePolicy checks the function role and returns the parameter naming
// the bucket it grants.
func checkRolePolicy(t *testing.T, tp *rosTemplate, role string) string {
	p := tp.props(role)
	trust := list(get(p, "AssumeRolePolicyDocument", "Statement"))
	if len(trust) != 1 || str(trust[0], "Action") != "sts:AssumeRole" ||
		len(list(get(trust[0], "Principal", "Service"))) != 1 || list(get(trust[0], "Principal", "Service"))[0] != "fc.aliyuncs.com" {
		t.Errorf("the role must be assumable by fc.aliyuncs.com only, got %#v", p["AssumeRolePolicyDocument"])
	}
	if p["PolicyAttachments"] != nil || p["ManagedPolicyArns"] != nil {
		t.Errorf("the role attaches managed policies (%#v): grant only the inline policy", p["PolicyAttachments"])
	}
	policies := list(p["Policies"])
	if len(policies) == 0 {
		t.Fatal("the role has no inline policy")
	}
	ossActions := map[string]bool{}
	var bucketParam string
	for _, pol := range policies {
		for i, st := range list(get(pol, "PolicyDocument", "Statement")) {
			where := fmt.Sprintf("policy statement %d", i)
			if str(st, "Effect") != "Allow" {
				t.Errorf("%s: Effect %q, want Allow", where, str(st, "Effect"))
			}
			if get(st, "Condition") != nil || get(st, "NotAction") != nil || get(st, "NotResource") != nil {
				t.Errorf("%s: use plain Action and Resource lists", where)
			}
			var resources []string
			for _, r := range list(get(st, "Resource")) {
				s, ok := symbolic(r)
				if !ok {
					t.Errorf("%s: resource %#v is not a string, Ref or Fn::Sub", where, r)
				}
				resources = append(resources, s)
			}
			sort.Strings(resources)
			var oss, other int
			for _, a := range list(get(st, "Action")) {
				as, _ := a.(string)
				switch {
				case allowedOSSActions[as]:
					oss++
					ossActions[as] = true
				case allowedOtherActions[as]:
					other++
				default:
					t.Errorf("%s: action %#v is not allowed (OSS: %v; other: %v)", where, a, keys(allowedOSSActions), keys(allowedOtherActions))
				}
			}
			switch {
			case oss > 0 && other > 0:
				t.Errorf("%s mixes OSS and other actions: keep one service per statement", where)
			case oss > 0:
				m := regexp.MustCompile(`^acs:oss:\*:\*:\$\{([A-Za-z0-9]+)\}$`).FindStringSubmatch(first(resources))
				if len(resources) != 2 || m == nil || resources[1] != resources[0]+"/*" {
					t.Errorf("%s: OSS resources %q, want exactly acs:oss:*:*:${<bucket parameter>} and .../*", where, resources)
					continue
				}
				if bucketParam != "" && bucketParam != m[1] {
					t.Errorf("%s: OSS access to ${%s} as well as ${%s}: one bucket only", where, m[1], bucketParam)
				}
				bucketParam = m[1]
			default:
				if len(resources) == 0 {
					t.Errorf("%s: no resources", where)
				}
				for _, r := range resources {
					if strings.Contains(r, "*") {
						t.Errorf("%s: resource %q has a wildcard: name the logstore or queue", where, r)
					}
				}
			}
		}
	}
	if got := keys(ossActions); strings.Join(got, ",") != strings.Join(keys(allowedOSSActions), ",") {
		t.Errorf("the role grants OSS actions %v, want exactly %v", got, keys(allowedOSSActions))
	}
	if _, ok := tp.Parameters[bucketParam]; !ok {
		t.Errorf("the OSS statement's bucket ${%s} is not a template parameter", bucketParam)
	}
	return bucketParam
}

func first(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return l[0]
}

// checkTemplateTriggers compares the function's triggers with s.yaml's and
// requires an output with the URL of every HTTP trigger.
func checkTemplateTriggers(t *testing.T, tp *rosTemplate, fnID string, sf *sFunction) {
	want := map[string]map[string]any{}
	for _, tr := range list(inROSTerms(get(sf.Raw, "props", "triggers"))) {
		want[str(tr, "triggerName")] = tr.(map[string]any)
	}
	got := map[string]string{}
	for _, id := range tp.ofType("ALIYUN::FC3::Trigger") {
		p := tp.props(id)
		if r, a, ok := getAtt(p["FunctionName"]); !ok || r != fnID || a != "FunctionName" {
			continue
		}
		name := str(p, "TriggerName")
		got[name] = id
		w, ok := want[name]
		if !ok {
			t.Errorf("trigger %s (%s) is not in s.yaml", name, id)
			continue
		}
		if str(p, "TriggerType") != str(w, "triggerType") {
			t.Errorf("trigger %s: TriggerType %q, s.yaml has %q", name, str(p, "TriggerType"), str(w, "triggerType"))
		}
		for _, d := range diff("trigger "+name+".triggerConfig", w["triggerConfig"], rosValue(p["TriggerConfig"])) {
			t.Error(d)
		}
		if str(p, "TriggerType") == "http" {
			var found bool
			for _, o := range tp.Outputs {
				if r, a, ok := getAtt(get(o, "Value")); ok && r == id && a == "UrlInternet" {
					found = true
				}
			}
			if !found {
				t.Errorf("trigger %s: no output with {Fn::GetAtt: [%s, UrlInternet]}", name, id)
			}
		}
	}
	if strings.Join(keys(got), ",") != strings.Join(keys(want), ",") {
		t.Errorf("template.yml triggers %v, s.yaml has %v", keys(got), keys(want))
	}
}

// checkTemplateAsync compares the asynchronous invocation configuration.
func checkTemplateAsync(t *testing.T, tp *rosTemplate, fnID string, sf *sFunction) {
	var found []string
	for _, id := range tp.ofType("ALIYUN::FC3::AsyncInvokeConfig") {
		if r, a, ok := getAtt(tp.props(id)["FunctionName"]); ok && r == fnID && a == "FunctionName" {
			found = append(found, id)
		}
	}
	want, has := sf.Raw["props"].(map[string]any)["asyncInvokeConfig"]
	want = inROSTerms(want)
	switch {
	case !has && len(found) == 0:
	case len(found) != 1 || !has:
		t.Errorf("template.yml has async invoke configs %v, s.yaml has %#v", found, want)
	default:
		p := map[string]any{}
		for k, v := range tp.props(found[0]) {
			if k != "FunctionName" {
				p[k] = v
			}
		}
		for _, d := range diff("asyncInvokeConfig", want, rosValue(p)) {
			t.Error(d)
		}
	}
}

// TestEnvironmentVariablesAreConfigured checks that every environment
// variable the deployment files set is one that shared/config documents
// (its package comment is the list of variables the functions read).
func TestEnvironmentVariablesAreConfigured(t *testing.T) {
	t.Parallel()
	known := configVariables(t)
	for _, must := range []string{"OSS_ENDPOINT", "OSS_BUCKET", "STATE_PREFIX", "VOD_CALLBACK_KEYS", "IMS_CALLBACK_URL"} {
		if !known[must] {
			t.Fatalf("parsed %v from shared/config's package comment, which lacks %s: the parser or the comment changed", keys(known), must)
		}
	}
	for _, name := range credentialVars {
		if known[name] {
			t.Fatalf("%s was parsed as a configuration variable: the parser reads past the Variables block", name)
		}
	}
	s := loadSYAML(t)
	for _, fn := range keys(s.Functions) {
		env, _ := s.Functions[fn].Props["environmentVariables"].(map[string]any)
		for name := range env {
			if !known[name] {
				t.Errorf("s.yaml %s sets %s, which shared/config does not read", fn, name)
			}
		}
	}
	tp := loadTemplate(t)
	for _, id := range tp.ofType("ALIYUN::FC3::Function") {
		env, _ := tp.props(id)["EnvironmentVariables"].(map[string]any)
		for name := range env {
			if !known[name] {
				t.Errorf("template.yml %s sets %s, which shared/config does not read", id, name)
			}
		}
	}
}

// configVariables parses the variable names from the "Variables" block of
// shared/config's package comment.
func configVariables(t testing.TB) map[string]bool {
	t.Helper()
	path := filepath.Join(repoRoot(t), "shared", "config", "config.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly|parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	if f.Doc == nil {
		t.Fatalf("%s has no package comment", path)
	}
	lines := strings.Split(f.Doc.Text(), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "Variables") {
			start = i + 1
			break
		}
	}
	if start < 0 {
		t.Fatalf("%s: no \"Variables\" paragraph in the package comment", path)
	}
	// The block is the tab-indented lines after "Variables"; every
	// upper-case name with an underscore in it is a variable, and so is
	// GOMEMLIMIT (read by the Go runtime).
	name := regexp.MustCompile(`\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\bGOMEMLIMIT\b`)
	known := map[string]bool{}
	inBlock := false
	for _, l := range lines[start:] {
		if strings.HasPrefix(l, "\t") {
			inBlock = true
			for _, n := range name.FindAllString(l, -1) {
				known[n] = true
			}
			continue
		}
		if inBlock {
			break
		}
	}
	return known
}

// TestBuildCommand runs s.yaml's build command for one function, with the
// output redirected to a temporary directory, and checks that it produces
// what runtime go1 runs: a statically linked x86-64 ELF executable named as
// the handler.
func TestBuildCommand(t *testing.T) {
	t.Parallel()
	s := loadSYAML(t)
	fn := functionDirs(t)[0]
	f := s.Functions[fn]
	if f == nil {
		t.Fatalf("s.yaml has no resource %s", fn)
	}
	checkBuildAction(t, s, fn, f)
	out := filepath.Join(t.TempDir(), "main")
	cmd := exec.CommandContext(t.Context(), "go", buildArgs(fn, out)...)
	cmd.Dir = repoRoot(t)
	cmd.Env = append(os.Environ(), buildEnv...)
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built functions/%s in %v: %s, %.1f MiB", fn, time.Since(start).Round(time.Millisecond), filepath.Base(out), float64(st.Size())/(1<<20))

	e, err := elf.Open(out)
	if err != nil {
		t.Fatalf("the build output is not an ELF file: %v", err)
	}
	defer e.Close()
	if e.Class != elf.ELFCLASS64 || e.Machine != elf.EM_X86_64 {
		t.Errorf("ELF class %v machine %v, want ELFCLASS64 EM_X86_64", e.Class, e.Machine)
	}
	if e.Type != elf.ET_EXEC {
		t.Errorf("ELF type %v, want ET_EXEC (a static, non-PIE executable)", e.Type)
	}
	for _, prog := range e.Progs {
		if prog.Type == elf.PT_INTERP || prog.Type == elf.PT_DYNAMIC {
			t.Errorf("program header %v: the binary is dynamically linked", prog.Type)
		}
	}
	if libs, err := e.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("imported libraries %v (%v), want none", libs, err)
	}
	if e.Section(".symtab") != nil {
		t.Error("the binary has a symbol table: -ldflags \"-s -w\" did not apply")
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("the binary is not executable (mode %v)", st.Mode())
	}
}
