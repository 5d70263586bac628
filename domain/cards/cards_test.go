package cards

import (
	"slices"
	"strings"
	"testing"
)

func TestCatalogAndCheck(t *testing.T) {
	cat := Catalog(People, []string{"Product interest"}, []string{"plan"})
	for _, k := range []string{"score", "owner", "status", "score:Product interest", "custom:plan"} {
		if !slices.ContainsFunc(cat, func(f Field) bool { return f.Key == k }) {
			t.Fatalf("catalog lacks %s", k)
		}
	}
	if slices.ContainsFunc(Catalog(Companies, []string{"X"}, []string{"plan"}), func(f Field) bool { return strings.HasPrefix(f.Key, "custom:") }) {
		t.Fatal("companies offer custom attributes of people")
	}
	for _, o := range Objects {
		if err := Check(o, Default(o), Catalog(o, nil, nil)); err != nil {
			t.Fatalf("default of %s: %v", o, err)
		}
	}
	for _, c := range []struct {
		keys []string
		want string
	}{
		{[]string{"score", "score"}, "twice"},
		{[]string{"custom:nope"}, "not a field"},
		{slices.Repeat([]string{"x"}, MaxFields+1), "at most"},
	} {
		if err := Check(People, c.keys, cat); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.keys, err, c.want)
		}
	}
	if err := Check("nonsense", nil, cat); err == nil {
		t.Fatal("an unknown card passed")
	}
}

func TestMoveAndVisible(t *testing.T) {
	keys := []string{"a", "b", "c"}
	if got := Move(keys, 2, -1); !slices.Equal(got, []string{"a", "c", "b"}) || !slices.Equal(keys, []string{"a", "b", "c"}) {
		t.Fatalf("move up: %v (input %v)", got, keys)
	}
	if got := Move(keys, 0, -1); !slices.Equal(got, keys) {
		t.Fatalf("the first moved up: %v", got)
	}
	if got := Move(keys, 2, 1); !slices.Equal(got, keys) {
		t.Fatalf("the last moved down: %v", got)
	}
	cat := []Field{{"a", "A"}, {"c", "C"}}
	if got := Visible(keys, cat); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("visible: %v", got)
	}
	if Label(cat, "score:Gone") != "Gone" || Label(cat, "c") != "C" {
		t.Fatal("labels")
	}
}
