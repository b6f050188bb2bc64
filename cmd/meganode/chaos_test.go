package main

import (
	"bytes"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

func chaosAckFixture(i int) (chaosAck, *chaosReceipt) {
	a := chaosAck{Hash: common.BytesToHash([]byte{0xa0, byte(i)}), Sender: i % 4, Nonce: uint64(i / 4), Block: uint64(10 + i), BlockHash: common.BytesToHash([]byte{byte(i), 0xb1}), Index: uint(i % 3), Status: 1}
	return a, &chaosReceipt{TxHash: a.Hash, BlockNumber: hexutil.Uint64(a.Block), BlockHash: a.BlockHash, Index: hexutil.Uint(a.Index), Status: hexutil.Uint64(a.Status)}
}

// The loss checker counts every acknowledged transaction whose receipt is
// missing or differs in any field it recorded; faithful receipts count
// nothing.
func TestChaosCheckAcks(t *testing.T) {
	var acks []chaosAck
	var receipts []*chaosReceipt
	for i := range 8 {
		a, r := chaosAckFixture(i)
		acks, receipts = append(acks, a), append(receipts, r)
	}
	if lost := checkAcks(acks, receipts); len(lost) != 0 {
		t.Fatalf("faithful receipts: %d lost: %+v", len(lost), lost)
	}
	doctor := []struct {
		field string
		edit  func(r *chaosReceipt)
	}{
		{"block", func(r *chaosReceipt) { r.BlockNumber++ }},
		{"block hash", func(r *chaosReceipt) { r.BlockHash[0] ^= 1 }},
		{"index", func(r *chaosReceipt) { r.Index++ }},
		{"status", func(r *chaosReceipt) { r.Status = 0 }},
		{"tx hash", func(r *chaosReceipt) { r.TxHash[31] ^= 1 }},
	}
	for k, d := range doctor {
		got := make([]*chaosReceipt, len(receipts))
		for i, r := range receipts {
			c := *r
			got[i] = &c
		}
		d.edit(got[k])
		got[7] = nil // and one missing
		lost := checkAcks(acks, got)
		if len(lost) != 2 || lost[0].Ack != acks[k] || !strings.Contains(lost[0].Why, d.field) || lost[1].Ack != acks[7] || lost[1].Why != "missing" {
			t.Errorf("doctored %s of ack %d and none for ack 7: lost %+v", d.field, k, lost)
		}
	}
	// Fewer receipts than acknowledgements: the rest are missing.
	if lost := checkAcks(acks, receipts[:5]); len(lost) != 3 {
		t.Errorf("3 receipts short: %d lost", len(lost))
	}
}

func TestChaosPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var out []time.Duration
		for _, x := range xs {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	for _, c := range []struct {
		ds   []time.Duration
		p    float64
		want time.Duration
	}{
		{nil, 0.5, 0},
		{ms(7), 0.5, 7 * time.Millisecond},
		{ms(7), 1, 7 * time.Millisecond},
		{ms(40, 10, 30, 20), 0.5, 20 * time.Millisecond}, // nearest rank: the 2nd of 4
		{ms(40, 10, 30, 20), 1, 40 * time.Millisecond},
		{ms(5, 1, 4, 2, 3), 0.5, 3 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 10 * time.Millisecond},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.1, 1 * time.Millisecond},
	} {
		in := append([]time.Duration(nil), c.ds...)
		if got := percentile(c.ds, c.p); got != c.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", c.ds, c.p, got, c.want)
		}
		if !reflect.DeepEqual(in, c.ds) {
			t.Errorf("percentile reordered its input")
		}
	}
}

func TestChaosNonceProblems(t *testing.T) {
	if p := nonceProblems(5, []uint64{0, 1, 3, 4}, map[uint64]bool{2: true}); len(p) != 0 {
		t.Errorf("no gaps: %v", p)
	}
	for _, c := range []struct {
		count    uint64
		acked    []uint64
		included map[uint64]bool
		want     string
	}{
		{5, []uint64{0, 1, 3, 4}, nil, "nonce 2 taken by no transaction"},
		{4, []uint64{0, 1, 2, 3, 4}, nil, "nonce 4 acknowledged, but the account's count is 4"},
		{3, []uint64{0, 1, 1, 2}, nil, "nonce 1 acknowledged twice"},
	} {
		p := nonceProblems(c.count, c.acked, c.included)
		if len(p) != 1 || !strings.Contains(p[0], c.want) {
			t.Errorf("count %d acked %v: %v, want %q", c.count, c.acked, p, c.want)
		}
	}
}

