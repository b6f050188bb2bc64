package chain

import (
	"bytes"
	"fmt"
	"io"
	"slices"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/holiman/uint256"
)

// Flags say what an AccountDiff changes.
type Flags uint8

const (
	// SetNonce, SetBalance and SetCode mark the fields whose new values the
	// AccountDiff carries; the others are unchanged.
	SetNonce Flags = 1 << iota
	SetBalance
	SetCode
	// Reset: the account was removed, with all its storage, and then created
	// again. Applying it wipes the account first; fields not set are zero.
	Reset
	// Deleted: the account does not exist afterwards (self-destructed, or an
	// empty account cleared by EIP-161). Nothing else is set.
	Deleted

	allFlags = SetNonce | SetBalance | SetCode | Reset | Deleted
)

// Slot is one storage slot's new value. A zero Value clears the slot.
type Slot struct {
	Key, Value common.Hash
}

// AccountDiff is the exact change of one account. An AccountDiff with no
// flags and no storage means "the account now exists" (it was created empty,
// which only happens without EIP-161).
type AccountDiff struct {
	Address common.Address
	Flags   Flags
	Nonce   uint64
	Balance uint256.Int
	Code    []byte // the new code when SetCode is set (may be empty), else nil
	Storage []Slot // ascending by Key, no duplicates
}

// Diff is the exact state change of a transaction or of a run of them (a
// mini-block): for every account whose existence, nonce, balance, code or
// storage changed, the new values. Accounts are in ascending address order.
// Applying a Diff is deterministic and needs no execution.
type Diff struct {
	Accounts []AccountDiff
}

// Empty reports whether the diff changes nothing.
func (d *Diff) Empty() bool { return d == nil || len(d.Accounts) == 0 }

// Slots is the number of storage slots the diff writes.
func (d *Diff) Slots() int {
	n := 0
	for i := range d.Accounts {
		n += len(d.Accounts[i].Storage)
	}
	return n
}

// Account returns the entry for addr, or nil.
func (d *Diff) Account(addr common.Address) *AccountDiff {
	i, ok := slices.BinarySearchFunc(d.Accounts, addr, func(a AccountDiff, t common.Address) int {
		return bytes.Compare(a.Address[:], t[:])
	})
	if !ok {
		return nil
	}
	return &d.Accounts[i]
}

// Merge returns the diff equal to applying d and then next. Neither input is
// modified, and the result shares no memory with them.
func (d *Diff) Merge(next *Diff) *Diff {
	out := &Diff{Accounts: make([]AccountDiff, 0, len(d.Accounts)+len(next.Accounts))}
	i, j := 0, 0
	for i < len(d.Accounts) || j < len(next.Accounts) {
		switch {
		case j == len(next.Accounts):
			out.Accounts = append(out.Accounts, d.Accounts[i].clone())
			i++
		case i == len(d.Accounts):
			out.Accounts = append(out.Accounts, next.Accounts[j].clone())
			j++
		default:
			c := bytes.Compare(d.Accounts[i].Address[:], next.Accounts[j].Address[:])
			switch {
			case c < 0:
				out.Accounts = append(out.Accounts, d.Accounts[i].clone())
				i++
			case c > 0:
				out.Accounts = append(out.Accounts, next.Accounts[j].clone())
				j++
			default:
				out.Accounts = append(out.Accounts, mergeAccount(&d.Accounts[i], &next.Accounts[j]))
				i++
				j++
			}
		}
	}
	return out
}

func mergeAccount(a, b *AccountDiff) AccountDiff {
	switch {
	case b.Flags&(Deleted|Reset) != 0:
		return b.clone()
	case a.Flags&Deleted != 0:
		// The account was gone; b creates it afresh.
		m := b.clone()
		m.Flags |= Reset
		return m
	}
	m := a.clone()
	m.Flags |= b.Flags
	if b.Flags&SetNonce != 0 {
		m.Nonce = b.Nonce
	}
	if b.Flags&SetBalance != 0 {
		m.Balance = b.Balance
	}
	if b.Flags&SetCode != 0 {
		m.Code = bytes.Clone(b.Code)
		if m.Code == nil {
			m.Code = []byte{}
		}
	}
	m.Storage = mergeSlots(a.Storage, b.Storage)
	return m
}

