package rpc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/common/math"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// Backend is the node the server sits on.
type Backend interface {
	// Do runs one client call on the node's event loop and returns its answer. It fails only if ctx ends first or the node is shutting down.
	Do(ctx context.Context, c *api.Call) (*api.Answer, error)
	// ChainID is the chain's id.
	ChainID() uint64
	// MiniBlocks subscribes to the mini-blocks the node applies, in order, from now on; the channel is closed when the subscriber falls more than its buffer behind or cancel is called.
	MiniBlocks(buffer int) (ch <-chan *chain.MiniBlock, cancel func())
}

// Config configures a server. Zero fields take their defaults.
type Config struct {
	// ClientVersion is what web3_clientVersion returns; default
	// "meganode".
	ClientVersion string
	// MaxBodyBytes bounds an HTTP request body and a WebSocket message;
	// default 5 MiB.
	MaxBodyBytes int
	// BatchItems bounds the calls of a batch; default 100.
	BatchItems int
	// BatchBytes bounds a batch's response; default 10 MiB.
	BatchBytes int
	// CallTimeout bounds one call on the node; default 10 s. A synchronous
	// send gets its own timeout on top.
	CallTimeout time.Duration
	// AllowUnprotectedTxs accepts sends of transactions without EIP-155
	// replay protection (go-ethereum's --rpc.allow-unprotected-txs).
	AllowUnprotectedTxs bool
	// TxFeeCap refuses sends whose fee, fee cap × gas, exceeds it, in
	// ether (go-ethereum's --rpc.txfeecap); default DefaultTxFeeCap, 1
	// ether; negative: no cap.
	TxFeeCap float64
	// GasCap bounds the gas of eth_call and eth_estimateGas (go-ethereum's
	// --rpc.gascap); 0: the node's own bound only, exec.DefaultCallGas,
	// which is go-ethereum's default, 50,000,000 (see capGas).
	GasCap uint64
	// Log gets go-ethereum's warning for a call capped at GasCap; default
	// slog.Default().
	Log *slog.Logger
	// FilterTimeout removes a filter not polled for this long; default
	// 5 min.
	FilterTimeout time.Duration
	// MaxFilters bounds the filters installed at once; default 256.
	MaxFilters int
	// MaxFilterItems bounds what a filter holds between polls (logs,
	// hashes or transactions); past it the filter is dropped; default
	// 10,000.
	MaxFilterItems int
	// MaxSubscriptions bounds the live subscriptions; default 240, below
	// the runtime's 256 mini-block subscribers (the filters take one).
	MaxSubscriptions int
	// MaxSubscriptionsPerConn bounds the live subscriptions of one
	// connection; default 128.
	MaxSubscriptionsPerConn int
	// Forward, when set, is the sequencer's JSON-RPC URL: sends are checked
	// here, then forwarded there (a fullnode's setting). For a sequencer
	// group, the members' URLs, comma-separated: sends go to the leader
	// (see forwarder).
	Forward string
	// FinalityFrom, when set, is a fullnode's JSON-RPC URL that the error
	// for the finalized tag names on a node that does not track finality
	// (the sequencer).
	FinalityFrom string
	// APIs names the namespaces served (go-ethereum's --http.api), from
	// Namespaces; nil: all of them. A method of a namespace not served
	// answers -32601; a name not in Namespaces is an error of NewServer.
	APIs []string
}

// Namespaces are the JSON-RPC namespaces a Server can serve.
var Namespaces = []string{"eth", "net", "web3", "realtime", "meganode", "txpool", "debug"}

// served reports which namespaces cfg.APIs selects.
func (c Config) served() (map[string]bool, error) {
	on := map[string]bool{}
	if c.APIs == nil {
		for _, n := range Namespaces {
			on[n] = true
		}
		return on, nil
	}
	for _, n := range c.APIs {
		if !slices.Contains(Namespaces, n) {
			return nil, fmt.Errorf("rpc: unknown API namespace %q (want some of %s)", n, strings.Join(Namespaces, ","))
		}
		on[n] = true
	}
	return on, nil
}

