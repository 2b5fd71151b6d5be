package api

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"

	"github.com/gin-gonic/gin"
)

// openAPISpec is the OpenAPI 3.1 description of every route New serves.
// openapi_test.go keeps it in step with the router and the handlers.
//
//go:embed openapi.json
var openAPISpec []byte

// openAPIETag is the strong validator of openAPISpec.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPISpec)
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}()

// serveOpenAPI serves GET /openapi.json. Unlike the API's answers the
// document is public and cacheable (it changes only with a release).
func serveOpenAPI(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "public, max-age=300")
	h.Set("ETag", openAPIETag)
	if c.GetHeader("If-None-Match") == openAPIETag {
		c.Status(http.StatusNotModified)
		return
	}
	c.Data(http.StatusOK, "application/json", openAPISpec)
}