func mergeSlots(a, b []Slot) []Slot {
	if len(b) == 0 {
		return slices.Clone(a)
	}
	out := make([]Slot, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b):
			out = append(out, a[i])
			i++
		case i == len(a):
			out = append(out, b[j])
			j++
		default:
			c := bytes.Compare(a[i].Key[:], b[j].Key[:])
			switch {
			case c < 0:
				out = append(out, a[i])
				i++
			case c > 0:
				out = append(out, b[j])
				j++
			default:
				out = append(out, b[j])
				i++
				j++
			}
		}
	}
	return out
}

func (a *AccountDiff) clone() AccountDiff {
	c := *a
	if a.Code != nil {
		c.Code = bytes.Clone(a.Code)
	}
	c.Storage = slices.Clone(a.Storage)
	return c
}

// Clone returns a deep copy of d.
func (d *Diff) Clone() *Diff {
	out := &Diff{Accounts: make([]AccountDiff, len(d.Accounts))}
	for i := range d.Accounts {
		out.Accounts[i] = d.Accounts[i].clone()
	}
	return out
}

// WithBalance returns a copy of d that also sets addr's balance to bal,
// in canonical order (an entry for addr keeps its other changes). It is
// how fault injection (tests, the simulator's byzantine sequencer) makes a
// diff that disagrees with execution.
func (d *Diff) WithBalance(addr common.Address, bal *uint256.Int) *Diff {
	out := d.Clone()
	i, found := slices.BinarySearchFunc(out.Accounts, addr, func(a AccountDiff, t common.Address) int { return bytes.Compare(a.Address[:], t[:]) })
	if !found {
		out.Accounts = slices.Insert(out.Accounts, i, AccountDiff{Address: addr})
	}
	out.Accounts[i].Flags |= SetBalance
	out.Accounts[i].Balance = *bal
	return out
}

// Validate checks the canonical form: accounts and slots strictly ascending,
// only known flags, Deleted alone, Code present exactly when SetCode is.
func (d *Diff) Validate() error {
	for i := range d.Accounts {
		a := &d.Accounts[i]
		if i > 0 && bytes.Compare(d.Accounts[i-1].Address[:], a.Address[:]) >= 0 {
			return fmt.Errorf("%w: account %v out of order", ErrInvalidPayload, a.Address)
		}
		if a.Flags&^allFlags != 0 {
			return fmt.Errorf("%w: account %v has unknown flags %#x", ErrInvalidPayload, a.Address, byte(a.Flags))
		}
		if a.Flags&Deleted != 0 && (a.Flags != Deleted || len(a.Storage) > 0) {
			return fmt.Errorf("%w: deleted account %v carries changes", ErrInvalidPayload, a.Address)
		}
		if (a.Flags&SetNonce == 0 && a.Nonce != 0) || (a.Flags&SetBalance == 0 && !a.Balance.IsZero()) {
			return fmt.Errorf("%w: account %v has a value for a field it does not set", ErrInvalidPayload, a.Address)
		}
		if (a.Flags&SetCode != 0) != (a.Code != nil) {
			return fmt.Errorf("%w: account %v code does not match its SetCode flag", ErrInvalidPayload, a.Address)
		}
		for k := 1; k < len(a.Storage); k++ {
			if bytes.Compare(a.Storage[k-1].Key[:], a.Storage[k].Key[:]) >= 0 {
				return fmt.Errorf("%w: account %v slot %v out of order", ErrInvalidPayload, a.Address, a.Storage[k].Key)
			}
		}
	}
	return nil
}

// EncodeRLP implements rlp.Encoder. Each account is
// [address, flags, nonce?, balance?, code?, [key, value, key, value, ...]]
// with the optional fields present as the flags say, and slot keys and values
// as big-endian integers without leading zeros.
func (d *Diff) EncodeRLP(w io.Writer) error {
	buf := rlp.NewEncoderBuffer(w)
	d.encode(buf)
	return buf.Flush()
}

func (d *Diff) encode(buf rlp.EncoderBuffer) {
	outer := buf.List()
	for i := range d.Accounts {
		a := &d.Accounts[i]
		l := buf.List()
		buf.WriteBytes(a.Address[:])
		buf.WriteUint64(uint64(a.Flags))
		if a.Flags&SetNonce != 0 {
			buf.WriteUint64(a.Nonce)
		}
		if a.Flags&SetBalance != 0 {
			buf.WriteUint256(&a.Balance)
		}
		if a.Flags&SetCode != 0 {
			buf.WriteBytes(a.Code)
		}
		sl := buf.List()
		for _, s := range a.Storage {
			buf.WriteBytes(trimHash(s.Key))
			buf.WriteBytes(trimHash(s.Value))
		}
		buf.ListEnd(sl)
		buf.ListEnd(l)
	}
	buf.ListEnd(outer)
}

