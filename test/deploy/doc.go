// Package deploy holds the tests of the deployment descriptions at the
// repository root: s.yaml (Serverless Devs 3, component fc3) and
// template.yml (Resource Orchestration Service). They check that both
// describe exactly the function directories under functions/, that s.yaml
// decodes into a strict typed model of the fc3 properties it uses (derived
// from the fc3 component's JSON Schema; unknown properties are refused),
// that the two files agree on
// sizes, triggers and environment variables, that the RAM role is least
// privilege, and that the build command produces a static linux/amd64
// binary.
package deploy