func (c Config) withDefaults() Config {
	if c.ClientVersion == "" {
		c.ClientVersion = "meganode"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 5 << 20
	}
	if c.BatchItems <= 0 {
		c.BatchItems = 100
	}
	if c.BatchBytes <= 0 {
		c.BatchBytes = 10 << 20
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = 10 * time.Second
	}
	if c.TxFeeCap == 0 {
		c.TxFeeCap = DefaultTxFeeCap
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	return c.withLimitDefaults()
}

// tip is the priority fee eth_maxPriorityFeePerGas suggests, and
// eth_gasPrice adds to the next block's base fee: 1 gwei.
const tip = params.GWei

// subscriptionBuffer is how many mini-blocks a subscription may fall
// behind before it is dropped.
const subscriptionBuffer = 4096

// maxSyncTimeout caps how long the server waits for a synchronous send
// beyond CallTimeout, whatever the call asks (the node caps it too).
const maxSyncTimeout = time.Minute

// Server is a JSON-RPC server over a Backend.
type Server struct {
	b      Backend
	cfg    Config
	rpc    *gethrpc.Server
	ws     http.Handler
	signer types.Signer

	filters filterSystem       // filters.go
	subs    subscriptionCounts // filters.go
	fwd     *forwarder         // forward.go; nil: sends run here

	quit     chan struct{}
	stopOnce sync.Once
}

// NewServer returns a server over b.
func NewServer(b Backend, cfg Config) (*Server, error) {
	if b == nil {
		return nil, errors.New("rpc: a backend is required")
	}
	cfg = cfg.withDefaults()
	s := &Server{
		b: b, cfg: cfg, rpc: gethrpc.NewServer(),
		signer: types.LatestSignerForChainID(new(big.Int).SetUint64(b.ChainID())),
		quit:   make(chan struct{}),
	}
	if cfg.Forward != "" {
		s.fwd = newForwarder(cfg.Forward)
	}
	s.rpc.SetHTTPBodyLimit(cfg.MaxBodyBytes)
	s.rpc.SetWebsocketReadLimit(int64(cfg.MaxBodyBytes))
	s.rpc.SetBatchLimits(cfg.BatchItems, cfg.BatchBytes)
	on, err := cfg.served()
	if err != nil {
		return nil, err
	}
	for name, svc := range map[string]any{
		"eth":      &ethAPI{s},
		"net":      &netAPI{s},
		"web3":     &web3API{s},
		"realtime": &realtimeAPI{s},
		"meganode": &meganodeAPI{s},
		"txpool":   &txpoolAPI{s},
	} {
		if !on[name] {
			continue
		}
		if err := s.rpc.RegisterName(name, svc); err != nil {
			return nil, fmt.Errorf("rpc: register %s: %w", name, err)
		}
	}
	if on["eth"] {
		if err := s.rpc.RegisterName("eth", &filterAPI{s}); err != nil {
			return nil, fmt.Errorf("rpc: register eth filters: %w", err)
		}
	}
	if on["debug"] {
		if err := s.rpc.RegisterName("debug", &debugAPI{s}); err != nil { // debug.go: tracing
			return nil, fmt.Errorf("rpc: register debug: %w", err)
		}
	}
	// Origins are not checked: the API holds no keys and signs nothing.
	s.ws = s.rpc.WebsocketHandler([]string{"*"})
	return s, nil
}

// Handler serves JSON-RPC over HTTP POST and, on a WebSocket upgrade
// request, over WebSocket, on every path.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			s.ws.ServeHTTP(w, r)
			return
		}
		s.rpc.ServeHTTP(w, r)
	})
}

// Stop ends the subscriptions and closes the connections.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		close(s.quit)
		s.rpc.Stop()
		if s.fwd != nil {
			s.fwd.close()
		}
	})
}