// DecodeRLP implements rlp.Decoder. It accepts only the canonical form.
func (d *Diff) DecodeRLP(s *rlp.Stream) error {
	if _, err := s.List(); err != nil {
		return err
	}
	d.Accounts = d.Accounts[:0]
	for s.MoreDataInList() {
		var a AccountDiff
		if _, err := s.List(); err != nil {
			return err
		}
		if err := s.ReadBytes(a.Address[:]); err != nil {
			return fmt.Errorf("address: %w", err)
		}
		f, err := s.Uint8()
		if err != nil {
			return fmt.Errorf("flags: %w", err)
		}
		a.Flags = Flags(f)
		if a.Flags&SetNonce != 0 {
			if a.Nonce, err = s.Uint64(); err != nil {
				return fmt.Errorf("nonce: %w", err)
			}
		}
		if a.Flags&SetBalance != 0 {
			if err := s.ReadUint256(&a.Balance); err != nil {
				return fmt.Errorf("balance: %w", err)
			}
		}
		if a.Flags&SetCode != 0 {
			if a.Code, err = s.Bytes(); err != nil {
				return fmt.Errorf("code: %w", err)
			}
			if a.Code == nil {
				a.Code = []byte{}
			}
		}
		if _, err := s.List(); err != nil {
			return fmt.Errorf("storage: %w", err)
		}
		for s.MoreDataInList() {
			var slot Slot
			if slot.Key, err = readHash(s); err != nil {
				return fmt.Errorf("slot key: %w", err)
			}
			if slot.Value, err = readHash(s); err != nil {
				return fmt.Errorf("slot value: %w", err)
			}
			a.Storage = append(a.Storage, slot)
		}
		if err := s.ListEnd(); err != nil {
			return err
		}
		if err := s.ListEnd(); err != nil {
			return err
		}
		d.Accounts = append(d.Accounts, a)
	}
	if err := s.ListEnd(); err != nil {
		return err
	}
	return d.Validate()
}

func trimHash(h common.Hash) []byte {
	i := 0
	for i < len(h) && h[i] == 0 {
		i++
	}
	return h[i:]
}

func readHash(s *rlp.Stream) (common.Hash, error) {
	b, err := s.Bytes()
	if err != nil {
		return common.Hash{}, err
	}
	if len(b) > common.HashLength {
		return common.Hash{}, fmt.Errorf("%w: %d-byte word", ErrInvalidPayload, len(b))
	}
	if len(b) > 0 && b[0] == 0 {
		return common.Hash{}, fmt.Errorf("%w: word with leading zero", ErrNonCanonical)
	}
	return common.BytesToHash(b), nil
}

// Payload is the diff's RLP encoding, without a frame.
func (d *Diff) Payload() []byte {
	var bb bytes.Buffer
	buf := rlp.NewEncoderBuffer(&bb)
	d.encode(buf)
	if err := buf.Flush(); err != nil {
		panic(err) // writing to a bytes.Buffer cannot fail
	}
	return bb.Bytes()
}

// Hash is keccak256 of the diff's RLP encoding: the commitment a mini-block
// header carries.
func (d *Diff) Hash() common.Hash { return crypto.Keccak256Hash(d.Payload()) }

// Encode returns the framed encoding of d (format FormatDiffV1).
func (d *Diff) Encode() []byte { return Frame(FormatDiffV1, d.Payload()) }

// DecodeDiff decodes a framed diff. It never panics; any defect is an error.
func DecodeDiff(rec []byte) (*Diff, error) {
	payload, err := Unframe(FormatDiffV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode diff: %w", err)
	}
	d := new(Diff)
	if err := decodeExact(payload, d); err != nil {
		return nil, fmt.Errorf("decode diff: %w", err)
	}
	return d, nil
}

// decodeExact RLP-decodes payload into v and rejects trailing bytes.
func decodeExact(payload []byte, v any) error {
	s := rlp.NewStream(bytes.NewReader(payload), uint64(len(payload)))
	if err := s.Decode(v); err != nil {
		return err
	}
	if _, _, err := s.Kind(); err != io.EOF {
		return ErrTrailingBytes
	}
	return nil
}
