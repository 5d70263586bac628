// Package static embeds the stylesheets, scripts and images served under /static/.
package static

import "embed"

// FS holds css/, js/, vendor/ (browser libraries pinned in package.json) and the favicon.
//
//go:embed css js vendor favicon.svg
var FS embed.FS
