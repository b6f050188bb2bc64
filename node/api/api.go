package api

import (
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// Method names a client call.
type Method uint8

// The methods of the client API that exist so far, with the JSON-RPC
// method each one carries.
const (
	MethodSendTx      Method = iota + 1 // eth_sendRawTransaction / realtime_sendRawTransaction
	MethodSendTxSync                    // eth_sendRawTransactionSync (EIP-7966)
	MethodReceipt                       // eth_getTransactionReceipt
	MethodBalance                       // eth_getBalance
	MethodNonce                         // eth_getTransactionCount
	MethodCode                          // eth_getCode
	MethodStorage                       // eth_getStorageAt
	MethodCall                          // eth_call
	MethodBlock                         // eth_getBlockByNumber
	MethodMiniBlock                     // meganode_getMiniBlockByNumber
	MethodHead                          // eth_blockNumber, and the newest mini-block
	MethodTx                            // eth_getTransactionByHash
	MethodBlockByHash                   // eth_getBlockByHash
	MethodLogs                          // eth_getLogs
	MethodEstimateGas                   // eth_estimateGas
	MethodFeeHistory                    // eth_feeHistory
	// The methods below answer go-ethereum's JSON in Answer.Value: their
	// shapes are go-ethereum's own (tracers, proofs, pool contents), and
	// the simulator does not model them.
	MethodTraceTx    // debug_traceTransaction
	MethodTraceCall  // debug_traceCall
	MethodTraceBlock // debug_traceBlockByNumber / ByHash (Number, or Hash when set)
	MethodProof      // eth_getProof
	MethodPool       // txpool_status / txpool_content
	// meganode_getBlockWitness (Number): the sealed block's witness in
	// Answer.Value (go-ethereum's RLP encoding).
	MethodWitness
	// meganode_getAttestations (Number): the provers' signed attestations
	// of the block a fullnode holds, encoded, in Answer.Txs.
	MethodAttestations
	// eth_createAccessList: the call's access list, gas used and failure,
	// as go-ethereum's JSON, in Answer.Value.
	MethodAccessList
	// eth_simulateV1: the simulation's options (go-ethereum's simOpts:
	// blockStateCalls, validation, traceTransfers, returnFullTransactions)
	// as JSON in Data, at Tag, with Gas the total gas budget of all its
	// calls (0: the node's cap). Answer.Value holds the simulated blocks
	// (node/ledger's SimulatedBlock, in JSON); a failure with one of
	// go-ethereum's simulation codes (-38010 …) also carries
	// {"code","message"} as JSON in Answer.Value.
	MethodSimulate
	methodEnd
)

var methodNames = [...]string{
	MethodSendTx: "sendRawTransaction", MethodSendTxSync: "sendRawTransactionSync", MethodReceipt: "getTransactionReceipt",
	MethodBalance: "getBalance", MethodNonce: "getTransactionCount", MethodCode: "getCode", MethodStorage: "getStorageAt",
	MethodCall: "call", MethodBlock: "getBlockByNumber", MethodMiniBlock: "getMiniBlockByNumber", MethodHead: "head",
	MethodTx: "getTransactionByHash", MethodBlockByHash: "getBlockByHash", MethodLogs: "getLogs",
	MethodEstimateGas: "estimateGas", MethodFeeHistory: "feeHistory",
	MethodTraceTx: "traceTransaction", MethodTraceCall: "traceCall", MethodTraceBlock: "traceBlock",
	MethodProof: "getProof", MethodPool: "txpoolContent", MethodWitness: "getBlockWitness", MethodAttestations: "getAttestations",
	MethodAccessList: "createAccessList", MethodSimulate: "simulateV1",
}

func (m Method) String() string {
	if m > 0 && m < methodEnd {
		return methodNames[m]
	}
	return fmt.Sprintf("method(%d)", m)
}

// IsRead reports whether the method reads a value of the state at a tag
// (the reads the simulator checks against its model). eth_estimateGas
// also runs at a tag but is not one of them.
func (m Method) IsRead() bool {
	return m == MethodBalance || m == MethodNonce || m == MethodCode || m == MethodStorage || m == MethodCall
}

// TagKind says which state a read asks for.
type TagKind uint8

// Block tags (DESIGN.md §4). Latest is the newest sealed block, as
// eth_getBlockByNumber("latest") describes it; pending the newest
// mini-block, the open block's transactions executed.
const (
	TagLatest    TagKind = iota // the newest sealed EVM block the node has applied
	TagSafe                     // the newest sealed EVM block the node has checked (latest, on this chain)
	TagBlock                    // the sealed EVM block Number
	TagMiniBlock                // right after mini-block Number
	TagFinalized                // the newest sealed block a quorum of provers attested, with all before it
	TagPending                  // the newest mini-block the node has applied
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
	Pending   = Tag{Kind: TagPending}
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
	case TagPending:
		return "pending"
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
	Hash      common.Hash    // the transaction (receipt, transaction), the block (block by hash)
	Address   common.Address // the account (reads), the callee (call, estimate)
	Key       common.Hash    // the storage slot
	From      common.Address // the caller (call, estimate)
	Data      []byte         // the input (call, estimate)
	Gas       uint64         // the gas (call); the upper bound (estimate); 0 for the node's cap
	Tag       Tag            // the state to read; the newest block (fee history)
	Number    uint64         // the block or mini-block (by number); the block count (fee history)
	// Create: the call or estimate is a contract creation (Address unused).
	Create bool
	// Value is the value the estimate's transaction would transfer (nil for
	// none): the sender must hold it, the estimate runs without it. A call
	// with a value is refused.
	Value *big.Int
	// Filter selects the logs (logs).
	Filter *LogFilter `rlp:"nil"`
	// Percentiles are the reward percentiles (fee history), ascending, in
	// millionths: 50% is 500_000.
	Percentiles []uint64
	// Keys are the storage slots whose proofs a proof asks for.
	Keys []common.Hash `rlp:"optional"`
	// Trace is the tracer configuration of a trace, as go-ethereum's
	// debug API takes it (its TraceConfig or TraceCallConfig, in JSON).
	Trace []byte `rlp:"optional"`
	// Overrides are the state and block overrides of a call, an estimate,
	// an access list or a traced call (eth_call's stateOverrides and
	// blockOverrides), as JSON: node/exec's Overrides. The simulator never
	// sets them.
	Overrides []byte `rlp:"optional"`
	// Tx is the send's transaction, decoded and admitted (its stateless
	// checks passed and its sender recovered and cached) by the runtime
	// before the node's step; nil when the node must admit Raw itself. It
	// never crosses the wire.
	Tx *types.Transaction `rlp:"-"`
}

// LogFilter selects logs, as eth_getLogs' filter does.
type LogFilter struct {
	// From and To bound the blocks: TagLatest, TagSafe and TagPending
	// (the newest sealed block), TagFinalized or TagBlock.
	From, To Tag
	// BlockHash, when set, selects the sealed block of that hash alone;
	// From and To are then ignored.
	BlockHash common.Hash
	// Addresses: a log must come from one of them; none means any.
	Addresses []common.Address
	// Topics: the log's topic i must be one of Topics[i]; an empty
	// Topics[i] matches any, and a log with fewer topics than len(Topics)
	// matches none.
	Topics [][]common.Hash
}

// Bounds of a log query (those of go-ethereum's filter API) and of a fee
// history.
const (
	MaxLogAddresses = 1000  // addresses in a filter, and topics per position
	MaxLogTopics    = 4     // topic positions in a filter
	MaxLogBlocks    = 1024  // To − From of a log query
	MaxLogs         = 10000 // logs in one answer
	// MaxFeeHistory is how many blocks a fee history covers at most, and
	// MaxFeeHistoryRewards how many when it computes rewards (which reads
	// every transaction); a longer request gets the newest ones.
	MaxFeeHistory        = 1024
	MaxFeeHistoryRewards = 128
	MaxPercentiles       = 100 // reward percentiles in one request
	// MaxProofKeys bounds the storage slots of one proof, and
	// MaxTraceConfig the size of a trace's configuration.
	MaxProofKeys   = 1024
	MaxTraceConfig = 16 << 10
	// MaxOverrides bounds the size of a call's overrides.
	MaxOverrides = 64 << 10
)

// FeeHistory is eth_feeHistory's answer for the blocks Oldest to
// Oldest+len(GasUsed)-1.
type FeeHistory struct {
	Oldest   uint64
	BaseFee  []*big.Int // each block's base fee, then the next block's
	GasUsed  []uint64
	GasLimit []uint64
	// Reward holds, for each block, the effective tip at each requested
	// percentile of the block's gas; nil when no percentiles were asked.
	Reward [][]*big.Int
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
	// From is the transaction's sender, as the node recovered it once, so
	// that no client of the API recovers it again.
	From common.Address `rlp:"optional"`
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
	Logs      Logs   // logs
	Gas       uint64 // estimate
	// FeeHistory is the fee history's answer.
	FeeHistory *FeeHistory `rlp:"nil"`
	// Senders are the senders of a block's transactions, in order, as the
	// node recovered them once.
	Senders []common.Address `rlp:"optional"`
	// Txs are the pool's transactions (pool), encoded, by sender then
	// nonce: the first Nonce of them pending, the rest queued; Senders
	// holds their senders. For attestations, the attestations, encoded.
	Txs [][]byte `rlp:"optional"`
}

// Logs is a list of logs whose encoding keeps what go-ethereum's log
// encoding leaves out: the block, transaction and position of each log.
type Logs []*types.Log

type logRLP struct {
	Address        common.Address
	Topics         []common.Hash
	Data           []byte
	BlockNumber    uint64
	TxHash         common.Hash
	TxIndex        uint64
	BlockHash      common.Hash
	BlockTimestamp uint64
	Index          uint64
	Removed        bool
}

// EncodeRLP implements rlp.Encoder.
func (ls Logs) EncodeRLP(w io.Writer) error {
	out := make([]logRLP, len(ls))
	for i, l := range ls {
		out[i] = logRLP{Address: l.Address, Topics: l.Topics, Data: l.Data, BlockNumber: l.BlockNumber, TxHash: l.TxHash,
			TxIndex: uint64(l.TxIndex), BlockHash: l.BlockHash, BlockTimestamp: l.BlockTimestamp, Index: uint64(l.Index), Removed: l.Removed}
	}
	return rlp.Encode(w, out)
}

// DecodeRLP implements rlp.Decoder. An empty list decodes as nil.
func (ls *Logs) DecodeRLP(s *rlp.Stream) error {
	var in []logRLP
	if err := s.Decode(&in); err != nil {
		return err
	}
	if len(in) == 0 {
		*ls = nil
		return nil
	}
	out := make(Logs, len(in))
	for i, l := range in {
		if l.Topics == nil {
			l.Topics = []common.Hash{}
		}
		if l.Data == nil {
			l.Data = []byte{}
		}
		out[i] = &types.Log{Address: l.Address, Topics: l.Topics, Data: l.Data, BlockNumber: l.BlockNumber, TxHash: l.TxHash,
			TxIndex: uint(l.TxIndex), BlockHash: l.BlockHash, BlockTimestamp: l.BlockTimestamp, Index: uint(l.Index), Removed: l.Removed}
	}
	*ls = out
	return nil
}

// Finality is what a node knows of finality: the newest finalized block,
// and the fault report, if any, that stops finality before a block of its
// chain. Tracked is false on a node that does not track finality (the
// sequencer): reads at the finalized tag are refused there.
type Finality struct {
	Tracked bool
	Block   uint64
	Fault   string
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
	if err := c.normalize(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCall, err)
	}
	return c, nil
}

