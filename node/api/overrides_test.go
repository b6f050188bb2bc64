package api_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/meganode/meganode/node/api"
)

// TestCallOverridesBounded: a call's overrides past MaxOverrides are
// refused undecoded, ones at the bound pass, and empty ones decode as nil.
func TestCallOverridesBounded(t *testing.T) {
	c := &api.Call{Method: api.MethodCall, Overrides: bytes.Repeat([]byte{'x'}, api.MaxOverrides+1)}
	if _, err := api.DecodeCall(c.Encode()); !errors.Is(err, api.ErrBadCall) {
		t.Fatalf("overrides of %d bytes: err %v, want ErrBadCall", len(c.Overrides), err)
	}
	c.Overrides = c.Overrides[:api.MaxOverrides]
	got, err := api.DecodeCall(c.Encode())
	if err != nil || !bytes.Equal(got.Overrides, c.Overrides) {
		t.Fatalf("overrides at the bound: err %v, %d bytes back", err, len(got.Overrides))
	}
	c.Overrides = []byte{}
	if got, err = api.DecodeCall(c.Encode()); err != nil || got.Overrides != nil {
		t.Fatalf("empty overrides: err %v, got %q, want nil", err, got.Overrides)
	}
}
