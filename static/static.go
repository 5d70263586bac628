// Package static embeds the stylesheets, scripts and images served under /static/.
package static

import "embed"

// FS holds css/, js/ and the favicon.
//
//go:embed css js favicon.svg
var FS embed.FS
