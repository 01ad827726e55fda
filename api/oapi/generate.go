// Package oapi holds the types and the Echo server interface generated from openapi.yaml,
// and an embedded copy of that document for request and response validation.
package oapi

import _ "embed"

//go:generate go tool oapi-codegen -config config.yaml ../../openapi.yaml
//go:generate cp ../../openapi.yaml openapi.yaml

// Spec is openapi.yaml as committed; a test keeps it equal to the file at the top.
//
//go:embed openapi.yaml
var Spec []byte
