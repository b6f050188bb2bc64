package api

import (
	"errors"
	"fmt"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/chain"
)

// Method names a client call.
type Method uint8

// The methods of the client API that exist so far, with the JSON-RPC
// method each one carries.
const (
	MethodSendTx     Method = iota + 1 // eth_sendRawTransaction / realtime_sendRawTransaction
	MethodSendTxSync                   // eth_sendRawTransactionSync (EIP-7966)
	MethodReceipt                      // eth_getTransactionReceipt
	MethodBalance                      // eth_getBalance
	MethodNonce                        // eth_getTransactionCount
	MethodCode                         // eth_getCode
	MethodStorage                      // eth_getStorageAt
	MethodCall                         // eth_call
	MethodBlock                        // eth_getBlockByNumber
	MethodMiniBlock                    // meganode_getMiniBlockByNumber
	MethodHead                         // eth_blockNumber, and the newest mini-block
	methodEnd
)

var methodNames = [...]string{
	MethodSendTx: "sendRawTransaction", MethodSendTxSync: "sendRawTransactionSync", MethodReceipt: "getTransactionReceipt",
	MethodBalance: "getBalance", MethodNonce: "getTransactionCount", MethodCode: "getCode", MethodStorage: "getStorageAt",
	MethodCall: "call", MethodBlock: "getBlockByNumber", MethodMiniBlock: "getMiniBlockByNumber", MethodHead: "head",
}

