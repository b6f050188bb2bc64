package chain_test

import (
	"bytes"
	"crypto/ecdsa"
	"errors"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/nodetest"
	"pgregory.net/rapid"
)

var (
	seqKey   = nodetest.Key("sequencer", 0)
	seqAddr  = crypto.PubkeyToAddress(seqKey.PublicKey)
	otherSeq = nodetest.Key("sequencer", 1)
	userKey  = nodetest.Key("account", 0)
)

// builder makes a chain of signed mini-blocks and sealed headers by hand,
// as the sequencer would, without executing anything.
type builder struct {
	t       testing.TB
	key     *ecdsa.PrivateKey
	parent  *types.Header   // newest sealed header (genesis at first)
	headers []*types.Header // every sealed header, genesis first
	mbNum   uint64          // newest mini-block number
	mbHash  common.Hash     // and its hash
	nonce   uint64

	// Hooks for building wrong bundles.
	keyFor  func(i int) *ecdsa.PrivateKey // the key of mini-block i
	mutate  func(i int, mb *chain.MiniBlock)
	witness func(parent *types.Header) *stateless.Witness
}

func newBuilder(t testing.TB) *builder {
	g := &types.Header{
		Number: new(big.Int), Difficulty: new(big.Int), GasLimit: 30_000_000, Time: uint64(nodetest.T0.Unix()),
		BaseFee: big.NewInt(params.InitialBaseFee), Root: common.Hash{0x99},
	}
	return &builder{t: t, key: seqKey, parent: g, headers: []*types.Header{g}, mbHash: g.Hash()}
}

