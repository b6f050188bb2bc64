package chain_test

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/internal/nodetest"
)

// Bundles, prover statements and DA messages come from peers and from
// disk: the decoders must never panic, must hold their bounds, and a value
// they accept must re-encode to the same bytes and decode to the same value.

// encoder is every record type of proof.go and da.go.
type encoder interface{ Encode() []byte }

// checkCanonical re-encodes v, decoded from rec, and decodes it again.
func checkCanonical[T encoder](t *testing.T, rec []byte, v T, decode func([]byte) (T, error)) {
	t.Helper()
	enc := v.Encode()
	if !bytes.Equal(enc, rec) {
		t.Fatalf("accepted a non-canonical %T", v)
	}
	again, err := decode(enc)
	if err != nil || !reflect.DeepEqual(again, v) {
		t.Fatalf("round trip: %+v, %v; want %+v", again, err, v)
	}
}

func FuzzBlockBundle(f *testing.F) {
	// One small real bundle: the fuzzer minimises every input that finds
	// new coverage, and its time grows with the input's length.
	f.Add(newBuilder(f).next(1).Encode())
	f.Add((&chain.BlockBundle{Number: 1, MiniBlocks: [][]byte{{0x21}}, Witness: []byte{0xc0}}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		bb, err := chain.DecodeBlockBundle(rec)
		if err != nil {
			return
		}
		if n := len(bb.MiniBlocks); n == 0 || n > chain.MaxBundleMiniBlocks || len(bb.Witness) > chain.MaxWitnessBytes {
			t.Fatalf("accepted %d mini-blocks, %d witness bytes", n, len(bb.Witness))
		}
		checkCanonical(t, rec, bb, chain.DecodeBlockBundle)
		o, err := bb.Open(chain.Keys(seqAddr))
		if err != nil {
			return
		}
		if o.Header == nil || o.Block == nil || o.Witness == nil || len(o.MiniBlocks) != len(bb.MiniBlocks) || o.Header.Number.Uint64() != bb.Number {
			t.Fatalf("opened an inconsistent bundle: %+v", o)
		}
	})
}

func FuzzAttestation(f *testing.F) {
	a := &chain.Attestation{ChainID: nodetest.ChainID, Number: 7, Hash: common.Hash{1}, PreRoot: common.Hash{2}, PostRoot: common.Hash{3}}
	if err := a.Sign(nodetest.Key("prover", 0)); err != nil {
		f.Fatal(err)
	}
	f.Add(a.Encode())
	f.Add((&chain.Attestation{Sig: make([]byte, 65)}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, err := chain.DecodeAttestation(rec)
		if err != nil {
			return
		}
		if len(got.Sig) != 65 {
			t.Fatalf("accepted a %d-byte signature", len(got.Sig))
		}
		_, _ = got.Signer()
		checkCanonical(t, rec, got, chain.DecodeAttestation)
	})
}

func FuzzFaultReport(f *testing.F) {
	r := &chain.FaultReport{ChainID: nodetest.ChainID, Number: 9, Hash: common.Hash{4}, Reason: "receipts root differs"}
	if err := r.Sign(nodetest.Key("prover", 0)); err != nil {
		f.Fatal(err)
	}
	f.Add(r.Encode())
	f.Add((&chain.FaultReport{Sig: make([]byte, 65)}).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		got, err := chain.DecodeFaultReport(rec)
		if err != nil {
			return
		}
		if len(got.Sig) != 65 || len(got.Reason) > chain.MaxReasonBytes {
			t.Fatalf("accepted a %d-byte signature, a %d-byte reason", len(got.Sig), len(got.Reason))
		}
		_, _ = got.Signer()
		checkCanonical(t, rec, got, chain.DecodeFaultReport)
	})
}