// Errors.

// rpcError is an error with a JSON-RPC code and, optionally, data.
type rpcError struct {
	code int
	msg  string
	data any
}

func (e *rpcError) Error() string          { return e.msg }
func (e *rpcError) ErrorCode() int         { return e.code }
func (e *rpcError) ErrorData() interface{} { return e.data }

// invalidParamsError is go-ethereum's -32602.
type invalidParamsError struct{ msg string }

func (e *invalidParamsError) Error() string  { return e.msg }
func (e *invalidParamsError) ErrorCode() int { return api.CodeInvalidParams }

// apiError maps a failed answer to a JSON-RPC error.
func apiError(e *api.Error) error {
	switch e.Kind {
	case api.KindReverted:
		return revertError(e.Data)
	}
	return &rpcError{code: e.ErrorCode(), msg: e.Message}
}

// revertError is go-ethereum's: code 3, "execution reverted" with the
// reason when the data is an Error(string) or a Panic(uint256), and the
// data in hex.
func revertError(data []byte) error {
	msg := "execution reverted"
	if reason, ok := unpackRevert(data); ok {
		msg += ": " + reason
	}
	return &rpcError{code: api.CodeReverted, msg: msg, data: hexutil.Encode(data)}
}

var (
	errorSelector = []byte{0x08, 0xc3, 0x79, 0xa0} // Error(string)
	panicSelector = []byte{0x4e, 0x48, 0x7b, 0x71} // Panic(uint256)
)

// panicReasons are Solidity's panic codes, as go-ethereum's abi names them.
var panicReasons = map[uint64]string{
	0x00: "generic panic",
	0x01: "assert(false)",
	0x11: "arithmetic underflow or overflow",
	0x12: "division or modulo by zero",
	0x21: "enum overflow",
	0x22: "invalid encoded storage byte array accessed",
	0x31: "out-of-bounds array access; popping on an empty array",
	0x32: "out-of-bounds access of an array or bytesN",
	0x41: "out of memory",
	0x51: "uninitialized function",
}

// unpackRevert decodes revert data as go-ethereum's abi.UnpackRevert does.
func unpackRevert(data []byte) (string, bool) {
	if len(data) < 4 {
		return "", false
	}
	body := data[4:]
	switch {
	case string(data[:4]) == string(errorSelector):
		if len(body) < 64 {
			return "", false
		}
		off := new(big.Int).SetBytes(body[:32])
		if !off.IsUint64() || off.Uint64() > uint64(len(body))-32 {
			return "", false
		}
		n := new(big.Int).SetBytes(body[off.Uint64() : off.Uint64()+32])
		start := off.Uint64() + 32
		if !n.IsUint64() || n.Uint64() > uint64(len(body))-start {
			return "", false
		}
		return string(body[start : start+n.Uint64()]), true
	case string(data[:4]) == string(panicSelector):
		if len(body) < 32 {
			return "", false
		}
		code := new(big.Int).SetBytes(body[:32])
		reason := "unknown panic code: 0x" + code.Text(16)
		if code.IsUint64() {
			if r, ok := panicReasons[code.Uint64()]; ok {
				reason = r
			}
		}
		return reason, true
	}
	return "", false
}

// do runs a call with the server's timeout and maps a failed answer to
// its JSON-RPC error.
func (s *Server) do(ctx context.Context, c *api.Call) (*api.Answer, error) {
	return s.doFor(ctx, c, s.cfg.CallTimeout)
}

func (s *Server) doFor(ctx context.Context, c *api.Call, d time.Duration) (*api.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	a, err := s.b.Do(ctx, c)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, &rpcError{code: -32002, msg: "request timed out"}
		}
		return nil, &rpcError{code: api.CodeServer, msg: err.Error()}
	}
	if a == nil {
		return nil, &rpcError{code: api.CodeInternal, msg: "no answer"}
	}
	if a.Err != nil {
		if a.Err.Message == api.NoFinality && s.cfg.FinalityFrom != "" {
			e := *a.Err
			e.Message += " (" + s.cfg.FinalityFrom + ")"
			return a, apiError(&e)
		}
		return a, apiError(a.Err)
	}
	return a, nil
}

