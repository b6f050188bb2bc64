package chain

import (
	"bytes"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
)

// MiniBlockHeader describes a mini-block and commits to its body. The
// sequencer signs its hash.
type MiniBlockHeader struct {
	Number      uint64      // global mini-block number, from 0 at genesis
	BlockNumber uint64      // the EVM block this mini-block belongs to
	Index       uint64      // position of this mini-block within its EVM block
	TimeMicros  uint64      // sequencer time of sealing, µs since the Unix epoch
	ParentHash  common.Hash // hash of mini-block Number-1
	GasUsed     uint64      // gas used by this mini-block's transactions
	TxOffset    uint64      // index within the EVM block of the first transaction
	LogOffset   uint64      // index within the EVM block of the first log
	TxHash      common.Hash // keccak256 of the RLP list of transactions
	ReceiptHash common.Hash // keccak256 of the RLP list of receipts
	DiffHash    common.Hash // Diff.Hash of the merged state diff
	// SealHash is the hash of the EVM block header this mini-block seals,
	// when it is the last mini-block of its block; zero otherwise. The
	// header itself travels in MiniBlock.Sealed.
	SealHash common.Hash
	// Term is the raft term of the sequencer group's leader that built
	// the mini-block (node/raftlog); 0 for a lone sequencer. Along the
	// chain it never goes down: a fullnode refuses a mini-block from a
	// term older than one it applied (the fencing of a deposed leader).
	// An optional field: a lone sequencer's header encodes as before.
	Term uint64 `rlp:"optional"`
}

// Hash is keccak256 of the header's RLP encoding.
func (h *MiniBlockHeader) Hash() common.Hash {
	b, err := rlp.EncodeToBytes(h)
	if err != nil {
		panic(err) // a struct of fixed-size fields always encodes
	}
	return crypto.Keccak256Hash(b)
}

// MiniBlock is what the sequencer streams every mini-block interval: the
// transactions it executed, their receipts, the merged state diff, and its
// secp256k1 signature over the header hash.
type MiniBlock struct {
	Header   MiniBlockHeader
	Txs      []*types.Transaction
	Receipts []*types.Receipt
	Diff     *Diff
	// Sealed is the sealed EVM block header when this is the last mini-block
	// of its block: its state root is the state after this mini-block, its
	// transactions and receipts roots cover every mini-block of the block.
	Sealed    *types.Header
	Signature []byte // 65 bytes [R ‖ S ‖ V], V in {0,1}
}

// Seals reports whether the mini-block ends an EVM block.
func (m *MiniBlock) Seals() bool { return m.Sealed != nil }

// Hash is the header hash, which identifies the mini-block.
func (m *MiniBlock) Hash() common.Hash { return m.Header.Hash() }

// Seal fills the header's body commitments (TxHash, ReceiptHash, DiffHash)
// from the body and signs the header with key.
func (m *MiniBlock) Seal(key *ecdsa.PrivateKey) error {
	if len(m.Txs) != len(m.Receipts) {
		return fmt.Errorf("mini-block %d: %d transactions but %d receipts", m.Header.Number, len(m.Txs), len(m.Receipts))
	}
	if m.Diff == nil {
		m.Diff = new(Diff)
	}
	m.Header.TxHash = hashTxs(m.Txs)
	m.Header.ReceiptHash = hashReceipts(m.Receipts)
	m.Header.DiffHash = m.Diff.Hash()
	m.Header.SealHash = common.Hash{}
	if m.Sealed != nil {
		if m.Sealed.Number == nil || m.Sealed.Number.Uint64() != m.Header.BlockNumber {
			return fmt.Errorf("mini-block %d: seals block %v but belongs to block %d", m.Header.Number, m.Sealed.Number, m.Header.BlockNumber)
		}
		m.Header.SealHash = m.Sealed.Hash()
	}
	h := m.Header.Hash()
	sig, err := crypto.Sign(h[:], key)
	if err != nil {
		return fmt.Errorf("sign mini-block %d: %w", m.Header.Number, err)
	}
	m.Signature = sig
	return nil
}

