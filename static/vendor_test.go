package static

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"
)

// The embedded Chart.js and Redoc are the versions package.json pins (make update-vendor
// copies them), each with its licence.
func TestVendoredLibrariesMatchThePins(t *testing.T) {
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
	for _, lib := range []struct{ name, file, header, licence string }{
		{"chart.js", "vendor/chartjs/chart.umd.min.js", "Chart.js v%s\n", "vendor/chartjs/LICENSE.md"},
		{"redoc", "vendor/redoc/redoc.standalone.js", "Version: %s\n", "vendor/redoc/LICENSE"},
	} {
		want := pkg.Dependencies[lib.name]
		if want == "" || strings.ContainsAny(want, "^~<>*") {
			t.Fatalf("package.json must pin an exact %s version, has %q", lib.name, want)
		}
		js, err := fs.ReadFile(FS, lib.file)
		if err != nil {
			t.Fatal(err)
		}
		if head := string(js[:min(300, len(js))]); !strings.Contains(head, fmt.Sprintf(lib.header, want)) {
			t.Fatalf("vendored %s is not %s: %q", lib.name, want, head)
		}
		if _, err := fs.ReadFile(FS, lib.licence); err != nil {
			t.Fatal("the licence must ship with the library: ", err)
		}
	}
}