func TestChaosCompareBlocks(t *testing.T) {
	b := func(n uint64, h, r byte) *chaosBlock {
		return &chaosBlock{Number: hexutil.Uint64(n), Hash: common.Hash{h}, StateRoot: common.Hash{r}}
	}
	want := []*chaosBlock{b(1, 1, 1), b(2, 2, 2), b(3, 3, 3)}
	if d := compareBlocks(want, []*chaosBlock{b(1, 1, 1), b(2, 2, 2), b(3, 3, 3)}); len(d) != 0 {
		t.Errorf("equal chains: %v", d)
	}
	d := compareBlocks(want, []*chaosBlock{b(1, 1, 1), b(2, 2, 9), nil})
	if len(d) != 2 || !strings.HasPrefix(d[0], "block 2:") || d[1] != "block 3 missing" {
		t.Errorf("a wrong root and a missing block: %v", d)
	}
}

// The schedule depends on the seed and the flags only; different seeds
// give different ones; gaps stay within bounds; the other victims come
// every N-th cycle; the end damages both kinds, on different fullnodes.
func TestChaosPlanDeterministic(t *testing.T) {
	o := chaosOptions{cycles: 50, minGap: time.Second, maxGap: 6 * time.Second, otherEvery: 5, damageEvery: 7, damageAtEnd: true}
	fns, others := []string{"fullnode1", "fullnode2"}, []string{"fullnode1", "fullnode2", "prover1", "prover2"}
	a, b := planChaos(42, o, fns, others), planChaos(42, o, fns, others)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("one seed, two schedules")
	}
	if reflect.DeepEqual(a, planChaos(43, o, fns, others)) {
		t.Fatal("seeds 42 and 43 gave the same schedule")
	}
	if len(a.Steps) != 50 {
		t.Fatalf("%d steps", len(a.Steps))
	}
	var sum time.Duration
	kinds := map[string]int{}
	for i, st := range a.Steps {
		sum += st.Gap
		if st.Gap < o.minGap || st.Gap > o.maxGap {
			t.Errorf("cycle %d: gap %v", i+1, st.Gap)
		}
		if (st.Other != "") != ((i+1)%5 == 0) {
			t.Errorf("cycle %d: other victim %q", i+1, st.Other)
		}
		if (st.Damage != nil) != ((i+1)%7 == 0) {
			t.Errorf("cycle %d: damage %+v", i+1, st.Damage)
		}
		if st.Damage != nil {
			kinds[st.Damage.Kind]++
		}
	}
	if kinds["wal"] != 4 || kinds["corrupt"] != 3 {
		t.Errorf("damage kinds in cycles: %v, want alternating", kinds)
	}
	if mean := sum / 50; mean < 2500*time.Millisecond || mean > 4500*time.Millisecond {
		t.Errorf("mean gap %v", mean)
	}
	if len(a.End) != 2 || a.End[0].Kind != "wal" || a.End[1].Kind != "corrupt" || a.End[0].Node == a.End[1].Node {
		t.Errorf("end damages %+v", a.End)
	}
	for _, d := range a.End {
		if d.Bytes < 1 || (d.Kind == "corrupt" && (d.Bytes > 64 || d.Fill == 0)) {
			t.Errorf("damage %+v", d)
		}
	}
}

func TestChaosPickRecheck(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	if got := pickRecheck(3, 6, 10, r); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("fewer older than the sample: %v", got)
	}
	if got := pickRecheck(3, 6, 0, r); !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 5}) {
		t.Errorf("sample 0 (all): %v", got)
	}
	got := pickRecheck(1000, 1010, 50, r)
	if len(got) != 60 {
		t.Fatalf("%d picked, want 50 older and 10 new", len(got))
	}
	for i, x := range got {
		if i > 0 && x <= got[i-1] {
			t.Fatalf("not in order or repeated: %v", got)
		}
		if i < 50 && x >= 1000 || i >= 50 && x != 1000+i-50 {
			t.Fatalf("wrong picks: %v", got)
		}
	}
}