func (b *builder) tx() *types.Transaction {
	to := nodetest.Sink
	tx, err := types.SignNewTx(userKey, types.LatestSignerForChainID(big.NewInt(nodetest.ChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(nodetest.ChainID), Nonce: b.nonce, GasTipCap: big.NewInt(1), GasFeeCap: big.NewInt(params.GWei),
		Gas: 21000, To: &to, Value: big.NewInt(int64(b.nonce) + 1),
	})
	if err != nil {
		b.t.Fatal(err)
	}
	b.nonce++
	return tx
}

// next builds the bundle of the next block, made of k mini-blocks with 0,
// 1 or 2 transactions each, and moves the builder on to it.
func (b *builder) next(k int) *chain.BlockBundle {
	t := b.t
	t.Helper()
	number := b.parent.Number.Uint64() + 1
	var all []*types.Transaction
	var allRs []*types.Receipt
	var gas uint64
	bundle := &chain.BlockBundle{Number: number}
	mbNum, mbHash := b.mbNum, b.mbHash
	for i := range k {
		mb := &chain.MiniBlock{Header: chain.MiniBlockHeader{
			Number: mbNum + 1, BlockNumber: number, Index: uint64(i), TimeMicros: uint64(nodetest.T0.UnixMicro()) + (mbNum+1)*10_000,
			ParentHash: mbHash, TxOffset: uint64(len(all)), LogOffset: 0,
		}, Diff: &chain.Diff{Accounts: []chain.AccountDiff{{Address: nodetest.Sink, Flags: chain.SetBalance, Balance: *uint256.NewInt(mbNum + 1)}}}}
		for range i % 3 {
			tx := b.tx()
			gas += 21000
			r := &types.Receipt{Type: tx.Type(), Status: types.ReceiptStatusSuccessful, CumulativeGasUsed: gas, GasUsed: 21000, EffectiveGasPrice: big.NewInt(params.GWei), Logs: []*types.Log{}}
			mb.Txs, mb.Receipts = append(mb.Txs, tx), append(mb.Receipts, r)
			mb.Header.GasUsed += 21000
		}
		all, allRs = append(all, mb.Txs...), append(allRs, mb.Receipts...)
		if i == k-1 {
			wh := types.EmptyWithdrawalsHash
			mb.Sealed = &types.Header{
				ParentHash: b.parent.Hash(), UncleHash: types.EmptyUncleHash, Root: common.Hash{byte(number), 0x77},
				TxHash: chain.TxRoot(all), ReceiptHash: chain.ReceiptRoot(allRs), Bloom: types.MergeBloom(allRs),
				Difficulty: new(big.Int), Number: new(big.Int).SetUint64(number), GasLimit: 30_000_000, GasUsed: gas,
				Time: b.parent.Time + 1, BaseFee: big.NewInt(params.InitialBaseFee), WithdrawalsHash: &wh,
			}
		}
		if b.mutate != nil {
			b.mutate(i, mb)
		}
		key := b.key
		if b.keyFor != nil {
			key = b.keyFor(i)
		}
		if err := mb.Seal(key); err != nil {
			t.Fatal(err)
		}
		raw, err := mb.Encode()
		if err != nil {
			t.Fatal(err)
		}
		bundle.MiniBlocks = append(bundle.MiniBlocks, raw)
		mbNum, mbHash = mb.Header.Number, mb.Hash()
		if mb.Sealed != nil {
			b.parent = mb.Sealed
		}
	}
	w := &stateless.Witness{Headers: []*types.Header{b.headers[len(b.headers)-1]}, Codes: map[string]struct{}{"\x60\x00": {}}, State: map[string]struct{}{"node-a": {}, "node-b": {}}}
	if len(b.headers) >= 2 {
		w.Headers = append(w.Headers, b.headers[len(b.headers)-2])
	}
	if b.witness != nil {
		w = b.witness(b.headers[len(b.headers)-1])
	}
	enc, err := rlp.EncodeToBytes(w)
	if err != nil {
		t.Fatal(err)
	}
	bundle.Witness = enc
	b.headers = append(b.headers, b.parent)
	b.mbNum, b.mbHash = mbNum, mbHash
	return bundle
}

func TestBlockBundleRoundTripAndOpen(t *testing.T) {
	b := newBuilder(t)
	b.next(3)
	bundle := b.next(4) // block 2, with a two-header witness
	enc := bundle.Encode()
	if chain.Kind(enc) != chain.FormatBlockBundleV1 {
		t.Fatalf("format %v", chain.Kind(enc))
	}
	got, err := chain.DecodeBlockBundle(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, bundle) || !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip changed the bundle")
	}
	if got.Commitment() != crypto.Keccak256Hash(enc) {
		t.Fatal("commitment is not keccak256 of the encoding")
	}
	o, err := got.Open(chain.Keys(seqAddr))
	if err != nil {
		t.Fatal(err)
	}
	if o.Header.Number.Uint64() != 2 || o.Header.Hash() != b.headers[2].Hash() || o.Block.Hash() != o.Header.Hash() {
		t.Fatalf("opened header %v", o.Header.Number)
	}
	if len(o.MiniBlocks) != 4 || len(o.Block.Transactions()) != 0+1+2+0 || o.Block.Withdrawals() == nil {
		t.Fatalf("opened %d mini-blocks, %d txs", len(o.MiniBlocks), len(o.Block.Transactions()))
	}
	if len(o.Witness.Headers) != 2 || o.Witness.Headers[0].Hash() != o.Header.ParentHash || o.Witness.Root() != b.headers[1].Root {
		t.Fatal("witness headers wrong")
	}
	if len(o.Witness.State) != 2 || len(o.Witness.Codes) != 1 {
		t.Fatal("witness contents lost")
	}
}

