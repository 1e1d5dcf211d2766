package deploy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// This file is a strict, typed model of the fc3 component's props, limited
// to the properties this project uses. It was derived by hand from the fc3
// component's JSON Schema (devsapp/fc3, src/schema.json): property names,
// types, enums, ranges and required properties are the schema's. It is
// stricter than the schema and than `s verify` in three ways: an unknown
// property anywhere is refused (the schema allows them and the component
// silently ignores them, so a misspelt key would deploy without effect), a
// triggerConfig must match the definition of its triggerType (the schema's
// anyOf accepts any object), and the open objects of an EventBridge trigger
// (eventSourceParameters, deliveryOption, runOptions) are modelled with the
// fields FC documents for an MNS queue source.

// fc3Regions is the schema's IRegion enum.
var fc3Regions = []string{
	"ap-northeast-1", "ap-northeast-2", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-5", "ap-southeast-7", "cn-beijing", "cn-chengdu", "cn-hangzhou", "cn-heyuan-acdr-1",
	"cn-hongkong", "cn-huhehaote", "cn-qingdao", "cn-shanghai", "cn-shanghai-cloudspe", "cn-shanghai-finance-1",
	"cn-shenzhen", "cn-wulanchabu", "cn-zhangjiakou", "eu-central-1", "eu-west-1", "me-central-1",
	"us-east-1", "us-west-1",
}

// fc3Runtimes is the schema's IRuntime enum.
var fc3Runtimes = []string{
	"custom", "custom-container", "micro-sandbox", "custom.debian10", "custom.debian11", "custom.debian12",
	"dotnetcore2.1", "dotnetcore3.1", "go1", "java11", "java8", "nodejs10", "nodejs12", "nodejs14",
	"nodejs16", "nodejs18", "nodejs20", "nodejs8", "php7.2", "python2.7", "python3", "python3.10",
	"python3.12", "python3.9",
}

// fc3TriggerTypes is the schema's ITriggerType enum.
var fc3TriggerTypes = []string{"cdn_events", "eventbridge", "http", "log", "mns_topic", "oss", "tablestore", "timer"}

// fc3HTTPMethods is the enum of IHttpTriggerConfig.methods items.
var fc3HTTPMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// fc3Props is a function resource's props. Pointers mark properties whose
// absence must be told from a zero value.
type fc3Props struct {
	Region               string             `json:"region"`
	FunctionName         string             `json:"functionName"`
	Description          string             `json:"description"`
	Runtime              string             `json:"runtime"`
	Code                 string             `json:"code"` // ICodeUri's string form: a local directory
	Handler              string             `json:"handler"`
	MemorySize           *int               `json:"memorySize"`
	CPU                  *float64           `json:"cpu"`
	Timeout              *int               `json:"timeout"`
	InstanceConcurrency  *int               `json:"instanceConcurrency"`
	Role                 string             `json:"role"`
	LogConfig            *fc3LogConfig      `json:"logConfig"`
	EnvironmentVariables map[string]string  `json:"environmentVariables"`
	AsyncInvokeConfig    *fc3AsyncInvoke    `json:"asyncInvokeConfig"`
	Triggers             []fc3TriggerHeader `json:"triggers"`
}

// fc3LogConfig is ILogConfig.
type fc3LogConfig struct {
	Project               string `json:"project"`
	Logstore              string `json:"logstore"`
	EnableRequestMetrics  *bool  `json:"enableRequestMetrics"`
	EnableInstanceMetrics *bool  `json:"enableInstanceMetrics"`
	LogBeginRule          string `json:"logBeginRule"`
}

// fc3AsyncInvoke is IAsyncInvokeConfig.
type fc3AsyncInvoke struct {
	MaxAsyncEventAgeInSeconds *float64 `json:"maxAsyncEventAgeInSeconds"`
	MaxAsyncRetryAttempts     *float64 `json:"maxAsyncRetryAttempts"`
	DestinationConfig         *struct {
		OnFailure *fc3Destination `json:"onFailure"`
		OnSuccess *fc3Destination `json:"onSuccess"`
	} `json:"destinationConfig"`
}

// fc3Destination is IDestination.
type fc3Destination struct {
	Destination string `json:"destination"`
}

// fc3TriggerHeader is ITrigger with its triggerConfig kept raw: which
// definition applies depends on triggerType.
type fc3TriggerHeader struct {
	TriggerName   string          `json:"triggerName"`
	TriggerType   string          `json:"triggerType"`
	Description   string          `json:"description"`
	TriggerConfig json.RawMessage `json:"triggerConfig"`
}