// notFound reports whether a call failed because what it asked for does
// not exist (yet): go-ethereum answers null then.
func notFound(a *api.Answer) bool {
	return a != nil && a.Err != nil && (a.Err.Kind == api.KindNotFound || a.Err.Kind == api.KindFuture)
}

// tag resolves a block number or hash to the API's tag; nil is latest.
func (s *Server) tag(ctx context.Context, bnh *gethrpc.BlockNumberOrHash) (api.Tag, error) {
	if bnh == nil {
		return api.Latest, nil
	}
	if h, ok := bnh.Hash(); ok {
		a, err := s.do(ctx, &api.Call{Method: api.MethodBlockByHash, Hash: h})
		if err != nil {
			if notFound(a) {
				return api.Tag{}, &rpcError{code: api.CodeServer, msg: "header for hash not found"}
			}
			return api.Tag{}, err
		}
		return api.AtBlock(a.At.Block), nil
	}
	if n, ok := bnh.Number(); ok {
		return tagOf(n), nil
	}
	return api.Tag{}, &invalidParamsError{"invalid block number or hash"}
}

// The eth namespace.

type ethAPI struct{ s *Server }

// ChainId is eth_chainId.
func (e *ethAPI) ChainId() *hexutil.Big {
	return (*hexutil.Big)(new(big.Int).SetUint64(e.s.b.ChainID()))
}

// BlockNumber is eth_blockNumber: the newest sealed block.
func (e *ethAPI) BlockNumber(ctx context.Context) (hexutil.Uint64, error) {
	a, err := e.s.do(ctx, &api.Call{Method: api.MethodHead})
	if err != nil {
		return 0, err
	}
	return hexutil.Uint64(a.Safe), nil
}

// Syncing is eth_syncing: a node serves what it applied, never "syncing".
func (e *ethAPI) Syncing() bool { return false }

func (e *ethAPI) read(ctx context.Context, c *api.Call, bnh *gethrpc.BlockNumberOrHash) (*api.Answer, error) {
	t, err := e.s.tag(ctx, bnh)
	if err != nil {
		return nil, err
	}
	c.Tag = t
	return e.s.do(ctx, c)
}

// GetBalance is eth_getBalance.
func (e *ethAPI) GetBalance(ctx context.Context, address common.Address, bnh *gethrpc.BlockNumberOrHash) (*hexutil.Big, error) {
	a, err := e.read(ctx, &api.Call{Method: api.MethodBalance, Address: address}, bnh)
	if err != nil {
		return nil, err
	}
	return (*hexutil.Big)(new(big.Int).SetBytes(a.Value)), nil
}

// GetTransactionCount is eth_getTransactionCount.
func (e *ethAPI) GetTransactionCount(ctx context.Context, address common.Address, bnh *gethrpc.BlockNumberOrHash) (*hexutil.Uint64, error) {
	a, err := e.read(ctx, &api.Call{Method: api.MethodNonce, Address: address}, bnh)
	if err != nil {
		return nil, err
	}
	n := hexutil.Uint64(a.Nonce)
	return &n, nil
}

// GetCode is eth_getCode.
func (e *ethAPI) GetCode(ctx context.Context, address common.Address, bnh *gethrpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	a, err := e.read(ctx, &api.Call{Method: api.MethodCode, Address: address}, bnh)
	if err != nil {
		return nil, err
	}
	return hexutil.Bytes(nonNil(a.Value)), nil
}