// Signer recovers the address that signed the mini-block.
func (m *MiniBlock) Signer() (common.Address, error) {
	if len(m.Signature) != crypto.SignatureLength {
		return common.Address{}, fmt.Errorf("%w: %d-byte signature", ErrInvalidSigner, len(m.Signature))
	}
	a, err := signers.recover(m.Header.Hash(), m.Signature)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %v", ErrInvalidSigner, err)
	}
	return a, nil
}

// VerifySigner checks that the mini-block was signed by want.
func (m *MiniBlock) VerifySigner(want common.Address) error {
	return m.VerifyKeys(Keys(want))
}

// VerifyKeys checks that the mini-block was signed by one of keys, one
// that may sign its number: a lone sequencer's key, or a sequencer
// group's, or a retired key up to its last mini-block.
func (m *MiniBlock) VerifyKeys(keys KeySet) error {
	got, err := m.Signer()
	if err != nil {
		return err
	}
	if !keys.Allows(got, m.Header.Number) {
		return fmt.Errorf("%w: mini-block %d signed by %v, want %v", ErrInvalidSigner, m.Header.Number, got, keys)
	}
	return nil
}

// Key is a key that may sign mini-blocks: up to mini-block Last when it
// is retired (rotated out: it signed nothing after, and a thief who has
// it can sign nothing anyone takes), with no bound when Last is 0.
type Key struct {
	Addr common.Address
	Last uint64
}

// KeySet is the keys a chain's mini-blocks may be signed with: one for a
// lone sequencer, one per member for a sequencer group (any member may
// lead, and signs with its own key), and the retired ones, each up to its
// last mini-block. It is configuration, the same on every node of a
// chain; rotating a key is a change of it (see the README, "Sequencer
// failover").
type KeySet []Key

// Keys is the key set of addrs, none bounded.
func Keys(addrs ...common.Address) KeySet {
	k := make(KeySet, len(addrs))
	for i, a := range addrs {
		k[i] = Key{Addr: a}
	}
	return k
}

// Allows reports whether a may sign mini-block n.
func (k KeySet) Allows(a common.Address, n uint64) bool {
	for _, x := range k {
		if x.Addr == a && (x.Last == 0 || n <= x.Last) {
			return true
		}
	}
	return false
}

// Has reports whether a is one of the keys, bounded or not.
func (k KeySet) Has(a common.Address) bool {
	for _, x := range k {
		if x.Addr == a {
			return true
		}
	}
	return false
}