// fc3HTTPTrigger is IHttpTriggerConfig without authConfig (jwt settings,
// which this project does not use, so an authConfig is refused).
type fc3HTTPTrigger struct {
	AuthType           string   `json:"authType"`
	Methods            []string `json:"methods"`
	DisableURLInternet *bool    `json:"disableURLInternet"`
}

// fc3TimerTrigger is ITimerTriggerConfig.
type fc3TimerTrigger struct {
	CronExpression string `json:"cronExpression"`
	Enable         *bool  `json:"enable"`
	Payload        string `json:"payload"`
}

// fc3EventBridgeTrigger is IEventBridge with an MNS queue source.
type fc3EventBridgeTrigger struct {
	TriggerEnable          *bool   `json:"triggerEnable"`
	AsyncInvocationType    *bool   `json:"asyncInvocationType"`
	EventRuleFilterPattern *string `json:"eventRuleFilterPattern"`
	EventSourceConfig      *struct {
		EventSourceType       string `json:"eventSourceType"`
		EventSourceParameters *struct {
			SourceMNSParameters *struct {
				QueueName      string `json:"QueueName"`
				IsBase64Decode *bool  `json:"IsBase64Decode"`
			} `json:"sourceMNSParameters"`
		} `json:"eventSourceParameters"`
	} `json:"eventSourceConfig"`
	EventSinkConfig *struct {
		DeliveryOption *struct {
			Mode        string `json:"mode"`
			EventSchema string `json:"eventSchema"`
		} `json:"deliveryOption"`
	} `json:"eventSinkConfig"`
	RunOptions *struct {
		Mode        string `json:"mode"`
		BatchWindow *struct {
			CountBasedWindow int `json:"CountBasedWindow"`
			TimeBasedWindow  int `json:"TimeBasedWindow"`
		} `json:"batchWindow"`
		RetryStrategy *struct {
			PushRetryStrategy string `json:"PushRetryStrategy"`
		} `json:"retryStrategy"`
		ErrorsTolerance string `json:"errorsTolerance"`
		DeadLetterQueue *struct {
			Arn string `json:"Arn"`
		} `json:"deadLetterQueue"`
	} `json:"runOptions"`
}