// GetStorageAt is eth_getStorageAt.
func (e *ethAPI) GetStorageAt(ctx context.Context, address common.Address, hexKey string, bnh *gethrpc.BlockNumberOrHash) (hexutil.Bytes, error) {
	key, err := decodeStorageKey(hexKey)
	if err != nil {
		return nil, &invalidParamsError{fmt.Sprintf("%v: %q", err, hexKey)}
	}
	a, err := e.read(ctx, &api.Call{Method: api.MethodStorage, Address: address, Key: key}, bnh)
	if err != nil {
		return nil, err
	}
	return hexutil.Bytes(common.BytesToHash(a.Value).Bytes()), nil
}

// Call is eth_call, with go-ethereum's state and block overrides
// (overrides.go).
func (e *ethAPI) Call(ctx context.Context, args transactionArgs, bnh *gethrpc.BlockNumberOrHash, so *stateOverride, bo *blockOverrides) (hexutil.Bytes, error) {
	c := &api.Call{Method: api.MethodCall}
	if err := args.call(c); err != nil {
		return nil, err
	}
	if err := setOverrides(c, so, bo); err != nil {
		return nil, err
	}
	e.s.capGas(c)
	a, err := e.read(ctx, c, bnh)
	if err != nil {
		return nil, err
	}
	return hexutil.Bytes(nonNil(a.Value)), nil
}

// EstimateGas is eth_estimateGas, with overrides as eth_call's.
func (e *ethAPI) EstimateGas(ctx context.Context, args transactionArgs, bnh *gethrpc.BlockNumberOrHash, so *stateOverride, bo *blockOverrides) (hexutil.Uint64, error) {
	c := &api.Call{Method: api.MethodEstimateGas}
	if err := args.call(c); err != nil {
		return 0, err
	}
	if err := setOverrides(c, so, bo); err != nil {
		return 0, err
	}
	e.s.capGas(c)
	a, err := e.read(ctx, c, bnh)
	if err != nil {
		return 0, err
	}
	return hexutil.Uint64(a.Gas), nil
}

// nextBaseFee is the base fee of the block after the newest sealed one.
func (e *ethAPI) nextBaseFee(ctx context.Context) (*big.Int, error) {
	a, err := e.s.do(ctx, &api.Call{Method: api.MethodFeeHistory, Number: 1, Tag: api.Latest})
	if err != nil {
		return nil, err
	}
	if a.FeeHistory == nil || len(a.FeeHistory.BaseFee) == 0 {
		return new(big.Int), nil
	}
	return a.FeeHistory.BaseFee[len(a.FeeHistory.BaseFee)-1], nil
}

// GasPrice is eth_gasPrice: the next block's base fee plus tip.
func (e *ethAPI) GasPrice(ctx context.Context) (*hexutil.Big, error) {
	base, err := e.nextBaseFee(ctx)
	if err != nil {
		return nil, err
	}
	return (*hexutil.Big)(new(big.Int).Add(base, big.NewInt(tip))), nil
}

// MaxPriorityFeePerGas is eth_maxPriorityFeePerGas: tip.
func (e *ethAPI) MaxPriorityFeePerGas(ctx context.Context) (*hexutil.Big, error) {
	return (*hexutil.Big)(big.NewInt(tip)), nil
}

// FeeHistory is eth_feeHistory.
func (e *ethAPI) FeeHistory(ctx context.Context, blockCount math.HexOrDecimal64, lastBlock gethrpc.BlockNumber, rewardPercentiles []float64) (*feeHistoryResult, error) {
	if len(rewardPercentiles) > api.MaxPercentiles {
		return nil, fmt.Errorf("invalid reward percentile: over the query limit %d", api.MaxPercentiles)
	}
	c := &api.Call{Method: api.MethodFeeHistory, Number: uint64(blockCount), Tag: tagOf(lastBlock)}
	for i, p := range rewardPercentiles {
		if p < 0 || p > 100 {
			return nil, fmt.Errorf("invalid reward percentile: %f", p)
		}
		if i > 0 && p <= rewardPercentiles[i-1] {
			return nil, fmt.Errorf("invalid reward percentile: #%d:%f >= #%d:%f", i-1, rewardPercentiles[i-1], i, p)
		}
		c.Percentiles = append(c.Percentiles, uint64(p*10_000+0.5))
	}
	a, err := e.s.do(ctx, c)
	if err != nil {
		return nil, err
	}
	if a.FeeHistory == nil {
		return &feeHistoryResult{OldestBlock: (*hexutil.Big)(new(big.Int)), GasUsedRatio: []float64{}}, nil
	}
	return marshalFeeHistory(a.FeeHistory), nil
}