func TestBlockBundleBounds(t *testing.T) {
	for _, n := range []int{0, chain.MaxBundleMiniBlocks + 1} {
		rec := (&chain.BlockBundle{Number: 1, MiniBlocks: make([][]byte, n), Witness: []byte{0xc0}}).Encode()
		if _, err := chain.DecodeBlockBundle(rec); !errors.Is(err, chain.ErrInvalidPayload) {
			t.Errorf("%d mini-blocks: got %v, want ErrInvalidPayload", n, err)
		}
	}
	if _, err := chain.DecodeBlockBundle((&chain.BlockBundle{Number: 1, MiniBlocks: make([][]byte, chain.MaxBundleMiniBlocks)}).Encode()); err != nil {
		t.Errorf("%d mini-blocks refused: %v", chain.MaxBundleMiniBlocks, err)
	}
	// A witness over the bound.
	rec := (&chain.BlockBundle{Number: 1, MiniBlocks: [][]byte{{1}}, Witness: make([]byte, chain.MaxWitnessBytes+1)}).Encode()
	if _, err := chain.DecodeBlockBundle(rec); err == nil {
		t.Error("an oversized witness was accepted")
	}
	// Trailing bytes inside the frame.
	payload, _ := chain.Unframe(chain.FormatBlockBundleV1, (&chain.BlockBundle{Number: 1, MiniBlocks: [][]byte{{1}}}).Encode())
	if _, err := chain.DecodeBlockBundle(chain.Frame(chain.FormatBlockBundleV1, append(bytes.Clone(payload), 0x80))); !errors.Is(err, chain.ErrTrailingBytes) {
		t.Errorf("trailing bytes: got %v", err)
	}
	// Another format.
	if _, err := chain.DecodeBlockBundle(chain.Frame(chain.FormatBlockV1, payload)); !errors.Is(err, chain.ErrUnknownFormat) {
		t.Errorf("wrong format: got %v", err)
	}
}