// decodeStrict decodes a YAML-decoded value (maps with string keys,
// slices, scalars) into out: every map key must be a property of the model
// exactly as spelt (encoding/json alone would match keys case-insensitively),
// and every value must have the model's type (an integer property refuses
// 1.5 and "1", a boolean refuses "true").
func decodeStrict(v any, out any) error {
	if err := checkKeys(v, reflect.TypeOf(out), ""); err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("not representable as JSON: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	return d.Decode(out)
}

// checkKeys walks v alongside the Go type t and refuses map keys that are
// not, with exactly that spelling, the json name of a field.
func checkKeys(v any, t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage(nil)) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			return nil // the JSON decoder reports the type mismatch
		}
		fields := map[string]reflect.Type{}
		for i := range t.NumField() {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		for k, e := range m {
			ft, ok := fields[k]
			if !ok {
				return fmt.Errorf("%s%s is not a property here (known: %s)", path, k, strings.Join(keys(fields), ", "))
			}
			if err := checkKeys(e, ft, path+k+"."); err != nil {
				return err
			}
		}
	case reflect.Map:
		m, _ := v.(map[string]any)
		for k, e := range m {
			if err := checkKeys(e, t.Elem(), path+k+"."); err != nil {
				return err
			}
		}
	case reflect.Slice:
		l, _ := v.([]any)
		for i, e := range l {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d].", strings.TrimSuffix(path, "."), i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// decodeFC3Props decodes a resource's props (with ${vars.x} resolved) into
// the typed model and checks the schema's required properties, enums and
// ranges. Every problem is reported.
func decodeFC3Props(props map[string]any) (*fc3Props, error) {
	var p fc3Props
	if err := decodeStrict(props, &p); err != nil {
		return nil, err
	}
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	for name, v := range map[string]string{"region": p.Region, "functionName": p.FunctionName, "runtime": p.Runtime, "code": p.Code, "handler": p.Handler} {
		if v == "" {
			bad("%s is required", name)
		}
	}
	if p.Region != "" && !slices.Contains(fc3Regions, p.Region) {
		bad("region %q is not an fc3 region", p.Region)
	}
	if p.Runtime != "" && !slices.Contains(fc3Runtimes, p.Runtime) {
		bad("runtime %q is not an fc3 runtime", p.Runtime)
	}
	intRange(bad, "memorySize", p.MemorySize, 128, 32768)
	if p.MemorySize != nil && *p.MemorySize%64 != 0 {
		bad("memorySize %d is not a multiple of 64", *p.MemorySize)
	}
	if p.CPU != nil && (*p.CPU < 0.05 || *p.CPU > 16 || math.IsNaN(*p.CPU)) {
		bad("cpu %v is outside 0.05..16", *p.CPU)
	}
	intRange(bad, "timeout", p.Timeout, 1, 86400)
	intRange(bad, "instanceConcurrency", p.InstanceConcurrency, 1, 200)
	if l := p.LogConfig; l != nil {
		if l.Project == "" || l.Logstore == "" {
			bad("logConfig needs project and logstore")
		}
		if l.LogBeginRule != "" && l.LogBeginRule != "DefaultRegex" && l.LogBeginRule != "None" {
			bad("logConfig.logBeginRule %q is not DefaultRegex or None", l.LogBeginRule)
		}
	}
	if a := p.AsyncInvokeConfig; a != nil {
		if v := a.MaxAsyncEventAgeInSeconds; v != nil && (*v < 1 || *v > 2592000) {
			bad("asyncInvokeConfig.maxAsyncEventAgeInSeconds %v is outside 1..2592000", *v)
		}
		if v := a.MaxAsyncRetryAttempts; v != nil && (*v < 0 || *v > 8) {
			bad("asyncInvokeConfig.maxAsyncRetryAttempts %v is outside 0..8", *v)
		}
	}
	for i, tr := range p.Triggers {
		if err := checkFC3Trigger(tr); err != nil {
			bad("triggers[%d] (%s): %w", i, tr.TriggerName, err)
		}
	}
	return &p, errors.Join(errs...)
}

func intRange(bad func(string, ...any), name string, v *int, lo, hi int) {
	if v != nil && (*v < lo || *v > hi) {
		bad("%s %d is outside %d..%d", name, *v, lo, hi)
	}
}

// checkFC3Trigger checks one trigger's required properties and decodes its
// triggerConfig strictly by the definition of its type.
func checkFC3Trigger(tr fc3TriggerHeader) error {
	if tr.TriggerName == "" {
		return errors.New("triggerName is required")
	}
	if !slices.Contains(fc3TriggerTypes, tr.TriggerType) {
		return fmt.Errorf("triggerType %q is not an fc3 trigger type", tr.TriggerType)
	}
	var raw map[string]any
	if err := json.Unmarshal(tr.TriggerConfig, &raw); err != nil || raw == nil {
		return errors.New("triggerConfig is required and must be a map")
	}
	switch tr.TriggerType {
	case "http":
		var c fc3HTTPTrigger
		if err := decodeStrict(raw, &c); err != nil {
			return fmt.Errorf("triggerConfig (IHttpTriggerConfig): %w", err)
		}
		if !slices.Contains([]string{"anonymous", "function", "jwt"}, c.AuthType) {
			return fmt.Errorf("triggerConfig.authType %q is not anonymous, function or jwt", c.AuthType)
		}
		if c.Methods == nil {
			return errors.New("triggerConfig.methods is required")
		}
		for _, m := range c.Methods {
			if !slices.Contains(fc3HTTPMethods, m) {
				return fmt.Errorf("triggerConfig.methods: %q is not one of %s", m, strings.Join(fc3HTTPMethods, ", "))
			}
		}
	case "timer":
		var c fc3TimerTrigger
		if err := decodeStrict(raw, &c); err != nil {
			return fmt.Errorf("triggerConfig (ITimerTriggerConfig): %w", err)
		}
		if c.CronExpression == "" || c.Enable == nil {
			return errors.New("triggerConfig needs cronExpression and enable")
		}
	case "eventbridge":
		var c fc3EventBridgeTrigger
		if err := decodeStrict(raw, &c); err != nil {
			return fmt.Errorf("triggerConfig (IEventBridge): %w", err)
		}
		switch {
		case c.TriggerEnable == nil, c.AsyncInvocationType == nil, c.EventRuleFilterPattern == nil,
			c.EventSourceConfig == nil, c.EventSinkConfig == nil, c.RunOptions == nil:
			return errors.New("triggerConfig needs triggerEnable, asyncInvocationType, eventRuleFilterPattern, eventSourceConfig, eventSinkConfig and runOptions")
		case c.EventSourceConfig.EventSourceType == "" || c.EventSourceConfig.EventSourceParameters == nil:
			return errors.New("triggerConfig.eventSourceConfig needs eventSourceType and eventSourceParameters")
		case c.EventSinkConfig.DeliveryOption == nil:
			return errors.New("triggerConfig.eventSinkConfig needs deliveryOption")
		}
	default:
		return fmt.Errorf("trigger type %q is not modelled: this project uses http, eventbridge and timer triggers", tr.TriggerType)
	}
	return nil
}

// TestFC3ModelRefuses checks that the model refuses what the fc3 component
// would ignore or reject: each case changes one thing in a real resource's
// props and must fail with a message naming it.
func TestFC3ModelRefuses(t *testing.T) {
	t.Parallel()
	s := loadSYAML(t)
	base := func(fn string) map[string]any {
		c, err := resolveVars(s.Functions[fn].Props, s.Vars) // a deep copy
		if err != nil {
			t.Fatal(err)
		}
		return c.(map[string]any)
	}
	trigger := func(p map[string]any, typ string) map[string]any {
		for _, tr := range list(p["triggers"]) {
			if str(tr, "triggerType") == typ {
				return tr.(map[string]any)
			}
		}
		t.Fatalf("no %s trigger", typ)
		return nil
	}
	cfg := func(p map[string]any, typ string) map[string]any {
		return trigger(p, typ)["triggerConfig"].(map[string]any)
	}
	cases := []struct {
		name, fn, want string
		change         func(p map[string]any)
	}{
		{"misspelt property", "upload", "memorysize", func(p map[string]any) { p["memorysize"] = 256 }},
		{"memory as a string", "upload", "memorySize", func(p map[string]any) { p["memorySize"] = "256" }},
		{"memory not a multiple of 64", "upload", "multiple of 64", func(p map[string]any) { p["memorySize"] = 200 }},
		{"cpu too large", "upload", "cpu", func(p map[string]any) { p["cpu"] = 20.0 }},
		{"timeout as a float", "upload", "timeout", func(p map[string]any) { p["timeout"] = 1.5 }},
		{"unknown runtime", "upload", "go2", func(p map[string]any) { p["runtime"] = "go2" }},
		{"unknown region", "upload", "cn-local", func(p map[string]any) { p["region"] = "cn-local" }},
		{"missing handler", "upload", "handler", func(p map[string]any) { delete(p, "handler") }},
		{"log config without logstore", "upload", "logstore", func(p map[string]any) {
			p["logConfig"] = map[string]any{"project": "x"}
		}},
		{"environment value as a map", "upload", "environmentVariables", func(p map[string]any) {
			p["environmentVariables"].(map[string]any)["X"] = map[string]any{"a": "b"}
		}},
		{"retry attempts out of range", "upload", "maxAsyncRetryAttempts", func(p map[string]any) {
			p["asyncInvokeConfig"].(map[string]any)["maxAsyncRetryAttempts"] = 9
		}},
		{"unknown trigger property", "upload", "triggername", func(p map[string]any) { trigger(p, "http")["triggername"] = "x" }},
		{"unknown trigger type", "upload", "mns_queue", func(p map[string]any) { trigger(p, "http")["triggerType"] = "mns_queue" }},
		{"http auth type", "upload", "authType", func(p map[string]any) { cfg(p, "http")["authType"] = "none" }},
		{"http method", "upload", "FETCH", func(p map[string]any) { cfg(p, "http")["methods"] = []any{"FETCH"} }},
		{"misspelt http property", "upload", "authtype", func(p map[string]any) { cfg(p, "http")["authtype"] = "anonymous" }},
		{"eventbridge without runOptions", "upload", "runOptions", func(p map[string]any) { delete(cfg(p, "eventbridge"), "runOptions") }},
		{"misspelt MNS parameter", "upload", "queueName", func(p map[string]any) {
			get(cfg(p, "eventbridge"), "eventSourceConfig", "eventSourceParameters", "sourceMNSParameters").(map[string]any)["queueName"] = "q"
		}},
		{"batch window as a string", "upload", "CountBasedWindow", func(p map[string]any) {
			get(cfg(p, "eventbridge"), "runOptions", "batchWindow").(map[string]any)["CountBasedWindow"] = "10"
		}},
		{"timer without enable", "sweep", "enable", func(p map[string]any) { delete(cfg(p, "timer"), "enable") }},
		{"timer enable as a string", "sweep", "enable", func(p map[string]any) { cfg(p, "timer")["enable"] = "true" }},
	}
	for _, fn := range []string{"upload", "sweep"} {
		if _, err := decodeFC3Props(base(fn)); err != nil {
			t.Fatalf("%s as written: %v", fn, err)
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := base(c.fn)
			c.change(p)
			_, err := decodeFC3Props(p)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one naming %q", err, c.want)
			}
		})
	}
}
