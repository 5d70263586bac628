package static

import (
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// The embedded Chart.js is the version package.json pins (make update-vendor copies it).
func TestVendoredChartJSMatchesThePin(t *testing.T) {
	raw, err := os.ReadFile("../package.json")
	if err != nil {
		t.Fatal(err)
	}
	var pkg struct {
		Dependencies map[string]string `json:"dependencies"`
	}
	if err := json.Unmarshal(raw, &pkg); err != nil {
		t.Fatal(err)
	}
	want := pkg.Dependencies["chart.js"]
	if want == "" || strings.ContainsAny(want, "^~<>*") {
		t.Fatalf("package.json must pin an exact chart.js version, has %q", want)
	}
	js, err := fs.ReadFile(FS, "vendor/chartjs/chart.umd.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if head := string(js[:min(200, len(js))]); !strings.Contains(head, "Chart.js v"+want+"\n") {
		t.Fatalf("vendored Chart.js is not %s: %q", want, head)
	}
	if _, err := fs.ReadFile(FS, "vendor/chartjs/LICENSE.md"); err != nil {
		t.Fatal("the licence must ship with the library: ", err)
	}
}