func openErr(t *testing.T, bundle *chain.BlockBundle, want string) {
	t.Helper()
	// What Open refuses must also be refused after a trip over the wire.
	got, err := chain.DecodeBlockBundle(bundle.Encode())
	if err != nil {
		t.Fatal(err)
	}
	_, err = got.Open(chain.Keys(seqAddr))
	if err == nil {
		t.Fatalf("opened a bad bundle (want %q)", want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}
}

func TestOpenRefuses(t *testing.T) {
	t.Run("signed by another key", func(t *testing.T) {
		b := newBuilder(t)
		b.keyFor = func(i int) *ecdsa.PrivateKey {
			if i == 2 {
				return otherSeq
			}
			return seqKey
		}
		bundle := b.next(4)
		openErr(t, bundle, "mini-block 2: ")
		if _, err := bundle.Open(chain.Keys(seqAddr)); !errors.Is(err, chain.ErrInvalidSigner) {
			t.Fatalf("got %v, want ErrInvalidSigner", err)
		}
		// OpenSealed checks only the seal's signature: the signed last
		// header commits to mini-block 2 through the parent hashes, so its
		// own signature does not matter.
		if _, err := bundle.OpenSealed(chain.Keys(seqAddr)); err != nil {
			t.Fatalf("OpenSealed: %v", err)
		}
		// The whole bundle by the other key opens for that key only.
		b = newBuilder(t)
		b.key = otherSeq
		bundle = b.next(2)
		if _, err := bundle.Open(chain.Keys(seqAddr)); !errors.Is(err, chain.ErrInvalidSigner) {
			t.Fatalf("got %v, want ErrInvalidSigner", err)
		}
		if _, err := bundle.Open(chain.Keys(crypto.PubkeyToAddress(otherSeq.PublicKey))); err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.OpenSealed(chain.Keys(seqAddr)); !errors.Is(err, chain.ErrInvalidSigner) {
			t.Fatalf("OpenSealed of another key's bundle: got %v, want ErrInvalidSigner", err)
		}
	})
	t.Run("gap in numbers", func(t *testing.T) {
		b := newBuilder(t)
		b.mutate = func(i int, mb *chain.MiniBlock) {
			if i >= 2 {
				mb.Header.Number++
			}
		}
		openErr(t, b.next(4), "mini-block 2: invalid record payload: number 4 follows 2")
	})
	t.Run("broken parent link", func(t *testing.T) {
		b := newBuilder(t)
		b.mutate = func(i int, mb *chain.MiniBlock) {
			if i == 1 {
				mb.Header.ParentHash = common.Hash{1}
			}
		}
		openErr(t, b.next(3), "mini-block 1: invalid record payload: parent")
	})
	t.Run("wrong block", func(t *testing.T) {
		b := newBuilder(t)
		b.mutate = func(i int, mb *chain.MiniBlock) {
			if i == 1 {
				mb.Header.Index = 5
			}
		}
		openErr(t, b.next(3), "mini-block 1: invalid record payload: it is #5 of block 1")
	})
	t.Run("missing seal", func(t *testing.T) {
		b := newBuilder(t)
		bundle := b.next(3)
		bundle.MiniBlocks = bundle.MiniBlocks[:2]
		openErr(t, bundle, "mini-block 1: invalid record payload: the last mini-block does not seal")
	})
	t.Run("early seal", func(t *testing.T) {
		b := newBuilder(t)
		b.mutate = func(i int, mb *chain.MiniBlock) {
			if i == 0 {
				mb.Sealed = &types.Header{Number: big.NewInt(1), Difficulty: new(big.Int)}
			}
		}
		openErr(t, b.next(3), "mini-block 0: invalid record payload: seals the block before")
	})
	t.Run("bundle number", func(t *testing.T) {
		b := newBuilder(t)
		bundle := b.next(2)
		bundle.Number = 2
		openErr(t, bundle, "it is #0 of block 1")
	})
	t.Run("transactions root", func(t *testing.T) {
		b := newBuilder(t)
		b.mutate = func(i int, mb *chain.MiniBlock) {
			if mb.Sealed != nil {
				mb.Sealed.TxHash = common.Hash{3}
			}
		}
		openErr(t, b.next(3), "transactions root")
	})
	t.Run("witness not of the parent", func(t *testing.T) {
		b := newBuilder(t)
		b.next(2)
		b.witness = func(parent *types.Header) *stateless.Witness {
			h := types.CopyHeader(parent)
			h.Root = common.Hash{0xde, 0xad}
			return &stateless.Witness{Headers: []*types.Header{h}}
		}
		openErr(t, b.next(2), "witness header 0: invalid record payload: hash")
	})
	t.Run("witness with a wrong ancestor", func(t *testing.T) {
		b := newBuilder(t)
		b.next(2)
		b.witness = func(parent *types.Header) *stateless.Witness {
			return &stateless.Witness{Headers: []*types.Header{parent, {Number: new(big.Int), Difficulty: new(big.Int)}}}
		}
		openErr(t, b.next(2), "witness header 1: invalid record payload: hash")
	})
	t.Run("witness of no headers", func(t *testing.T) {
		b := newBuilder(t)
		bundle := b.next(2)
		bundle.Witness, _ = rlp.EncodeToBytes(&stateless.ExtWitness{})
		openErr(t, bundle, "witness: invalid record payload")
		bundle.Witness = nil
		openErr(t, bundle, "witness: invalid record payload: empty")
		bundle.Witness = []byte{0x01, 0x02}
		openErr(t, bundle, "witness: invalid record payload")
	})
}

// TestBlockBundleCorruption flips every byte of an encoded bundle: the
// frame's checksum catches each. With the outer checksum fixed up, the
// mini-blocks' own checksums (or the witness checks) still catch it.
func TestBlockBundleCorruption(t *testing.T) {
	bundle := newBuilder(t).next(3)
	enc := bundle.Encode()
	for i := range enc {
		bad := bytes.Clone(enc)
		bad[i] ^= 0x20
		if _, err := chain.DecodeBlockBundle(bad); err == nil {
			t.Fatalf("byte %d flipped: decoded", i)
		}
	}
	payload, _ := chain.Unframe(chain.FormatBlockBundleV1, enc)
	opened := 0
	for i := range payload {
		bad := bytes.Clone(payload)
		bad[i] ^= 0x01
		got, err := chain.DecodeBlockBundle(chain.Frame(chain.FormatBlockBundleV1, bad))
		if err != nil {
			continue
		}
		if _, err := got.Open(chain.Keys(seqAddr)); err == nil {
			opened++
			// Only a change in the witness's state or codes can go unseen:
			// those are for the prover's stateless execution to check.
			if !bytes.Equal(got.MiniBlocks[0], bundle.MiniBlocks[0]) || !bytes.Equal(got.MiniBlocks[1], bundle.MiniBlocks[1]) || !bytes.Equal(got.MiniBlocks[2], bundle.MiniBlocks[2]) || got.Number != bundle.Number {
				t.Fatalf("byte %d flipped in the payload: opened", i)
			}
		}
	}
	t.Logf("%d of %d single-bit payload changes opened (all in the witness's state)", opened, len(payload))
}

func TestAttestationSignAndRoundTrip(t *testing.T) {
	prover := nodetest.Key("prover", 0)
	a := &chain.Attestation{ChainID: nodetest.ChainID, Number: 7, Hash: common.Hash{1}, PreRoot: common.Hash{2}, PostRoot: common.Hash{3}}
	if _, err := a.Signer(); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("unsigned: got %v", err)
	}
	if err := a.Sign(prover); err != nil {
		t.Fatal(err)
	}
	enc := a.Encode()
	got, err := chain.DecodeAttestation(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) || !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip changed the attestation")
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)); err != nil {
		t.Fatal(err)
	}
	// Every field is covered by the signature.
	for name, change := range map[string]func(*chain.Attestation){
		"chain id":  func(a *chain.Attestation) { a.ChainID++ },
		"number":    func(a *chain.Attestation) { a.Number++ },
		"hash":      func(a *chain.Attestation) { a.Hash[0]++ },
		"pre root":  func(a *chain.Attestation) { a.PreRoot[0]++ },
		"post root": func(a *chain.Attestation) { a.PostRoot[0]++ },
		"sig":       func(a *chain.Attestation) { a.Sig = bytes.Clone(a.Sig); a.Sig[5]++ },
	} {
		bad := *got
		change(&bad)
		if err := bad.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)); !errors.Is(err, chain.ErrBadSignature) {
			t.Errorf("%s changed: got %v, want ErrBadSignature", name, err)
		}
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(nodetest.Key("prover", 1).PublicKey)); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("wrong signer: got %v", err)
	}
	// An attestation and a fault report never share a signing hash.
	f := &chain.FaultReport{ChainID: a.ChainID, Number: a.Number, Hash: a.Hash}
	if f.SigningHash() == a.SigningHash() {
		t.Fatal("domains do not separate")
	}
	// Bounds: the signature is exactly 65 bytes.
	for _, n := range []int{0, 64, 66} {
		bad := *a
		bad.Sig = make([]byte, n)
		if _, err := chain.DecodeAttestation(bad.Encode()); !errors.Is(err, chain.ErrInvalidPayload) {
			t.Errorf("%d-byte signature: got %v", n, err)
		}
	}
}