func (k KeySet) String() string {
	parts := make([]string, len(k))
	for i, x := range k {
		parts[i] = x.Addr.Hex()
		if x.Last > 0 {
			parts[i] += fmt.Sprintf(" (to mini-block %d)", x.Last)
		}
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "one of [" + strings.Join(parts, ", ") + "]"
}

// miniBlockRLP is the wire layout of a mini-block.
type miniBlockRLP struct {
	Header    MiniBlockHeader
	Txs       []*types.Transaction
	Receipts  []receiptRLP
	Diff      *Diff
	Seal      *types.Header `rlp:"nil"`
	Signature []byte
}

// Encode returns the framed encoding (format FormatMiniBlockV1).
func (m *MiniBlock) Encode() ([]byte, error) {
	if len(m.Txs) != len(m.Receipts) {
		return nil, fmt.Errorf("encode mini-block %d: %d transactions but %d receipts", m.Header.Number, len(m.Txs), len(m.Receipts))
	}
	d := m.Diff
	if d == nil {
		d = new(Diff)
	}
	w := miniBlockRLP{Header: m.Header, Txs: m.Txs, Receipts: toReceiptRLP(m.Receipts), Diff: d, Seal: m.Sealed, Signature: m.Signature}
	payload, err := rlp.EncodeToBytes(&w)
	if err != nil {
		return nil, fmt.Errorf("encode mini-block %d: %w", m.Header.Number, err)
	}
	return Frame(FormatMiniBlockV1, payload), nil
}

// DecodeMiniBlock decodes a framed mini-block and checks that its body
// matches the header's commitments. It does not check the signature (the
// caller knows which key to expect: see VerifySigner). Receipts come back
// with their derived fields (transaction hash and index, logs' positions,
// bloom) filled in; block hash fields are left zero.
func DecodeMiniBlock(rec []byte) (*MiniBlock, error) {
	payload, err := Unframe(FormatMiniBlockV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode mini-block: %w", err)
	}
	var w miniBlockRLP
	if err := decodeExact(payload, &w); err != nil {
		return nil, fmt.Errorf("decode mini-block: %w", err)
	}
	if len(w.Txs) != len(w.Receipts) {
		return nil, fmt.Errorf("decode mini-block %d: %w: %d transactions but %d receipts", w.Header.Number, ErrInvalidPayload, len(w.Txs), len(w.Receipts))
	}
	m := &MiniBlock{Header: w.Header, Txs: w.Txs, Diff: w.Diff, Sealed: w.Seal, Signature: w.Signature}
	if m.Diff == nil {
		m.Diff = new(Diff)
	}
	m.Receipts, err = fromReceiptRLP(w.Receipts, m.Txs, &m.Header)
	if err != nil {
		return nil, fmt.Errorf("decode mini-block %d: %w", w.Header.Number, err)
	}
	if got := hashTxs(m.Txs); got != m.Header.TxHash {
		return nil, fmt.Errorf("decode mini-block %d: transactions: %w", m.Header.Number, ErrBodyMismatch)
	}
	if got := hashReceipts(m.Receipts); got != m.Header.ReceiptHash {
		return nil, fmt.Errorf("decode mini-block %d: receipts: %w", m.Header.Number, ErrBodyMismatch)
	}
	if got := m.Diff.Hash(); got != m.Header.DiffHash {
		return nil, fmt.Errorf("decode mini-block %d: diff: %w", m.Header.Number, ErrBodyMismatch)
	}
	switch {
	case m.Sealed == nil && m.Header.SealHash != (common.Hash{}):
		return nil, fmt.Errorf("decode mini-block %d: seal missing: %w", m.Header.Number, ErrBodyMismatch)
	case m.Sealed != nil && m.Sealed.Hash() != m.Header.SealHash:
		return nil, fmt.Errorf("decode mini-block %d: seal: %w", m.Header.Number, ErrBodyMismatch)
	case m.Sealed != nil && (m.Sealed.Number == nil || m.Sealed.Number.Uint64() != m.Header.BlockNumber):
		return nil, fmt.Errorf("decode mini-block %d: %w: seals block %v in block %d", m.Header.Number, ErrInvalidPayload, m.Sealed.Number, m.Header.BlockNumber)
	}
	return m, nil
}

func hashTxs(txs []*types.Transaction) common.Hash {
	b, err := rlp.EncodeToBytes(txs)
	if err != nil {
		panic(err) // transactions built by go-ethereum always encode
	}
	return crypto.Keccak256Hash(b)
}

func hashReceipts(rs []*types.Receipt) common.Hash {
	b, err := rlp.EncodeToBytes(toReceiptRLP(rs))
	if err != nil {
		panic(err)
	}
	return crypto.Keccak256Hash(b)
}

// receiptRLP carries a receipt's consensus fields and the ones that cannot
// be derived from the transaction alone. The bloom is recomputed from the
// logs on decode.
type receiptRLP struct {
	Type              uint8
	Status            uint64
	CumulativeGasUsed uint64
	GasUsed           uint64
	EffectiveGasPrice *big.Int
	BlobGasUsed       uint64
	BlobGasPrice      *big.Int
	ContractAddress   common.Address
	Logs              []*types.Log
}

func bigOrZero(b *big.Int) *big.Int {
	if b == nil {
		return new(big.Int)
	}
	return b
}

func toReceiptRLP(rs []*types.Receipt) []receiptRLP {
	out := make([]receiptRLP, len(rs))
	for i, r := range rs {
		logs := r.Logs
		if logs == nil {
			logs = []*types.Log{}
		}
		out[i] = receiptRLP{
			Type:              r.Type,
			Status:            r.Status,
			CumulativeGasUsed: r.CumulativeGasUsed,
			GasUsed:           r.GasUsed,
			EffectiveGasPrice: bigOrZero(r.EffectiveGasPrice),
			BlobGasUsed:       r.BlobGasUsed,
			BlobGasPrice:      bigOrZero(r.BlobGasPrice),
			ContractAddress:   r.ContractAddress,
			Logs:              logs,
		}
	}
	return out
}

func fromReceiptRLP(ws []receiptRLP, txs []*types.Transaction, h *MiniBlockHeader) ([]*types.Receipt, error) {
	out := make([]*types.Receipt, len(ws))
	logIndex := h.LogOffset
	for i := range ws {
		w := &ws[i]
		tx := txs[i]
		if w.Type != tx.Type() {
			return nil, fmt.Errorf("%w: receipt %d has type %d, transaction has %d", ErrInvalidPayload, i, w.Type, tx.Type())
		}
		if w.Status > types.ReceiptStatusSuccessful {
			return nil, fmt.Errorf("%w: receipt %d has status %d", ErrInvalidPayload, i, w.Status)
		}
		r := &types.Receipt{
			Type:              w.Type,
			Status:            w.Status,
			CumulativeGasUsed: w.CumulativeGasUsed,
			GasUsed:           w.GasUsed,
			EffectiveGasPrice: w.EffectiveGasPrice,
			BlobGasUsed:       w.BlobGasUsed,
			ContractAddress:   w.ContractAddress,
			Logs:              w.Logs,
			TxHash:            tx.Hash(),
			BlockNumber:       new(big.Int).SetUint64(h.BlockNumber),
			TransactionIndex:  uint(h.TxOffset + uint64(i)),
		}
		if w.BlobGasUsed > 0 {
			r.BlobGasPrice = w.BlobGasPrice
		} else if w.BlobGasPrice.Sign() != 0 {
			return nil, fmt.Errorf("%w: receipt %d has a blob gas price but no blob gas", ErrInvalidPayload, i)
		}
		for _, l := range r.Logs {
			l.TxHash = r.TxHash
			l.TxIndex = r.TransactionIndex
			l.BlockNumber = h.BlockNumber
			l.Index = uint(logIndex)
			logIndex++
		}
		r.Bloom = types.CreateBloom(r)
		out[i] = r
	}
	return out, nil
}

// DecodeTx decodes one transaction in its canonical (EIP-2718) binary form,
// as eth_sendRawTransaction receives it. Any defect is an error.
func DecodeTx(raw []byte) (*types.Transaction, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("decode transaction: %w: empty input", ErrTruncated)
	}
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(raw); err != nil {
		return nil, fmt.Errorf("decode transaction: %w", err)
	}
	// UnmarshalBinary is lenient about a legacy transaction followed by more
	// data inside its RLP list; re-encoding catches any non-canonical form.
	enc, err := tx.MarshalBinary()
	if err != nil || !bytes.Equal(enc, raw) {
		return nil, fmt.Errorf("decode transaction: %w", ErrNonCanonical)
	}
	return tx, nil
}

// EncodeBlock returns the framed encoding of a sealed EVM block (format
// FormatBlockV1): go-ethereum's RLP of header, transactions and withdrawals.
func EncodeBlock(b *types.Block) ([]byte, error) {
	payload, err := rlp.EncodeToBytes(b)
	if err != nil {
		return nil, fmt.Errorf("encode block %d: %w", b.NumberU64(), err)
	}
	return Frame(FormatBlockV1, payload), nil
}

// DecodeBlock decodes a framed EVM block and checks that its transactions
// match the header's transactions root.
func DecodeBlock(rec []byte) (*types.Block, error) {
	payload, err := Unframe(FormatBlockV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	b := new(types.Block)
	if err := decodeExact(payload, b); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	if got := types.DeriveSha(b.Transactions(), trieHasher()); got != b.TxHash() {
		return nil, fmt.Errorf("decode block %d: transactions root %v, header says %v: %w", b.NumberU64(), got, b.TxHash(), ErrBodyMismatch)
	}
	return b, nil
}
