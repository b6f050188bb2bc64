package chain

import (
	"crypto/ecdsa"
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/stateless"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// Bounds of the records in this file. Decoders refuse anything beyond them.
const (
	// MaxBundleMiniBlocks bounds the mini-blocks of one block bundle.
	MaxBundleMiniBlocks = 1024
	// MaxWitnessBytes bounds the encoded witness of one block bundle.
	MaxWitnessBytes = 64 << 20
	// MaxReasonBytes bounds the reason of a fault report.
	MaxReasonBytes = 1024
	// MaxEvidenceBytes bounds the evidence of a fault report: a bundle
	// (its witness at most MaxWitnessBytes, its mini-blocks besides).
	MaxEvidenceBytes = MaxRecordSize - MaxReasonBytes - 1024
	// MaxAttCount bounds the blocks one attestation request may ask about,
	// and the attestations and the fault reports of one response.
	MaxAttCount = 256
)

// ErrBadSignature is the error of a prover statement whose signature does
// not recover, or recovers a key other than the one expected.
var ErrBadSignature = errors.New("invalid signature")

// BlockBundle is what the sequencer publishes to DA (and gossips on
// BlocksTopic) for one sealed block.
type BlockBundle struct {
	Number uint64 // EVM block number
	// MiniBlocks are the block's mini-blocks, framed (FormatMiniBlockV1), in
	// order; the last one carries the sealed header (MiniBlock.Sealed).
	MiniBlocks [][]byte
	// Witness is go-ethereum's RLP encoding of the block's
	// core/stateless.Witness (rlp.EncodeToBytes(w) uses Witness.EncodeRLP).
	Witness []byte
}

// Encode returns the framed bundle (format FormatBlockBundleV1).
func (b *BlockBundle) Encode() []byte { return FrameRLP(FormatBlockBundleV1, b) }

// Commitment is keccak256 of Encode(): the DA commitment to the bundle.
// Encodings are canonical, so it is also keccak256 of the bytes any decoded
// bundle came from.
func (b *BlockBundle) Commitment() common.Hash { return crypto.Keccak256Hash(b.Encode()) }

// DecodeBlockBundle decodes a framed bundle and checks its bounds: 1 to
// MaxBundleMiniBlocks mini-blocks, a witness of at most MaxWitnessBytes.
// The contents are left encoded: Open decodes and checks them.
func DecodeBlockBundle(rec []byte) (*BlockBundle, error) {
	b := new(BlockBundle)
	if err := decodeRecord(FormatBlockBundleV1, "block bundle", rec, b); err != nil {
		return nil, err
	}
	if err := within("block bundle", "mini-blocks", len(b.MiniBlocks), 1, MaxBundleMiniBlocks); err != nil {
		return nil, err
	}
	if err := within("block bundle", "witness bytes", len(b.Witness), 0, MaxWitnessBytes); err != nil {
		return nil, err
	}
	return b, nil
}

// Opened is a bundle whose contents were decoded and checked.
type Opened struct {
	Header *types.Header // the sealed header (from the last mini-block)
	// Block is the header with every mini-block's transactions in order,
	// and empty withdrawals when the header commits to withdrawals.
	Block      *types.Block
	MiniBlocks []*MiniBlock
	Witness    *stateless.Witness
}

// Open decodes every mini-block of the bundle and checks that each is
// signed by sequencer, that their numbers are consecutive and each names
// the one before as its parent, that all belong to block b.Number as its
// mini-blocks 0..n-1, and that the last one, and only it, seals block
// b.Number with a transactions root that matches their transactions. It
// decodes the witness and checks that its headers are the chain of
// ancestors of the sealed block, newest (the parent) first. It does not
// execute anything: receipts and state roots are for a prover to check.
func (b *BlockBundle) Open(sequencer KeySet) (*Opened, error) { return b.open(sequencer, true) }

// OpenSealed is Open checking only the last mini-block's signature: that
// signed header names its parent's hash, which names its own parent's, and
// every header commits to its body, so one signature authenticates the
// whole bundle. A validator uses it; a node that serves the mini-blocks
// one by one (DA) uses Open, since each must carry a valid signature.
func (b *BlockBundle) OpenSealed(sequencer KeySet) (*Opened, error) {
	return b.open(sequencer, false)
}

func (b *BlockBundle) open(sequencer KeySet, every bool) (*Opened, error) {
	fail := func(format string, args ...any) (*Opened, error) {
		return nil, fmt.Errorf("open bundle of block %d: "+format, append([]any{b.Number}, args...)...)
	}
	n := len(b.MiniBlocks)
	if n == 0 || n > MaxBundleMiniBlocks {
		return fail("%w: %d mini-blocks, want 1 to %d", ErrInvalidPayload, n, MaxBundleMiniBlocks)
	}
	if len(b.Witness) > MaxWitnessBytes {
		return fail("%w: %d witness bytes, limit %d", ErrInvalidPayload, len(b.Witness), MaxWitnessBytes)
	}
	o := &Opened{MiniBlocks: make([]*MiniBlock, n)}
	var txs []*types.Transaction
	for i, raw := range b.MiniBlocks {
		mb, err := DecodeMiniBlock(raw)
		if err != nil {
			return fail("mini-block %d: %w", i, err)
		}
		h := &mb.Header
		if every || i == n-1 {
			if err := mb.VerifyKeys(sequencer); err != nil {
				return fail("mini-block %d: %w", i, err)
			}
		}
		if i > 0 {
			prev := o.MiniBlocks[i-1]
			if h.Number != prev.Header.Number+1 {
				return fail("mini-block %d: %w: number %d follows %d", i, ErrInvalidPayload, h.Number, prev.Header.Number)
			}
			if h.ParentHash != prev.Hash() {
				return fail("mini-block %d: %w: parent %v, mini-block %d is %v", i, ErrInvalidPayload, h.ParentHash, prev.Header.Number, prev.Hash())
			}
			if h.Term < prev.Header.Term {
				return fail("mini-block %d: %w: term %d after term %d", i, ErrInvalidPayload, h.Term, prev.Header.Term)
			}
		}
		if h.BlockNumber != b.Number || h.Index != uint64(i) {
			return fail("mini-block %d: %w: it is #%d of block %d", i, ErrInvalidPayload, h.Index, h.BlockNumber)
		}
		switch {
		case i < n-1 && mb.Seals():
			return fail("mini-block %d: %w: seals the block before its last mini-block", i, ErrInvalidPayload)
		case i == n-1 && !mb.Seals():
			return fail("mini-block %d: %w: the last mini-block does not seal the block", i, ErrInvalidPayload)
		case i == n-1 && (mb.Sealed.Number == nil || !mb.Sealed.Number.IsUint64() || mb.Sealed.Number.Uint64() != b.Number):
			return fail("mini-block %d: %w: seals block %v", i, ErrInvalidPayload, mb.Sealed.Number)
		}
		o.MiniBlocks[i] = mb
		txs = append(txs, mb.Txs...)
	}
	header := o.MiniBlocks[n-1].Sealed
	if got := TxRoot(txs); got != header.TxHash {
		return fail("%w: transactions root %v, header says %v", ErrBodyMismatch, got, header.TxHash)
	}
	body := types.Body{Transactions: txs}
	if header.WithdrawalsHash != nil {
		body.Withdrawals = []*types.Withdrawal{}
	}
	o.Header = header
	o.Block = types.NewBlockWithHeader(header).WithBody(body)

	if len(b.Witness) == 0 {
		return fail("witness: %w: empty", ErrInvalidPayload)
	}
	w := new(stateless.Witness)
	if err := rlp.DecodeBytes(b.Witness, w); err != nil {
		return fail("witness: %w: %v", ErrInvalidPayload, err)
	}
	if len(w.Headers) == 0 {
		return fail("witness: %w: no headers", ErrInvalidPayload)
	}
	want, wantNumber := header.ParentHash, b.Number
	for i, wh := range w.Headers {
		if wantNumber == 0 {
			return fail("witness header %d: %w: goes below genesis", i, ErrInvalidPayload)
		}
		wantNumber--
		if wh.Number == nil || !wh.Number.IsUint64() || wh.Number.Uint64() != wantNumber {
			return fail("witness header %d: %w: number %v, want %d", i, ErrInvalidPayload, wh.Number, wantNumber)
		}
		if got := wh.Hash(); got != want {
			return fail("witness header %d: %w: hash %v, want %v", i, ErrInvalidPayload, got, want)
		}
		want = wh.ParentHash
	}
	o.Witness = w
	return o, nil
}

// Attestation is a prover's signed statement that block Number with Hash
// re-executes from PreRoot to PostRoot.
type Attestation struct {
	ChainID  uint64
	Number   uint64
	Hash     common.Hash
	PreRoot  common.Hash
	PostRoot common.Hash
	Sig      []byte // 65 bytes [R ‖ S ‖ V], V in {0,1}, over SigningHash
}

const (
	attestationDomain = "meganode attestation v1"
	faultDomain       = "meganode fault v2"
)

// SigningHash is keccak256 of the domain "meganode attestation v1" followed
// by the RLP list of every field but Sig.
func (a *Attestation) SigningHash() common.Hash {
	return signingHash(attestationDomain, []any{a.ChainID, a.Number, a.Hash, a.PreRoot, a.PostRoot})
}

// Sign signs the attestation with key.
func (a *Attestation) Sign(key *ecdsa.PrivateKey) error {
	sig, err := sign(a.SigningHash(), key)
	if err != nil {
		return fmt.Errorf("sign attestation of block %d: %w", a.Number, err)
	}
	a.Sig = sig
	return nil
}

// Signer recovers the address that signed the attestation.
func (a *Attestation) Signer() (common.Address, error) {
	addr, err := recoverSigner(a.SigningHash(), a.Sig)
	if err != nil {
		return common.Address{}, fmt.Errorf("attestation of block %d: %w", a.Number, err)
	}
	return addr, nil
}

// VerifySigner checks that the attestation was signed by want.
func (a *Attestation) VerifySigner(want common.Address) error {
	return verifySigner("attestation", a.Number, a.Signer, want)
}

// Encode returns the framed attestation (format FormatAttestationV1).
func (a *Attestation) Encode() []byte { return FrameRLP(FormatAttestationV1, a) }

// DecodeAttestation decodes a framed attestation. The signature must be 65
// bytes; whose it is, is the caller's to check (Signer, VerifySigner).
func DecodeAttestation(rec []byte) (*Attestation, error) {
	a := new(Attestation)
	if err := decodeRecord(FormatAttestationV1, "attestation", rec, a); err != nil {
		return nil, err
	}
	if err := within("attestation", "signature bytes", len(a.Sig), crypto.SignatureLength, crypto.SignatureLength); err != nil {
		return nil, err
	}
	return a, nil
}

// FaultReport is a prover's signed statement that block Number with Hash
// failed validation; Reason names the first mismatch. Evidence is the
// block's bundle as the sequencer published it (FormatBlockBundleV1):
// whoever receives the report opens it under the sequencer's key, checks
// that it is block Number with Hash, and validates it itself, so that a
// report is believed for what it shows, not for who signed it.
type FaultReport struct {
	ChainID  uint64
	Number   uint64
	Hash     common.Hash
	Reason   string // at most MaxReasonBytes
	Evidence []byte // the framed bundle, at most MaxEvidenceBytes
	Sig      []byte // 65 bytes [R ‖ S ‖ V], V in {0,1}, over SigningHash
}

// SigningHash is keccak256 of the domain "meganode fault v2" followed by
// the RLP list of every field but Sig, Evidence standing as its keccak256.
func (f *FaultReport) SigningHash() common.Hash {
	return signingHash(faultDomain, []any{f.ChainID, f.Number, f.Hash, f.Reason, crypto.Keccak256Hash(f.Evidence)})
}

// Sign signs the report with key.
func (f *FaultReport) Sign(key *ecdsa.PrivateKey) error {
	sig, err := sign(f.SigningHash(), key)
	if err != nil {
		return fmt.Errorf("sign fault report of block %d: %w", f.Number, err)
	}
	f.Sig = sig
	return nil
}

// Signer recovers the address that signed the report.
func (f *FaultReport) Signer() (common.Address, error) {
	addr, err := recoverSigner(f.SigningHash(), f.Sig)
	if err != nil {
		return common.Address{}, fmt.Errorf("fault report of block %d: %w", f.Number, err)
	}
	return addr, nil
}

// VerifySigner checks that the report was signed by want.
func (f *FaultReport) VerifySigner(want common.Address) error {
	return verifySigner("fault report", f.Number, f.Signer, want)
}

// Encode returns the framed report (format FormatFaultReportV2).
func (f *FaultReport) Encode() []byte { return FrameRLP(FormatFaultReportV2, f) }

// ErrNoEvidence is the error of a fault report in the old format, which
// carried no evidence: this build refuses it.
var ErrNoEvidence = errors.New("fault report carries no evidence")

// DecodeFaultReport decodes a framed fault report: a 65-byte signature, a
// reason of at most MaxReasonBytes, evidence of at most MaxEvidenceBytes
// (it may be empty: a receiver refuses such a report, and blames its
// signer). A report in the old format (FormatFaultReportV1, no evidence)
// is refused with ErrNoEvidence.
func DecodeFaultReport(rec []byte) (*FaultReport, error) {
	if Kind(rec) == FormatFaultReportV1 {
		return nil, fmt.Errorf("decode fault report: %w: format %v, this build reads %v", ErrNoEvidence, FormatFaultReportV1, FormatFaultReportV2)
	}
	f := new(FaultReport)
	if err := decodeRecord(FormatFaultReportV2, "fault report", rec, f); err != nil {
		return nil, err
	}
	if err := within("fault report", "reason bytes", len(f.Reason), 0, MaxReasonBytes); err != nil {
		return nil, err
	}
	if err := within("fault report", "evidence bytes", len(f.Evidence), 0, MaxEvidenceBytes); err != nil {
		return nil, err
	}
	if err := within("fault report", "signature bytes", len(f.Sig), crypto.SignatureLength, crypto.SignatureLength); err != nil {
		return nil, err
	}
	return f, nil
}

// AttRequest asks a prover for its attestations and fault reports of
// blocks From..From+Count-1. ID is the requester's, echoed in the response.
type AttRequest struct {
	ID    uint64
	From  uint64
	Count uint64 // 1 to MaxAttCount
}

// Encode returns the framed request (format FormatAttRequestV1).
func (r *AttRequest) Encode() []byte { return FrameRLP(FormatAttRequestV1, r) }

// DecodeAttRequest decodes a framed attestation request: Count 1 to
// MaxAttCount, a range that does not wrap around.
func DecodeAttRequest(rec []byte) (*AttRequest, error) {
	r := new(AttRequest)
	if err := decodeRecord(FormatAttRequestV1, "attestation request", rec, r); err != nil {
		return nil, err
	}
	if err := checkRange("attestation request", r.From, r.Count, MaxAttCount); err != nil {
		return nil, err
	}
	return r, nil
}

// AttResponse answers an AttRequest with the framed attestations
// (FormatAttestationV1) and fault reports (FormatFaultReportV2) the prover
// has of the blocks asked about, each at most MaxAttCount.
type AttResponse struct {
	ID           uint64
	Attestations [][]byte
	Faults       [][]byte
}

// Encode returns the framed response (format FormatAttResponseV1).
func (r *AttResponse) Encode() []byte { return FrameRLP(FormatAttResponseV1, r) }

// DecodeAttResponse decodes a framed attestation response. The statements
// inside are left encoded, for the caller to decode and check one by one.
func DecodeAttResponse(rec []byte) (*AttResponse, error) {
	r := new(AttResponse)
	if err := decodeRecord(FormatAttResponseV1, "attestation response", rec, r); err != nil {
		return nil, err
	}
	if err := within("attestation response", "attestations", len(r.Attestations), 0, MaxAttCount); err != nil {
		return nil, err
	}
	if err := within("attestation response", "fault reports", len(r.Faults), 0, MaxAttCount); err != nil {
		return nil, err
	}
	return r, nil
}

func signingHash(domain string, fields []any) common.Hash {
	b, err := rlp.EncodeToBytes(fields)
	if err != nil {
		panic(err) // integers, hashes and strings always encode
	}
	return crypto.Keccak256Hash([]byte(domain), b)
}

func sign(h common.Hash, key *ecdsa.PrivateKey) ([]byte, error) {
	if key == nil {
		return nil, errors.New("no key")
	}
	return crypto.Sign(h[:], key)
}

func recoverSigner(h common.Hash, sig []byte) (common.Address, error) {
	if len(sig) != crypto.SignatureLength {
		return common.Address{}, fmt.Errorf("%w: %d-byte signature", ErrBadSignature, len(sig))
	}
	a, err := signers.recover(h, sig)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return a, nil
}

func verifySigner(what string, number uint64, signer func() (common.Address, error), want common.Address) error {
	got, err := signer()
	if err != nil {
		return err
	}
	if got != want {
		return fmt.Errorf("%w: %s of block %d signed by %v, want %v", ErrBadSignature, what, number, got, want)
	}
	return nil
}

// decodeRecord checks rec's frame and decodes its payload into v, with no
// bytes left over.
func decodeRecord(f Format, what string, rec []byte, v any) error {
	payload, err := Unframe(f, rec)
	if err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if err := decodeExact(payload, v); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

// within checks lo <= n <= hi.
func within(what, of string, n, lo, hi int) error {
	if n < lo || n > hi {
		return fmt.Errorf("decode %s: %w: %d %s, want %d to %d", what, ErrInvalidPayload, n, of, lo, hi)
	}
	return nil
}

// checkRange checks a request for count items from from on: count 1 to
// limit, and from+count-1 does not wrap around.
func checkRange(what string, from, count uint64, limit int) error {
	if count == 0 || count > uint64(limit) {
		return fmt.Errorf("decode %s: %w: count %d, want 1 to %d", what, ErrInvalidPayload, count, limit)
	}
	if from+(count-1) < from {
		return fmt.Errorf("decode %s: %w: %d items from %d wrap around", what, ErrInvalidPayload, count, from)
	}
	return nil
}