func TestFaultReportSignAndRoundTrip(t *testing.T) {
	prover := nodetest.Key("prover", 0)
	f := &chain.FaultReport{ChainID: nodetest.ChainID, Number: 9, Hash: common.Hash{4}, Reason: "state root 0x12 ≠ header 0x34", Evidence: []byte{0x81, 1, 2, 3}}
	if err := f.Sign(prover); err != nil {
		t.Fatal(err)
	}
	enc := f.Encode()
	got, err := chain.DecodeFaultReport(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, f) || !bytes.Equal(got.Encode(), enc) {
		t.Fatal("round trip changed the report")
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)); err != nil {
		t.Fatal(err)
	}
	bad := *got
	bad.Reason = "something else"
	if err := bad.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("reason changed: got %v", err)
	}
	bad = *got
	bad.Evidence = []byte{0x81, 1, 2, 4}
	if err := bad.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("evidence changed: got %v", err)
	}
	// The old format carried no evidence: refused, and said so.
	old := chain.FrameRLP(chain.FormatFaultReportV1, &struct {
		ChainID, Number uint64
		Hash            common.Hash
		Reason          string
		Sig             []byte
	}{f.ChainID, f.Number, f.Hash, f.Reason, f.Sig})
	if _, err := chain.DecodeFaultReport(old); !errors.Is(err, chain.ErrNoEvidence) {
		t.Fatalf("fault-report/v1: got %v, want ErrNoEvidence", err)
	}
	bad = *got
	bad.Sig = bytes.Clone(bad.Sig)
	bad.Sig[64] = 7 // an invalid recovery id
	if _, err := bad.Signer(); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("bad recovery id: got %v", err)
	}
	if err := got.VerifySigner(crypto.PubkeyToAddress(nodetest.Key("prover", 1).PublicKey)); !errors.Is(err, chain.ErrBadSignature) {
		t.Fatalf("wrong signer: got %v", err)
	}
	// Bounds.
	long := *f
	long.Reason = strings.Repeat("x", chain.MaxReasonBytes)
	if _, err := chain.DecodeFaultReport(long.Encode()); err != nil {
		t.Fatalf("reason of %d bytes refused: %v", chain.MaxReasonBytes, err)
	}
	long.Reason += "x"
	if _, err := chain.DecodeFaultReport(long.Encode()); !errors.Is(err, chain.ErrInvalidPayload) {
		t.Fatalf("reason of %d bytes: got %v", chain.MaxReasonBytes+1, err)
	}
	short := *f
	short.Sig = short.Sig[:64]
	if _, err := chain.DecodeFaultReport(short.Encode()); !errors.Is(err, chain.ErrInvalidPayload) {
		t.Fatalf("short signature: got %v", err)
	}
}

