// Package typescript checks the TypeScript client in client/typescript: its
// generated types match api/openapi.json, Redocly finds no error in the
// spec, and the compiled client goes through a whole transaction
// verification against a local stack (internal/devstack). The Node tools
// come from `make ts-deps` (.dev/ts); without them, or without node, the
// tests skip unless VERIFLOW_REQUIRE_NODE=1.
package typescript