// decodeTx decodes a raw transaction as go-ethereum's send does, with its
// error messages.
func decodeTx(input hexutil.Bytes) (*types.Transaction, error) {
	tx := new(types.Transaction)
	if err := tx.UnmarshalBinary(input); err != nil {
		return nil, &rpcError{code: api.CodeServer, msg: err.Error()}
	}
	return tx, nil
}

// SendRawTransaction is eth_sendRawTransaction.
func (e *ethAPI) SendRawTransaction(ctx context.Context, input hexutil.Bytes) (common.Hash, error) {
	if _, err := e.s.decodeSend(input); err != nil {
		return common.Hash{}, err
	}
	var h common.Hash
	if fwd, err := e.s.forward(ctx, &h, "eth_sendRawTransaction", input); fwd {
		return h, err
	}
	a, err := e.s.do(ctx, &api.Call{Method: api.MethodSendTx, Raw: input})
	if err != nil {
		return common.Hash{}, err
	}
	return a.Hash, nil
}

// timeoutArg is EIP-7966's timeout: milliseconds, as a JSON number or a
// hex string.
type timeoutArg uint64

// UnmarshalJSON implements json.Unmarshaler.
func (t *timeoutArg) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var h hexutil.Uint64
		if err := h.UnmarshalJSON(b); err != nil {
			return err
		}
		*t = timeoutArg(h)
		return nil
	}
	n, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return fmt.Errorf("invalid timeout %s: want milliseconds", b)
	}
	*t = timeoutArg(n)
	return nil
}

// SendRawTransactionSync is eth_sendRawTransactionSync (EIP-7966).
func (e *ethAPI) SendRawTransactionSync(ctx context.Context, input hexutil.Bytes, timeoutMs *timeoutArg) (map[string]any, error) {
	return e.s.sendSync(ctx, input, timeoutMs)
}

func (s *Server) sendSync(ctx context.Context, input hexutil.Bytes, timeoutMs *timeoutArg) (map[string]any, error) {
	tx, err := s.decodeSend(input)
	if err != nil {
		return nil, err
	}
	var receipt map[string]any
	args := []any{input}
	if timeoutMs != nil {
		args = append(args, hexutil.Uint64(*timeoutMs))
	}
	if fwd, err := s.forward(ctx, &receipt, "eth_sendRawTransactionSync", args...); fwd {
		if err == nil {
			s.awaitBlock(ctx, receipt["blockNumber"])
		}
		return receipt, err
	}
	c := &api.Call{Method: api.MethodSendTxSync, Raw: input}
	wait := s.cfg.CallTimeout
	if timeoutMs != nil && *timeoutMs > 0 {
		c.TimeoutMs = uint64(*timeoutMs)
		wait += min(time.Duration(min(c.TimeoutMs, uint64(maxSyncTimeout/time.Millisecond)))*time.Millisecond, maxSyncTimeout)
	}
	a, err := s.doFor(ctx, c, wait)
	if err != nil {
		if a != nil && a.Err != nil && a.Err.Kind == api.KindTimeout {
			return nil, &rpcError{code: api.CodeTimeout, msg: a.Err.Message, data: tx.Hash().Hex()}
		}
		var re *rpcError
		if errors.As(err, &re) && re.code == -32002 {
			return nil, &rpcError{code: api.CodeTimeout, msg: fmt.Sprintf("The transaction was added to the transaction pool but wasn't processed in %v", wait), data: tx.Hash().Hex()}
		}
		return nil, err
	}
	if a.Receipt == nil {
		return nil, &rpcError{code: api.CodeInternal, msg: "no receipt in the answer"}
	}
	return marshalReceipt(a.Receipt, tx, s.signer), nil
}

