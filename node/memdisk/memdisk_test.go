package memdisk

import (
	"errors"
	"fmt"
	"testing"

	"github.com/meganode/meganode/node"
)

func TestBatchIsAtomicAndOrdered(t *testing.T) {
	d := New()
	b := d.NewBatch()
	b.Set([]byte("a/2"), []byte("two"))
	b.Set([]byte("a/1"), []byte("one"))
	b.Set([]byte("b/1"), []byte("other"))
	if _, err := d.Get([]byte("a/1")); !errors.Is(err, node.ErrNotFound) {
		t.Fatal("an uncommitted batch is visible")
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(); !errors.Is(err, ErrBatchCommitted) {
		t.Fatalf("second commit: %v", err)
	}
	b = d.NewBatch()
	b.Delete([]byte("a/2"))
	b.Set([]byte("a/3"), []byte("three"))
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := d.Iterate([]byte("a/"), func(k, v []byte) error {
		got = append(got, fmt.Sprintf("%s=%s", k, v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[a/1=one a/3=three]" {
		t.Fatalf("iterate: %v", got)
	}
	v, _ := d.Get([]byte("a/1"))
	v[0] = 'X'
	if again, _ := d.Get([]byte("a/1")); string(again) != "one" {
		t.Fatal("Get returned the stored slice, not a copy")
	}
	stop := errors.New("stop")
	n := 0
	if err := d.Iterate(nil, func(_, _ []byte) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("iterate must stop at the callback's error: %v after %d", err, n)
	}
}
