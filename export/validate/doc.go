// Package validate checks the output of cinit export against the
// platforms' own parsers, offline: Kubernetes documents are decoded
// strictly into the k8s.io/api types and their names checked with
// apimachinery's validators, the Compose file is loaded with compose-go
// (which validates it against the Compose schema), and the systemd units
// go through systemd-analyze verify. Each test also reads back the
// commands, environment values and probe commands from the parsed objects
// and compares them with what cinit meant, byte for byte.
//
// It is a module of its own so that none of these libraries reaches
// cinit's go.mod or binary; TestBinaryHasNoValidationModules checks that.
// The tests run the real cinit binary, built from the module two
// directories up.
package validate