// Damage helpers on plain files: a WAL tail cut by at most its size; bytes
// in the middle half of a file changed, every one of them, and nothing else.
func TestChaosDamageFiles(t *testing.T) {
	dir := t.TempDir()
	orig := bytes.Repeat([]byte{0x5a}, 4000)
	for _, name := range []string{"000003.log", "000010.log", "000007.sst", "MANIFEST-000005"} {
		if err := os.WriteFile(filepath.Join(dir, name), orig, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "000011.log"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "CURRENT"), []byte("MANIFEST-000005\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	desc, err := applyDamage(dir, chaosDamage{Kind: "wal", Bytes: 123})
	if err != nil || !strings.Contains(desc, "truncated by 123 B (000010.log") {
		t.Fatalf("wal: %q %v", desc, err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "000010.log")); fi.Size() != 4000-123 {
		t.Errorf("000010.log is %d B", fi.Size())
	}
	if _, _, err := truncateTail(filepath.Join(dir, "000003.log"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "000003.log")); fi.Size() != 0 {
		t.Errorf("cut by more than its size: %d B left", fi.Size())
	}
	for _, d := range []chaosDamage{{Kind: "corrupt", Bytes: 40, Where: 0.5, Fill: 9}, {Kind: "corrupt", Bytes: 40, Where: 0.99, Fill: 9, Manifest: true}} {
		desc, err := applyDamage(dir, d)
		if err != nil {
			t.Fatal(err)
		}
		name := "000007.sst"
		if d.Manifest {
			name = "MANIFEST-000005"
		}
		if !strings.Contains(desc, name) {
			t.Errorf("%+v damaged %q", d, desc)
		}
		raw, _ := os.ReadFile(filepath.Join(dir, name))
		changed, first, last := 0, -1, -1
		for i := range raw {
			if raw[i] != orig[i] {
				changed++
				if first < 0 {
					first = i
				}
				last = i
			}
		}
		if changed != 40 || last-first != 39 || first < 1000 || last >= 3000 {
			t.Errorf("%s: %d bytes changed at %d..%d, want 40 in the middle half", name, changed, first, last)
		}
	}
}

func TestChaosErrorLine(t *testing.T) {
	log := "time=1 level=INFO msg=starting\ntime=2 level=ERROR msg=exiting role=fullnode err=\"runtime: open pebble in \\\"/x/db\\\": pebble: corrupt\"\n"
	if got := errorLine(log); got != `runtime: open pebble in "/x/db": pebble: corrupt` {
		t.Errorf("errorLine = %q", got)
	}
	// The exiting line wins over earlier errors; a multi-line message
	// gives its first line.
	log = "time=1 level=ERROR msg=\"fatal: on-disk corruption: 000008.sst\\n(1) path\" role=fullnode module=pebble\n" +
		"time=2 level=ERROR msg=exiting role=fullnode err=\"data directory /d: fatal storage error: pebble fatal error: x\\nmore\"\n"
	if got := errorLine(log); got != "data directory /d: fatal storage error: pebble fatal error: x" {
		t.Errorf("errorLine with an exiting line = %q", got)
	}
	if got := errorLine(strings.Split(log, "\n")[0]); got != "fatal: on-disk corruption: 000008.sst" {
		t.Errorf("errorLine with an error msg only = %q", got)
	}
	log = `time=2 level=ERROR msg=exiting role=fullnode err="data directory /d: fatal storage error: on-disk corruption: /d/db/000095.sst; bounds: [kledger/mb/\\x00\\x00, kledger/tx/\\xcd]; details: pebble: file 000095: block 1/2: crc32c checksum mismatch 1 != 2\n(1) path"`
	if got := errorLine(log); got != "data directory /d: fatal storage error: on-disk corruption: /d/db/000095.sst; details: pebble: file 000095: block 1/2: crc32c checksum mismatch 1 != 2" {
		t.Errorf("errorLine of a pebble corruption = %q", got)
	}
	if got := errorLine("a\npanic: boom\n\tgoroutine 1\n"); got != "panic: boom" {
		t.Errorf("panic: %q", got)
	}
	if got := errorLine("one\ntwo\n"); got != "two" {
		t.Errorf("last line: %q", got)
	}
}

func TestChaosHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"chaos", "--help"}, &out, &errb); code != 0 || !strings.Contains(errb.String(), "usage: meganode chaos") {
		t.Errorf("chaos --help: exit %d, %q", code, errb.String())
	}
	out.Reset()
	if run([]string{"help"}, &out, &errb); !strings.Contains(out.String(), "\n  chaos ") {
		t.Errorf("help does not list chaos:\n%s", out.String())
	}
	errb.Reset()
	if code := run([]string{"chaos", "--senders", "11"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--senders") {
		t.Errorf("--senders 11: exit %d, %q", code, errb.String())
	}
}