// normalize checks the fields added after the first version of calls and
// gives the empty ones one form (nil), so that a decoded call encodes and
// decodes again to itself.
func (c *Call) normalize() error {
	if c.Value != nil {
		if c.Value.BitLen() > 256 {
			return fmt.Errorf("value of %d bits", c.Value.BitLen())
		}
		if c.Value.Sign() == 0 {
			c.Value = nil
		}
	}
	if len(c.Percentiles) > MaxPercentiles {
		return fmt.Errorf("%d reward percentiles, limit %d", len(c.Percentiles), MaxPercentiles)
	}
	if len(c.Percentiles) == 0 {
		c.Percentiles = nil
	}
	if len(c.Keys) > MaxProofKeys {
		return fmt.Errorf("%d storage keys, limit %d", len(c.Keys), MaxProofKeys)
	}
	if len(c.Keys) == 0 {
		c.Keys = nil
	}
	if len(c.Trace) > MaxTraceConfig {
		return fmt.Errorf("trace configuration of %d bytes, limit %d", len(c.Trace), MaxTraceConfig)
	}
	if len(c.Trace) == 0 {
		c.Trace = nil
	}
	if len(c.Overrides) > MaxOverrides {
		return fmt.Errorf("overrides of %d bytes, limit %d", len(c.Overrides), MaxOverrides)
	}
	if len(c.Overrides) == 0 {
		c.Overrides = nil
	}
	if f := c.Filter; f != nil {
		if f.From.Kind >= tagEnd || f.To.Kind >= tagEnd {
			return fmt.Errorf("unknown block tag %d or %d in a log filter", f.From.Kind, f.To.Kind)
		}
		if len(f.Addresses) > MaxLogAddresses {
			return fmt.Errorf("%d addresses in a log filter, limit %d", len(f.Addresses), MaxLogAddresses)
		}
		if len(f.Topics) > MaxLogTopics {
			return fmt.Errorf("%d topic positions in a log filter, limit %d", len(f.Topics), MaxLogTopics)
		}
		if len(f.Addresses) == 0 {
			f.Addresses = nil
		}
		for i, t := range f.Topics {
			if len(t) > MaxLogAddresses {
				return fmt.Errorf("%d topics at position %d of a log filter, limit %d", len(t), i, MaxLogAddresses)
			}
			if len(t) == 0 {
				f.Topics[i] = nil
			}
		}
		if len(f.Topics) == 0 {
			f.Topics = nil
		}
	}
	return nil
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
	if len(a.Logs) > MaxLogs {
		return nil, fmt.Errorf("decode answer: %d logs, limit %d", len(a.Logs), MaxLogs)
	}
	if r := a.Receipt; r != nil {
		for i, l := range r.Logs {
			l.TxHash, l.TxIndex, l.BlockNumber, l.BlockHash = r.TxHash, uint(r.TxIndex), r.BlockNumber, r.BlockHash
			l.Index = uint(r.LogIndex) + uint(i)
		}
	}
	return a, nil
}

// CallRequest is a node.Request that carries its call decoded, as the
// production runtime's do: the node takes it as it is (with a send's
// transaction already admitted) instead of decoding the body.
type CallRequest interface {
	Call() *Call
}

// AnswerRequest is a node.Request that takes its answer as it is, as the
// production runtime's do, instead of its encoding.
type AnswerRequest interface {
	Answer(a *Answer)
}

// CallOf is the call a request carries: decoded already, or decoded from
// its body.
func CallOf(req node.Request) (*Call, error) {
	if cr, ok := req.(CallRequest); ok {
		if c := cr.Call(); c != nil {
			return c, nil
		}
	}
	return DecodeCall(req.Body())
}

// Reply answers a request with a: as it is if the request takes answers,
// else encoded (body, when not nil, is a's encoding already).
func Reply(req node.Request, a *Answer, body []byte) {
	if ar, ok := req.(AnswerRequest); ok {
		ar.Answer(a)
		return
	}
	if body == nil {
		body = a.Encode()
	}
	req.Respond(body)
}

// Failed returns an answer carrying err (made an *Error if it is not one).
func Failed(err error) *Answer { return &Answer{Err: AsError(err)} }