// FuzzDAMessages runs every DA and attestation-exchange decoder over the
// same bytes; the format byte picks which one can accept them.
func FuzzDAMessages(f *testing.F) {
	// The messages carry bundles as opaque bytes; a short stand-in keeps
	// the inputs small (the fuzzer minimises every new one).
	bundle := (&chain.BlockBundle{Number: 1, MiniBlocks: [][]byte{{0x21, 1, 2, 3, 4}}, Witness: []byte{0xc0}}).Encode()
	for _, e := range []encoder{
		&chain.DAPut{ID: 1, Bundles: [][]byte{bundle}},
		&chain.DAAck{ID: 1, Head: 4, Commitments: []common.Hash{{1}, {2}}},
		&chain.BlockRangeRequest{ID: 2, From: 1, Count: chain.MaxBlockRange},
		&chain.BlockRangeResponse{ID: 2, From: 1, Head: 3, Bundles: [][]byte{bundle, {}}},
		&chain.DAGet{ID: 3, Hashes: []common.Hash{{9}}},
		&chain.DABlobs{ID: 3, Blobs: [][]byte{{1, 2, 3}, {}}},
		&chain.AttRequest{ID: 4, From: 10, Count: chain.MaxAttCount},
		&chain.AttResponse{ID: 4, Attestations: [][]byte{{1}}, Faults: [][]byte{{2}}},
	} {
		f.Add(e.Encode())
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		if p, err := chain.DecodeDAPut(rec); err == nil {
			if len(p.Bundles) == 0 || len(p.Bundles) > chain.MaxPutBundles {
				t.Fatalf("accepted a put of %d bundles", len(p.Bundles))
			}
			checkCanonical(t, rec, p, chain.DecodeDAPut)
			for _, b := range p.Bundles {
				_, _ = chain.DecodeBlockBundle(b)
			}
		}
		if a, err := chain.DecodeDAAck(rec); err == nil {
			if len(a.Commitments) > chain.MaxPutBundles {
				t.Fatalf("accepted an ack of %d commitments", len(a.Commitments))
			}
			checkCanonical(t, rec, a, chain.DecodeDAAck)
		}
		if r, err := chain.DecodeBlockRangeRequest(rec); err == nil {
			if r.Count == 0 || r.Count > chain.MaxBlockRange || r.From+r.Count-1 < r.From {
				t.Fatalf("accepted %+v", r)
			}
			checkCanonical(t, rec, r, chain.DecodeBlockRangeRequest)
		}
		if r, err := chain.DecodeBlockRangeResponse(rec); err == nil {
			if len(r.Bundles) > chain.MaxBlockRange {
				t.Fatalf("accepted %d bundles", len(r.Bundles))
			}
			checkCanonical(t, rec, r, chain.DecodeBlockRangeResponse)
		}
		if g, err := chain.DecodeDAGet(rec); err == nil {
			if len(g.Hashes) == 0 || len(g.Hashes) > chain.MaxGetHashes {
				t.Fatalf("accepted a get of %d hashes", len(g.Hashes))
			}
			checkCanonical(t, rec, g, chain.DecodeDAGet)
		}
		if b, err := chain.DecodeDABlobs(rec); err == nil {
			if len(b.Blobs) > chain.MaxGetHashes {
				t.Fatalf("accepted %d blobs", len(b.Blobs))
			}
			checkCanonical(t, rec, b, chain.DecodeDABlobs)
		}
		if r, err := chain.DecodeAttRequest(rec); err == nil {
			if r.Count == 0 || r.Count > chain.MaxAttCount || r.From+r.Count-1 < r.From {
				t.Fatalf("accepted %+v", r)
			}
			checkCanonical(t, rec, r, chain.DecodeAttRequest)
		}
		if r, err := chain.DecodeAttResponse(rec); err == nil {
			if len(r.Attestations) > chain.MaxAttCount || len(r.Faults) > chain.MaxAttCount {
				t.Fatalf("accepted %d attestations, %d faults", len(r.Attestations), len(r.Faults))
			}
			checkCanonical(t, rec, r, chain.DecodeAttResponse)
			for _, a := range r.Attestations {
				_, _ = chain.DecodeAttestation(a)
			}
			for _, fr := range r.Faults {
				_, _ = chain.DecodeFaultReport(fr)
			}
		}
	})
}