// executed asks the node where a transaction was executed: its answer
// (receipt and location) and the transaction; nil, nil, nil when it was
// not executed (yet).
func (e *ethAPI) executed(ctx context.Context, m api.Method, hash common.Hash) (*api.Answer, *types.Transaction, error) {
	a, err := e.s.do(ctx, &api.Call{Method: m, Hash: hash})
	if notFound(a) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	tx := new(types.Transaction)
	if a.Receipt == nil || tx.UnmarshalBinary(a.Value) != nil {
		return nil, nil, &rpcError{code: api.CodeInternal, msg: "malformed " + m.String() + " answer"}
	}
	return a, tx, nil
}

// GetTransactionByHash is eth_getTransactionByHash: null for a
// transaction not executed (yet).
func (e *ethAPI) GetTransactionByHash(ctx context.Context, hash common.Hash) (*rpcTransaction, error) {
	a, tx, err := e.executed(ctx, api.MethodTx, hash)
	if a == nil || err != nil {
		return nil, err
	}
	r := a.Receipt
	return newRPCTransaction(tx, senderOf(tx, e.s.signer, r.From), &txLocation{
		BlockHash: r.BlockHash, BlockNumber: r.BlockNumber, Index: r.TxIndex, MiniBlock: r.MiniBlock, GasPrice: r.EffectiveGasPrice,
	}), nil
}

// GetTransactionReceipt is eth_getTransactionReceipt: null for a
// transaction not executed (yet).
func (e *ethAPI) GetTransactionReceipt(ctx context.Context, hash common.Hash) (map[string]any, error) {
	a, tx, err := e.executed(ctx, api.MethodReceipt, hash)
	if a == nil || err != nil {
		return nil, err
	}
	return marshalReceipt(a.Receipt, tx, e.s.signer), nil
}

// blockNumber resolves a block tag to a sealed block's number: latest,
// pending and safe are the newest sealed block.
func (s *Server) blockNumber(ctx context.Context, n gethrpc.BlockNumber) (uint64, error) {
	switch n {
	case gethrpc.FinalizedBlockNumber:
		// Resolved as a read at the finalized tag, so that a node that does
		// not track finality (the sequencer) says so instead of naming
		// genesis.
		a, err := s.do(ctx, &api.Call{Method: api.MethodNonce, Tag: api.Finalized})
		if err != nil {
			return 0, err
		}
		return a.At.Block, nil
	case gethrpc.LatestBlockNumber, gethrpc.PendingBlockNumber, gethrpc.SafeBlockNumber:
		a, err := s.do(ctx, &api.Call{Method: api.MethodHead})
		if err != nil {
			return 0, err
		}
		return a.Safe, nil
	case gethrpc.EarliestBlockNumber:
		return 0, nil
	}
	if n < 0 {
		return 0, &invalidParamsError{fmt.Sprintf("invalid block number %d", n)}
	}
	return uint64(n), nil
}

func (s *Server) block(ctx context.Context, c *api.Call, fullTx bool) (map[string]any, error) {
	a, err := s.do(ctx, c)
	if notFound(a) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := chain.DecodeBlock(a.Block)
	if err != nil {
		return nil, &rpcError{code: api.CodeInternal, msg: err.Error()}
	}
	return marshalBlock(b, fullTx, s.signer, a.Senders), nil
}