func (m Method) String() string {
	if m > 0 && m < methodEnd {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", m)
}

// IsRead reports whether the method reads state at a tag.
func (m Method) IsRead() bool {
	return m == MethodBalance || m == MethodNonce || m == MethodCode || m == MethodStorage || m == MethodCall
}

// TagKind says which state a read asks for.
type TagKind uint8

// Block tags (DESIGN.md §4). Pending reads the same state as latest: the
// newest mini-block.
const (
	TagLatest    TagKind = iota // the newest mini-block the node has applied
	TagSafe                     // the newest sealed EVM block the node has checked
	TagBlock                    // the sealed EVM block Number
	TagMiniBlock                // right after mini-block Number
	TagFinalized                // the newest sealed block a quorum of provers attested, with all before it
	tagEnd
)

// Tag selects the state a read is served at.
type Tag struct {
	Kind   TagKind
	Number uint64
}

// Latest, Safe, AtBlock and AtMiniBlock build tags.
var (
	Latest    = Tag{Kind: TagLatest}
	Safe      = Tag{Kind: TagSafe}
	Finalized = Tag{Kind: TagFinalized}
)

// AtBlock is the tag of sealed block n.
func AtBlock(n uint64) Tag { return Tag{Kind: TagBlock, Number: n} }

// AtMiniBlock is the tag of mini-block n.
func AtMiniBlock(n uint64) Tag { return Tag{Kind: TagMiniBlock, Number: n} }

func (t Tag) String() string {
	switch t.Kind {
	case TagLatest:
		return "latest"
	case TagSafe:
		return "safe"
	case TagFinalized:
		return "finalized"
	case TagBlock:
		return fmt.Sprintf("block %d", t.Number)
	case TagMiniBlock:
		return fmt.Sprintf("mini-block %d", t.Number)
	}
	return fmt.Sprintf("tag(%d)", t.Kind)
}

// Height is where a node's answer comes from: the mini-block whose state
// it read, and the EVM block that mini-block belongs to.
type Height struct {
	MiniBlock uint64
	Block     uint64
}

// Call is one client call. Only the fields its Method uses are set.
type Call struct {
	Method    Method
	Raw       []byte         // the signed transaction (send)
	TimeoutMs uint64         // how long a synchronous send may wait; 0 for the node's default
	Hash      common.Hash    // the transaction (receipt)
	Address   common.Address // the account (reads), the callee (call)
	Key       common.Hash    // the storage slot
	From      common.Address // the caller (call)
	Data      []byte         // the input (call)
	Gas       uint64         // the gas (call); 0 for the node's cap
	Tag       Tag            // the state to read
	Number    uint64         // the block or mini-block (by number)
}

// Receipt is a transaction's receipt as the API returns it: the consensus
// fields, the derived ones, and the mini-block it was executed in.
type Receipt struct {
	TxHash            common.Hash
	Status            uint64
	GasUsed           uint64
	CumulativeGasUsed uint64
	EffectiveGasPrice *big.Int
	ContractAddress   common.Address
	Logs              []*types.Log
	BlockNumber       uint64
	BlockHash         common.Hash // zero until the block is sealed
	TxIndex           uint64
	MiniBlock         uint64
	// LogIndex is the index in the block of the first log. The logs'
	// positions and the fields they share with the receipt are not in the
	// log encoding: DecodeAnswer fills them in from these.
	LogIndex uint64
}

// Answer is a node's answer to a call. Err set means the call failed and
// changed nothing; otherwise the fields the method fills are set.
type Answer struct {
	Err       *Error `rlp:"nil"`
	At        Height // reads and head: where the answer comes from
	Hash      common.Hash
	Receipt   *Receipt `rlp:"nil"`
	Value     []byte   // balance (32 bytes), storage value (32 bytes), code, call output
	Nonce     uint64
	Block     []byte // chain.EncodeBlock
	MiniBlock []byte // chain.MiniBlock.Encode
	Safe      uint64 // head: the newest checked sealed block
	Finalized uint64 // head: the newest finalized block (fullnodes)
	Fault     string // head: a prover's fault report against this node's chain, which stops finality
}

// Finality is what a node knows of finality: the newest finalized block,
// and the fault report, if any, that stops finality before a block of its
// chain.
type Finality struct {
	Block uint64
	Fault string
}

// MaxCallSize bounds an encoded call; a larger one is refused undecoded.
const MaxCallSize = 1 << 20

// Encode returns the framed call.
func (c *Call) Encode() []byte {
	b, err := rlp.EncodeToBytes(c)
	if err != nil {
		panic(err) // every field has an encoding
	}
	return chain.Frame(chain.FormatCallV1, b)
}

// ErrBadCall wraps every defect DecodeCall finds.
var ErrBadCall = errors.New("invalid call")

// DecodeCall decodes and checks a framed call.
func DecodeCall(rec []byte) (*Call, error) {
	if len(rec) > MaxCallSize {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrBadCall, len(rec), MaxCallSize)
	}
	payload, err := chain.Unframe(chain.FormatCallV1, rec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCall, err)
	}
	c := new(Call)
	if err := rlp.DecodeBytes(payload, c); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCall, err)
	}
	if c.Method == 0 || c.Method >= methodEnd {
		return nil, fmt.Errorf("%w: %w: %v", ErrBadCall, errUnknownMethod, c.Method)
	}
	if c.Tag.Kind >= tagEnd {
		return nil, fmt.Errorf("%w: unknown block tag %d", ErrBadCall, c.Tag.Kind)
	}
	return c, nil
}

var errUnknownMethod = errors.New("the method does not exist/is not available")

// Encode returns the framed answer.
func (a *Answer) Encode() []byte {
	b, err := rlp.EncodeToBytes(a)
	if err != nil {
		panic(err)
	}
	return chain.Frame(chain.FormatAnswerV1, b)
}

// DecodeAnswer decodes a framed answer.
func DecodeAnswer(rec []byte) (*Answer, error) {
	payload, err := chain.Unframe(chain.FormatAnswerV1, rec)
	if err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	a := new(Answer)
	if err := rlp.DecodeBytes(payload, a); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	if r := a.Receipt; r != nil {
		for i, l := range r.Logs {
			l.TxHash, l.TxIndex, l.BlockNumber, l.BlockHash = r.TxHash, uint(r.TxIndex), r.BlockNumber, r.BlockHash
			l.Index = uint(r.LogIndex) + uint(i)
		}
	}
	return a, nil
}

// Failed returns an answer carrying err (made an *Error if it is not one).
func Failed(err error) *Answer { return &Answer{Err: AsError(err)} }