func TestAttRequestResponse(t *testing.T) {
	for _, r := range []chain.AttRequest{{ID: 1, From: 0, Count: 1}, {ID: 1<<64 - 1, From: 1 << 40, Count: chain.MaxAttCount}, {From: 1<<64 - 1, Count: 1}} {
		got, err := chain.DecodeAttRequest(r.Encode())
		if err != nil || *got != r {
			t.Fatalf("%+v: %+v, %v", r, got, err)
		}
	}
	for _, r := range []chain.AttRequest{{Count: 0}, {Count: chain.MaxAttCount + 1}, {From: 1<<64 - 1, Count: 2}} {
		if _, err := chain.DecodeAttRequest(r.Encode()); !errors.Is(err, chain.ErrInvalidPayload) {
			t.Errorf("%+v: got %v, want ErrInvalidPayload", r, err)
		}
	}
	prover := nodetest.Key("prover", 0)
	a := &chain.Attestation{ChainID: 1, Number: 3}
	f := &chain.FaultReport{ChainID: 1, Number: 4, Reason: "r"}
	if a.Sign(prover) != nil || f.Sign(prover) != nil {
		t.Fatal("sign")
	}
	resp := &chain.AttResponse{ID: 5, Attestations: [][]byte{a.Encode()}, Faults: [][]byte{f.Encode()}}
	enc := resp.Encode()
	got, err := chain.DecodeAttResponse(enc)
	if err != nil || !reflect.DeepEqual(got, resp) || !bytes.Equal(got.Encode(), enc) {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	if ga, err := chain.DecodeAttestation(got.Attestations[0]); err != nil || ga.VerifySigner(crypto.PubkeyToAddress(prover.PublicKey)) != nil {
		t.Fatalf("carried attestation: %v", err)
	}
	for _, bad := range []*chain.AttResponse{
		{Attestations: make([][]byte, chain.MaxAttCount+1)},
		{Faults: make([][]byte, chain.MaxAttCount+1)},
	} {
		if _, err := chain.DecodeAttResponse(bad.Encode()); !errors.Is(err, chain.ErrInvalidPayload) {
			t.Errorf("over the bound: got %v", err)
		}
	}
	if _, err := chain.DecodeAttResponse((&chain.AttResponse{Attestations: make([][]byte, chain.MaxAttCount), Faults: make([][]byte, chain.MaxAttCount)}).Encode()); err != nil {
		t.Errorf("at the bound: %v", err)
	}
}

func TestFormatNames(t *testing.T) {
	for f, want := range map[chain.Format]string{ // independent lookups: order cannot matter
		chain.FormatBlockBundleV1: "block-bundle/v1", chain.FormatAttestationV1: "attestation/v1",
		chain.FormatFaultReportV1: "fault-report/v1", chain.FormatAttRequestV1: "att-request/v1",
		chain.FormatAttResponseV1: "att-response/v1", chain.FormatDAPutV1: "da-put/v1", chain.FormatDAAckV1: "da-ack/v1",
		chain.FormatBlockRangeRequestV1: "block-range-request/v1", chain.FormatBlockRangeResponseV1: "block-range-response/v1",
		chain.FormatDAGetV1: "da-get/v1", chain.FormatDABlobsV1: "da-blobs/v1", chain.FormatDAHeadV1: "da-head/v1",
		chain.FormatDARefV1: "da-ref/v1",
	} {
		if got := f.String(); got != want {
			t.Errorf("0x%02x: %q, want %q", byte(f), got, want)
		}
	}
}

// TestProofDecodersNeverPanic feeds the new decoders random bytes and
// mutations of valid records, checksum fixed up half the time.
func TestProofDecodersNeverPanic(t *testing.T) {
	b := newBuilder(t)
	bundle := b.next(3)
	prover := nodetest.Key("prover", 0)
	a := &chain.Attestation{ChainID: 1, Number: 3}
	f := &chain.FaultReport{ChainID: 1, Number: 4, Reason: "r"}
	if a.Sign(prover) != nil || f.Sign(prover) != nil {
		t.Fatal("sign")
	}
	valid := [][]byte{
		bundle.Encode(), a.Encode(), f.Encode(),
		(&chain.AttRequest{ID: 1, From: 2, Count: 3}).Encode(),
		(&chain.AttResponse{ID: 1, Attestations: [][]byte{a.Encode()}}).Encode(),
		(&chain.DAPut{ID: 1, Bundles: [][]byte{bundle.Encode()}}).Encode(),
		(&chain.DAAck{ID: 1, Head: 2, Commitments: []common.Hash{{1}}}).Encode(),
		(&chain.BlockRangeRequest{ID: 1, From: 1, Count: 2}).Encode(),
		(&chain.BlockRangeResponse{ID: 1, From: 1, Head: 1, Bundles: [][]byte{bundle.Encode()}}).Encode(),
		(&chain.DAGet{ID: 1, Hashes: []common.Hash{{1}}}).Encode(),
		(&chain.DABlobs{ID: 1, Blobs: [][]byte{{1, 2}}}).Encode(),
	}
	rapid.Check(t, func(t *rapid.T) {
		var rec []byte
		if rapid.Bool().Draw(t, "mutate") {
			rec = bytes.Clone(rapid.SampledFrom(valid).Draw(t, "valid"))
			for range rapid.IntRange(1, 4).Draw(t, "edits") {
				i := rapid.IntRange(0, len(rec)-1).Draw(t, "at")
				rec[i] = rapid.Byte().Draw(t, "byte")
			}
			if rapid.Bool().Draw(t, "cut") {
				rec = rec[:rapid.IntRange(0, len(rec)).Draw(t, "len")]
			}
		} else {
			rec = rapid.SliceOfN(rapid.Byte(), 0, 300).Draw(t, "random")
		}
		if len(rec) >= 5 && rapid.Bool().Draw(t, "reframe") {
			rec = chain.Frame(chain.Format(rec[0]), rec[1:len(rec)-4])
		}
		decodeAll(rec)
	})
}

// decodeAll runs every decoder of proof.go and da.go over rec, and opens
// what decodes as a bundle.
func decodeAll(rec []byte) {
	if b, err := chain.DecodeBlockBundle(rec); err == nil {
		_, _ = b.Open(chain.Keys(seqAddr))
	}
	if a, err := chain.DecodeAttestation(rec); err == nil {
		_, _ = a.Signer()
	}
	if f, err := chain.DecodeFaultReport(rec); err == nil {
		_, _ = f.Signer()
	}
	_, _ = chain.DecodeAttRequest(rec)
	_, _ = chain.DecodeAttResponse(rec)
	_, _ = chain.DecodeDAPut(rec)
	_, _ = chain.DecodeDAAck(rec)
	_, _ = chain.DecodeBlockRangeRequest(rec)
	_, _ = chain.DecodeBlockRangeResponse(rec)
	_, _ = chain.DecodeDAGet(rec)
	_, _ = chain.DecodeDABlobs(rec)
}