// GetBlockByNumber is eth_getBlockByNumber: null for a block not sealed.
func (e *ethAPI) GetBlockByNumber(ctx context.Context, number gethrpc.BlockNumber, fullTx bool) (map[string]any, error) {
	n, err := e.s.blockNumber(ctx, number)
	if err != nil {
		return nil, err
	}
	return e.s.block(ctx, &api.Call{Method: api.MethodBlock, Number: n}, fullTx)
}

// GetBlockByHash is eth_getBlockByHash: null for an unknown hash.
func (e *ethAPI) GetBlockByHash(ctx context.Context, hash common.Hash, fullTx bool) (map[string]any, error) {
	return e.s.block(ctx, &api.Call{Method: api.MethodBlockByHash, Hash: hash}, fullTx)
}

// GetLogs is eth_getLogs.
func (e *ethAPI) GetLogs(ctx context.Context, q filterQuery) ([]*types.Log, error) {
	if q.BlockHash != nil && *q.BlockHash == (common.Hash{}) {
		return nil, &rpcError{code: api.CodeServer, msg: "unknown block"}
	}
	a, err := e.s.do(ctx, &api.Call{Method: api.MethodLogs, Filter: q.logFilter()})
	if err != nil {
		return nil, err
	}
	return marshalLogs(a.Logs), nil
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// The net and web3 namespaces.

type netAPI struct{ s *Server }

// Version is net_version: the chain id in decimal.
func (n *netAPI) Version() string { return strconv.FormatUint(n.s.b.ChainID(), 10) }

// Listening is net_listening.
func (n *netAPI) Listening() bool { return true }

type web3API struct{ s *Server }

// ClientVersion is web3_clientVersion.
func (w *web3API) ClientVersion() string { return w.s.cfg.ClientVersion }

// The realtime namespace.

type realtimeAPI struct{ s *Server }

// SendRawTransaction is realtime_sendRawTransaction: the receipt, as
// eth_sendRawTransactionSync.
func (r *realtimeAPI) SendRawTransaction(ctx context.Context, input hexutil.Bytes, timeoutMs *timeoutArg) (map[string]any, error) {
	return r.s.sendSync(ctx, input, timeoutMs)
}

// The meganode namespace.

type meganodeAPI struct{ s *Server }

// headJSON is what meganode_head returns.
type headJSON struct {
	MiniBlock hexutil.Uint64 `json:"miniBlockNumber"` // the newest mini-block
	Block     hexutil.Uint64 `json:"blockNumber"`     // the block it belongs to
	Safe      hexutil.Uint64 `json:"safe"`            // the newest sealed block
	Finalized hexutil.Uint64 `json:"finalized"`       // the newest finalized block (fullnodes)
	Fault     string         `json:"fault,omitempty"` // a prover's fault report that stops finality
}

// Head is meganode_head: where the node is.
func (m *meganodeAPI) Head(ctx context.Context) (*headJSON, error) {
	a, err := m.s.do(ctx, &api.Call{Method: api.MethodHead})
	if err != nil {
		return nil, err
	}
	return &headJSON{MiniBlock: hexutil.Uint64(a.At.MiniBlock), Block: hexutil.Uint64(a.At.Block), Safe: hexutil.Uint64(a.Safe),
		Finalized: hexutil.Uint64(a.Finalized), Fault: a.Fault}, nil
}

// GetMiniBlockByNumber is meganode_getMiniBlockByNumber: null for a
// mini-block not reached.
func (m *meganodeAPI) GetMiniBlockByNumber(ctx context.Context, number hexutil.Uint64) (*miniBlockJSON, error) {
	a, err := m.s.do(ctx, &api.Call{Method: api.MethodMiniBlock, Number: uint64(number)})
	if notFound(a) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	mb, err := chain.DecodeMiniBlock(a.MiniBlock)
	if err != nil {
		return nil, &rpcError{code: api.CodeInternal, msg: err.Error()}
	}
	return marshalMiniBlock(mb), nil
}
