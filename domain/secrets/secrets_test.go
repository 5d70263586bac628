package secrets

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	key, _ := NewKey()
	box, err := NewBox(key)
	if err != nil {
		t.Fatal(err)
	}
	ct, err := box.Seal([]byte("braze-key-123"), "ws:1:braze")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, []byte("braze-key-123")) {
		t.Fatal("plaintext visible in ciphertext")
	}
	pt, err := box.Open(ct, "ws:1:braze")
	if err != nil || string(pt) != "braze-key-123" {
		t.Fatalf("open = %q, %v", pt, err)
	}
	if _, err := box.Open(ct, "ws:2:braze"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("other context: %v", err)
	}
	ct[len(ct)-1] ^= 1
	if _, err := box.Open(ct, "ws:1:braze"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("tampered: %v", err)
	}
	otherKey, _ := NewKey()
	other, _ := NewBox(otherKey)
	ct2, _ := box.Seal([]byte("x"), "c")
	if _, err := other.Open(ct2, "c"); !errors.Is(err, ErrDecrypt) {
		t.Fatalf("other key: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	hexKey := strings.Repeat("ab", 32)
	if k, err := ParseKey(hexKey); err != nil || len(k) != 32 {
		t.Fatalf("hex: %v", err)
	}
	if k, err := ParseKey("q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s="); err != nil || len(k) != 32 {
		t.Fatalf("base64: %v", err)
	}
	for _, bad := range []string{"", "short", strings.Repeat("ab", 31)} {
		if _, err := ParseKey(bad); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if _, err := NewBox(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
}
