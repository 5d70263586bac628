package jsonsafe

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestValidateAgreesWithEncodingJSON(t *testing.T) {
	for _, doc := range []string{
		`{}`, `[]`, `""`, `0`, `-0.5e+10`, `true`, `null`, ` {"a":[1,2,{"b":null}],"c":"\u00e9\n"} `,
		`{"a":1,}`, `[1,]`, `{"a"}`, `{"a":}`, `[`, `]`, `{"a":1}}`, `01`, `1.`, `-`, `1e`, `"\x"`, "\"a\tb\"",
		`"\u12"`, `{"events":[`, `[1 2]`, `{"a":1 "b":2}`, `nul`, `truex`, ``, ` `, `[1]x`, `{"a":[}]}`, `[{]`,
	} {
		err := Validate([]byte(doc), 0)
		if (err == nil) != json.Valid([]byte(doc)) {
			t.Errorf("%q: Validate %v, json.Valid %v", doc, err, json.Valid([]byte(doc)))
		}
	}
}

func TestDepthIsBoundedWithoutRecursion(t *testing.T) {
	deep := func(n int) []byte {
		return []byte(`{"events":[` + strings.Repeat("[", n) + strings.Repeat("]", n) + `]}`)
	}
	if d, err := Depth(deep(10)); err != nil || d != 12 {
		t.Fatalf("depth %d %v", d, err)
	}
	if err := Validate(deep(62), MaxDepth); err != nil {
		t.Fatalf("64 levels refused: %v", err)
	}
	if err := Validate(deep(63), MaxDepth); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("65 levels: %v", err)
	}
	// Ten million open brackets (the body that used to end the process): refused, no crash.
	bomb := []byte(`{"events":[` + strings.Repeat("[", 10_000_000))
	var se *SyntaxError
	if err := Validate(bomb, 0); !errors.As(err, &se) {
		t.Fatalf("bomb: %v", err)
	}
	if err := Validate(bomb, MaxDepth); !errors.Is(err, ErrTooDeep) {
		t.Fatalf("bomb with a limit: %v", err)
	}
	// Closed, it is valid JSON of that depth.
	if d, err := Depth(deep(1_000_000)); err != nil || d != 1_000_002 {
		t.Fatalf("a million levels: %d %v", d, err)
	}
}

func TestCleanMakesStringsStorable(t *testing.T) {
	cases := map[string]string{
		`{"a":"x\u0000y"}`:                `{"a":"x\ufffdy"}`,
		`{"a":"\ud800"}`:                  `{"a":"\ufffd"}`,
		`{"a":"\udc00x"}`:                 `{"a":"\ufffdx"}`,
		`{"a":"\ud83d\ude00"}`:            `{"a":"\ud83d\ude00"}`, // a real pair stays
		`{"a":"\ud83d\u0041"}`:            `{"a":"\ufffd\u0041"}`,
		`{"a":"\\u0000"}`:                 `{"a":"\\u0000"}`, // an escaped backslash, then text
		"{\"a\":\"caf\xe9\"}":             "{\"a\":\"caf\uFFFD\"}",
		`{"\u0000key":1}`:                 `{"\ufffdkey":1}`,
		`{"plain":"nothing to do","n":1}`: `{"plain":"nothing to do","n":1}`,
		`{"big":1e4000,"ok":1e400,"neg":-2.5E-1001,"s":"1e99999"}`: `{"big":"1e4000","ok":1e400,"neg":"-2.5E-1001","s":"1e99999"}`,
		`[` + strings.Repeat("9", 1001) + `]`:                      `["` + strings.Repeat("9", 1001) + `"]`,
	}
	for in, want := range cases {
		got := string(Clean([]byte(in)))
		if got != want {
			t.Errorf("%s\n got %s\nwant %s", in, got, want)
		}
		if !json.Valid([]byte(got)) || !utf8.ValidString(got) {
			t.Errorf("%s: cleaned is not valid: %s", in, got)
		}
	}
	plain := []byte(`{"a":"b"}`)
	if &Clean(plain)[0] != &plain[0] {
		t.Error("a clean document was copied")
	}
	if s := String("a\x00b\xffc"); s != "a\uFFFDb\uFFFDc" {
		t.Errorf("String: %q", s)
	}
}

// FuzzValidate: Validate agrees with encoding/json, and Clean keeps valid documents valid and
// leaves no NUL in any decoded string.
func FuzzValidate(f *testing.F) {
	for _, seed := range []string{`{"events":[{"id":"a\u0000","p":{"x":"\ud800"}}]}`, `[[[[]]]]`, `{"a":1.5e3}`, "\"\xff\"", `"\\u0000"`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		err := Validate(doc, 0)
		if (err == nil) != json.Valid(doc) {
			t.Fatalf("%q: Validate %v, json.Valid %v", doc, err, json.Valid(doc))
		}
		if err != nil {
			return
		}
		clean := Clean(doc)
		if Validate(clean, 0) != nil || !utf8.Valid(clean) {
			t.Fatalf("Clean(%q) = %q is not valid", doc, clean)
		}
		var v any
		if json.Unmarshal(clean, &v) == nil && strings.Contains(dump(v), "\x00") {
			t.Fatalf("Clean(%q) still decodes to a NUL", doc)
		}
		if hasHugeNumber(clean) {
			t.Fatalf("Clean(%q) = %q keeps a number PostgreSQL cannot store", doc, clean)
		}
	})
}

func dump(v any) string {
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case string:
			b.WriteString(x)
		case map[string]any:
			for k, e := range x {
				b.WriteString(k)
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return b.String()
}
