package rpc

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	gethrpc "github.com/ethereum/go-ethereum/rpc"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// The JSON shapes of go-ethereum's API (internal/ethapi), which its
// ethclient and the other client libraries read.

// marshalHeader is go-ethereum's RPCMarshalHeader: every field the header
// hash covers, so that a client recomputes the same hash.
func marshalHeader(head *types.Header) map[string]any {
	result := map[string]any{
		"number":           (*hexutil.Big)(head.Number),
		"hash":             head.Hash(),
		"parentHash":       head.ParentHash,
		"nonce":            head.Nonce,
		"mixHash":          head.MixDigest,
		"sha3Uncles":       head.UncleHash,
		"logsBloom":        head.Bloom,
		"stateRoot":        head.Root,
		"miner":            head.Coinbase,
		"difficulty":       (*hexutil.Big)(head.Difficulty),
		"extraData":        hexutil.Bytes(head.Extra),
		"gasLimit":         hexutil.Uint64(head.GasLimit),
		"gasUsed":          hexutil.Uint64(head.GasUsed),
		"timestamp":        hexutil.Uint64(head.Time),
		"transactionsRoot": head.TxHash,
		"receiptsRoot":     head.ReceiptHash,
	}
	if head.BaseFee != nil {
		result["baseFeePerGas"] = (*hexutil.Big)(head.BaseFee)
	}
	if head.WithdrawalsHash != nil {
		result["withdrawalsRoot"] = head.WithdrawalsHash
	}
	if head.BlobGasUsed != nil {
		result["blobGasUsed"] = hexutil.Uint64(*head.BlobGasUsed)
	}
	if head.ExcessBlobGas != nil {
		result["excessBlobGas"] = hexutil.Uint64(*head.ExcessBlobGas)
	}
	if head.ParentBeaconRoot != nil {
		result["parentBeaconBlockRoot"] = head.ParentBeaconRoot
	}
	if head.RequestsHash != nil {
		result["requestsHash"] = head.RequestsHash
	}
	if head.BlockAccessListHash != nil {
		result["blockAccessListHash"] = head.BlockAccessListHash
	}
	if head.SlotNumber != nil {
		result["slotNumber"] = hexutil.Uint64(*head.SlotNumber)
	}
	return result
}

// marshalBlock is go-ethereum's RPCMarshalBlock: the header, the size, the
// transactions (hashes, or objects with fullTx), no uncles, and the
// withdrawals.
// senders, when it has one per transaction, are the senders the node
// recovered; otherwise they are recovered here.
func marshalBlock(b *types.Block, fullTx bool, signer types.Signer, senders []common.Address) map[string]any {
	fields := marshalHeader(b.Header())
	fields["size"] = hexutil.Uint64(b.Size())
	txs := b.Transactions()
	out := make([]any, len(txs))
	for i, tx := range txs {
		if fullTx {
			var from common.Address
			if len(senders) == len(txs) {
				from = senders[i]
			}
			out[i] = newRPCTransaction(tx, senderOf(tx, signer, from), &txLocation{
				BlockHash: b.Hash(), BlockNumber: b.NumberU64(), Time: b.Time(), Index: uint64(i), BaseFee: b.BaseFee(),
			})
		} else {
			out[i] = tx.Hash()
		}
	}
	fields["transactions"] = out
	fields["uncles"] = []common.Hash{}
	if w := b.Withdrawals(); w != nil {
		fields["withdrawals"] = w
	}
	return fields
}

// rpcTransaction is go-ethereum's RPCTransaction.
type rpcTransaction struct {
	BlockHash           *common.Hash                 `json:"blockHash"`
	BlockNumber         *hexutil.Big                 `json:"blockNumber"`
	BlockTimestamp      *hexutil.Uint64              `json:"blockTimestamp"`
	From                common.Address               `json:"from"`
	Gas                 hexutil.Uint64               `json:"gas"`
	GasPrice            *hexutil.Big                 `json:"gasPrice"`
	GasFeeCap           *hexutil.Big                 `json:"maxFeePerGas,omitempty"`
	GasTipCap           *hexutil.Big                 `json:"maxPriorityFeePerGas,omitempty"`
	MaxFeePerBlobGas    *hexutil.Big                 `json:"maxFeePerBlobGas,omitempty"`
	Hash                common.Hash                  `json:"hash"`
	Input               hexutil.Bytes                `json:"input"`
	Nonce               hexutil.Uint64               `json:"nonce"`
	To                  *common.Address              `json:"to"`
	TransactionIndex    *hexutil.Uint64              `json:"transactionIndex"`
	Value               *hexutil.Big                 `json:"value"`
	Type                hexutil.Uint64               `json:"type"`
	Accesses            *types.AccessList            `json:"accessList,omitempty"`
	ChainID             *hexutil.Big                 `json:"chainId,omitempty"`
	BlobVersionedHashes []common.Hash                `json:"blobVersionedHashes,omitempty"`
	AuthorizationList   []types.SetCodeAuthorization `json:"authorizationList,omitempty"`
	V                   *hexutil.Big                 `json:"v"`
	R                   *hexutil.Big                 `json:"r"`
	S                   *hexutil.Big                 `json:"s"`
	YParity             *hexutil.Uint64              `json:"yParity,omitempty"`
	// MiniBlock is the mini-block the transaction was executed in.
	MiniBlock *hexutil.Uint64 `json:"miniBlockNumber,omitempty"`
}

// txLocation is where a transaction was executed.
type txLocation struct {
	BlockHash   common.Hash // zero until the block is sealed
	BlockNumber uint64
	Time        uint64 // the block's; 0 when not known
	Index       uint64
	MiniBlock   uint64 // 0 when not known
	BaseFee     *big.Int
	GasPrice    *big.Int // the effective gas price, when known
}

// senderOf is a transaction's sender: known, the one the node recovered
// (it recovers each sender once), or, from a node that did not say,
// recovered here.
func senderOf(tx *types.Transaction, signer types.Signer, known common.Address) common.Address {
	if known != (common.Address{}) {
		return known
	}
	from, _ := types.Sender(signer, tx)
	return from
}

// newRPCTransaction is go-ethereum's newRPCTransaction for an executed
// transaction sent by from.
func newRPCTransaction(tx *types.Transaction, from common.Address, loc *txLocation) *rpcTransaction {
	v, r, s := tx.RawSignatureValues()
	result := &rpcTransaction{
		Type:     hexutil.Uint64(tx.Type()),
		From:     from,
		Gas:      hexutil.Uint64(tx.Gas()),
		GasPrice: (*hexutil.Big)(tx.GasPrice()),
		Hash:     tx.Hash(),
		Input:    hexutil.Bytes(tx.Data()),
		Nonce:    hexutil.Uint64(tx.Nonce()),
		To:       tx.To(),
		Value:    (*hexutil.Big)(tx.Value()),
		V:        (*hexutil.Big)(v),
		R:        (*hexutil.Big)(r),
		S:        (*hexutil.Big)(s),
	}
	hash, index := loc.BlockHash, loc.Index
	result.BlockHash = &hash
	result.BlockNumber = (*hexutil.Big)(new(big.Int).SetUint64(loc.BlockNumber))
	result.TransactionIndex = (*hexutil.Uint64)(&index)
	if loc.Time != 0 {
		t := loc.Time
		result.BlockTimestamp = (*hexutil.Uint64)(&t)
	}
	if loc.MiniBlock != 0 {
		m := loc.MiniBlock
		result.MiniBlock = (*hexutil.Uint64)(&m)
	}
	if tx.Type() == types.LegacyTxType {
		if id := tx.ChainId(); id.Sign() != 0 {
			result.ChainID = (*hexutil.Big)(id)
		}
		return result
	}
	al := tx.AccessList()
	yparity := hexutil.Uint64(v.Sign())
	result.Accesses = &al
	result.ChainID = (*hexutil.Big)(tx.ChainId())
	result.YParity = &yparity
	if tx.Type() == types.AccessListTxType {
		return result
	}
	result.GasFeeCap = (*hexutil.Big)(tx.GasFeeCap())
	result.GasTipCap = (*hexutil.Big)(tx.GasTipCap())
	switch {
	case loc.GasPrice != nil:
		result.GasPrice = (*hexutil.Big)(loc.GasPrice)
	case loc.BaseFee != nil:
		// min(tip + base fee, fee cap)
		price := new(big.Int).Add(tx.GasTipCap(), loc.BaseFee)
		if price.Cmp(tx.GasFeeCap()) > 0 {
			price = tx.GasFeeCap()
		}
		result.GasPrice = (*hexutil.Big)(price)
	default:
		result.GasPrice = (*hexutil.Big)(tx.GasFeeCap())
	}
	switch tx.Type() {
	case types.BlobTxType:
		result.MaxFeePerBlobGas = (*hexutil.Big)(tx.BlobGasFeeCap())
		result.BlobVersionedHashes = tx.BlobHashes()
	case types.SetCodeTxType:
		result.AuthorizationList = tx.SetCodeAuthorizations()
	}
	return result
}

// marshalReceipt is go-ethereum's MarshalReceipt for the API's receipt of
// tx, with the mini-block it was executed in.
func marshalReceipt(r *api.Receipt, tx *types.Transaction, signer types.Signer) map[string]any {
	from := senderOf(tx, signer, r.From)
	logs := marshalLogs(r.Logs)
	price := r.EffectiveGasPrice
	if price == nil {
		price = new(big.Int)
	}
	fields := map[string]any{
		"blockHash":         r.BlockHash,
		"blockNumber":       hexutil.Uint64(r.BlockNumber),
		"transactionHash":   r.TxHash,
		"transactionIndex":  hexutil.Uint64(r.TxIndex),
		"from":              from,
		"to":                tx.To(),
		"gasUsed":           hexutil.Uint64(r.GasUsed),
		"cumulativeGasUsed": hexutil.Uint64(r.CumulativeGasUsed),
		"contractAddress":   nil,
		"logs":              logs,
		"logsBloom":         types.CreateBloom(&types.Receipt{Logs: logs}),
		"type":              hexutil.Uint(tx.Type()),
		"effectiveGasPrice": (*hexutil.Big)(price),
		"status":            hexutil.Uint(r.Status),
		"miniBlockNumber":   hexutil.Uint64(r.MiniBlock),
	}
	if r.ContractAddress != (common.Address{}) {
		fields["contractAddress"] = r.ContractAddress
	}
	return fields
}

// marshalLogs returns logs as go-ethereum's JSON requires them: topics and
// data never null.
func marshalLogs(ls []*types.Log) []*types.Log {
	out := make([]*types.Log, len(ls))
	for i, l := range ls {
		cp := *l
		if cp.Topics == nil {
			cp.Topics = []common.Hash{}
		}
		if cp.Data == nil {
			cp.Data = []byte{}
		}
		out[i] = &cp
	}
	return out
}

// miniBlockJSON is a mini-block as the miniBlocks subscription and
// meganode_getMiniBlockByNumber give it.
type miniBlockJSON struct {
	Number       hexutil.Uint64 `json:"number"`
	BlockNumber  hexutil.Uint64 `json:"blockNumber"`
	Index        hexutil.Uint64 `json:"index"`
	Timestamp    hexutil.Uint64 `json:"timestamp"` // µs since the Unix epoch
	Hash         common.Hash    `json:"hash"`
	ParentHash   common.Hash    `json:"parentHash"`
	GasUsed      hexutil.Uint64 `json:"gasUsed"`
	Transactions []common.Hash  `json:"transactions"`
	// SealedBlockHash is the hash of the EVM block this mini-block seals.
	SealedBlockHash *common.Hash `json:"sealedBlockHash,omitempty"`
	// Term is the raft term of the sequencer group's leader that built
	// it, and Signer that leader's key (a sequencer group only).
	Term   hexutil.Uint64  `json:"term,omitempty"`
	Signer *common.Address `json:"signer,omitempty"`
}

func marshalMiniBlock(mb *chain.MiniBlock) *miniBlockJSON {
	h := &mb.Header
	out := &miniBlockJSON{
		Number: hexutil.Uint64(h.Number), BlockNumber: hexutil.Uint64(h.BlockNumber), Index: hexutil.Uint64(h.Index),
		Timestamp: hexutil.Uint64(h.TimeMicros), Hash: mb.Hash(), ParentHash: h.ParentHash, GasUsed: hexutil.Uint64(h.GasUsed),
		Transactions: make([]common.Hash, len(mb.Txs)), Term: hexutil.Uint64(h.Term),
	}
	if h.Term > 0 {
		if a, err := mb.Signer(); err == nil {
			out.Signer = &a
		}
	}
	for i, tx := range mb.Txs {
		out.Transactions[i] = tx.Hash()
	}
	if mb.Sealed != nil {
		sh := mb.Sealed.Hash()
		out.SealedBlockHash = &sh
	}
	return out
}

// stateChangesJSON is a mini-block's state diff, as the stateChanges
// subscription gives it.
type stateChangesJSON struct {
	MiniBlock   hexutil.Uint64      `json:"miniBlockNumber"`
	BlockNumber hexutil.Uint64      `json:"blockNumber"`
	Hash        common.Hash         `json:"miniBlockHash"`
	Accounts    []accountChangeJSON `json:"accounts"`
}

// accountChangeJSON is one account's change: the fields that changed, the
// storage slots written (a zero value clears the slot), whether the
// account was deleted, or wiped and created again (reset: the fields not
// given are zero).
type accountChangeJSON struct {
	Address  common.Address              `json:"address"`
	Nonce    *hexutil.Uint64             `json:"nonce,omitempty"`
	Balance  *hexutil.Big                `json:"balance,omitempty"`
	CodeHash *common.Hash                `json:"codeHash,omitempty"`
	Storage  map[common.Hash]common.Hash `json:"storage,omitempty"`
	Deleted  bool                        `json:"deleted,omitempty"`
	Reset    bool                        `json:"reset,omitempty"`
}

func marshalStateChanges(mb *chain.MiniBlock) *stateChangesJSON {
	out := &stateChangesJSON{
		MiniBlock: hexutil.Uint64(mb.Header.Number), BlockNumber: hexutil.Uint64(mb.Header.BlockNumber), Hash: mb.Hash(),
		Accounts: []accountChangeJSON{},
	}
	if mb.Diff == nil {
		return out
	}
	for i := range mb.Diff.Accounts {
		a := &mb.Diff.Accounts[i]
		c := accountChangeJSON{Address: a.Address, Deleted: a.Flags&chain.Deleted != 0, Reset: a.Flags&chain.Reset != 0}
		if a.Flags&chain.SetNonce != 0 || c.Reset {
			n := hexutil.Uint64(a.Nonce)
			c.Nonce = &n
		}
		if a.Flags&chain.SetBalance != 0 || c.Reset {
			c.Balance = (*hexutil.Big)(a.Balance.ToBig())
		}
		if a.Flags&chain.SetCode != 0 || c.Reset {
			h := types.EmptyCodeHash
			if len(a.Code) > 0 {
				h = crypto.Keccak256Hash(a.Code)
			}
			c.CodeHash = &h
		}
		if len(a.Storage) > 0 {
			c.Storage = make(map[common.Hash]common.Hash, len(a.Storage))
			for _, s := range a.Storage {
				c.Storage[s.Key] = s.Value
			}
		}
		out.Accounts = append(out.Accounts, c)
	}
	return out
}

// feeHistoryResult is go-ethereum's.
type feeHistoryResult struct {
	OldestBlock  *hexutil.Big     `json:"oldestBlock"`
	Reward       [][]*hexutil.Big `json:"reward,omitempty"`
	BaseFee      []*hexutil.Big   `json:"baseFeePerGas,omitempty"`
	GasUsedRatio []float64        `json:"gasUsedRatio"`
	// The blob fields: this chain refuses blob transactions, so every
	// block's blob base fee is the minimum and its blob gas used is zero.
	BlobBaseFee      []*hexutil.Big `json:"baseFeePerBlobGas,omitempty"`
	BlobGasUsedRatio []float64      `json:"blobGasUsedRatio,omitempty"`
}

func marshalFeeHistory(h *api.FeeHistory) *feeHistoryResult {
	out := &feeHistoryResult{OldestBlock: (*hexutil.Big)(new(big.Int).SetUint64(h.Oldest)), GasUsedRatio: []float64{}}
	if len(h.GasUsed) == 0 {
		out.OldestBlock = (*hexutil.Big)(new(big.Int))
		return out
	}
	for i, used := range h.GasUsed {
		ratio := 0.0
		if i < len(h.GasLimit) && h.GasLimit[i] > 0 {
			ratio = float64(used) / float64(h.GasLimit[i])
		}
		out.GasUsedRatio = append(out.GasUsedRatio, ratio)
	}
	for _, b := range h.BaseFee {
		out.BaseFee = append(out.BaseFee, (*hexutil.Big)(b))
		out.BlobBaseFee = append(out.BlobBaseFee, (*hexutil.Big)(big.NewInt(params.BlobTxMinBlobGasprice)))
	}
	out.BlobGasUsedRatio = make([]float64, len(h.GasUsed))
	for _, r := range h.Reward {
		row := make([]*hexutil.Big, len(r))
		for j, v := range r {
			row[j] = (*hexutil.Big)(v)
		}
		out.Reward = append(out.Reward, row)
	}
	return out
}

// transactionArgs is the part of go-ethereum's TransactionArgs that calls
// and estimates use; the other fields are accepted and ignored.
type transactionArgs struct {
	From  *common.Address `json:"from"`
	To    *common.Address `json:"to"`
	Gas   *hexutil.Uint64 `json:"gas"`
	Value *hexutil.Big    `json:"value"`
	Data  *hexutil.Bytes  `json:"data"`
	Input *hexutil.Bytes  `json:"input"`
}

// call fills a call's callee, caller, input, gas and value.
func (args *transactionArgs) call(c *api.Call) error {
	if args.Data != nil && args.Input != nil && !strings.EqualFold(args.Data.String(), args.Input.String()) {
		return &invalidParamsError{`both "data" and "input" are set and not equal. Please use "input" to pass transaction call data`}
	}
	if args.From != nil {
		c.From = *args.From
	}
	if args.To != nil {
		c.Address = *args.To
	} else {
		c.Create = true
	}
	switch {
	case args.Input != nil:
		c.Data = *args.Input
	case args.Data != nil:
		c.Data = *args.Data
	}
	if args.Gas != nil {
		c.Gas = uint64(*args.Gas)
	}
	if args.Value != nil && args.Value.ToInt().Sign() != 0 {
		v := args.Value.ToInt()
		if v.Sign() < 0 || v.BitLen() > 256 {
			return &invalidParamsError{"invalid value: out of range"}
		}
		c.Value = new(big.Int).Set(v)
	}
	return nil
}

// filterQuery is eth_getLogs' and the logs subscription's filter, parsed
// as go-ethereum's FilterCriteria is.
type filterQuery struct {
	BlockHash *common.Hash
	FromBlock *gethrpc.BlockNumber
	ToBlock   *gethrpc.BlockNumber
	Addresses []common.Address
	Topics    [][]common.Hash
}

var errInvalidTopic = &invalidParamsError{"invalid topic(s)"}

// UnmarshalJSON implements json.Unmarshaler, with go-ethereum's messages.
func (q *filterQuery) UnmarshalJSON(data []byte) error {
	var raw struct {
		BlockHash *common.Hash         `json:"blockHash"`
		FromBlock *gethrpc.BlockNumber `json:"fromBlock"`
		ToBlock   *gethrpc.BlockNumber `json:"toBlock"`
		Addresses any                  `json:"address"`
		Topics    []any                `json:"topics"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw.BlockHash != nil {
		if raw.FromBlock != nil || raw.ToBlock != nil {
			return errors.New("cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other")
		}
		q.BlockHash = raw.BlockHash
	} else {
		q.FromBlock, q.ToBlock = raw.FromBlock, raw.ToBlock
	}
	if raw.Addresses != nil {
		switch addrs := raw.Addresses.(type) {
		case []any:
			if len(addrs) > api.MaxLogAddresses {
				return errExceedLogQueryLimit
			}
			for i, a := range addrs {
				s, ok := a.(string)
				if !ok {
					return fmt.Errorf("non-string address at index %d", i)
				}
				addr, err := decodeAddress(s)
				if err != nil {
					return fmt.Errorf("invalid address at index %d: %v", i, err)
				}
				q.Addresses = append(q.Addresses, addr)
			}
		case string:
			addr, err := decodeAddress(addrs)
			if err != nil {
				return fmt.Errorf("invalid address: %v", err)
			}
			q.Addresses = []common.Address{addr}
		default:
			return errors.New("invalid addresses in query")
		}
	}
	if len(raw.Topics) > api.MaxLogTopics {
		return errors.New("exceed max topics")
	}
	if len(raw.Topics) > 0 {
		q.Topics = make([][]common.Hash, len(raw.Topics))
		for i, t := range raw.Topics {
			switch topic := t.(type) {
			case nil:
			case string:
				h, err := decodeTopic(topic)
				if err != nil {
					return err
				}
				q.Topics[i] = []common.Hash{h}
			case []any:
				if len(topic) > api.MaxLogAddresses {
					return errExceedLogQueryLimit
				}
				for _, rt := range topic {
					if rt == nil {
						q.Topics[i] = nil // a null component matches all
						break
					}
					s, ok := rt.(string)
					if !ok {
						return errInvalidTopic
					}
					h, err := decodeTopic(s)
					if err != nil {
						return err
					}
					q.Topics[i] = append(q.Topics[i], h)
				}
			default:
				return errInvalidTopic
			}
		}
	}
	return nil
}

var errExceedLogQueryLimit = errors.New("exceed max addresses or topics per search position")

func decodeAddress(s string) (common.Address, error) {
	b, err := hexutil.Decode(s)
	if err == nil && len(b) != common.AddressLength {
		err = fmt.Errorf("hex has invalid length %d after decoding; expected %d for address", len(b), common.AddressLength)
	}
	return common.BytesToAddress(b), err
}

func decodeTopic(s string) (common.Hash, error) {
	b, err := hexutil.Decode(s)
	if err == nil && len(b) != common.HashLength {
		err = fmt.Errorf("hex has invalid length %d after decoding; expected %d for topic", len(b), common.HashLength)
	}
	return common.BytesToHash(b), err
}

// decodeStorageKey is go-ethereum's: hex of at most 32 bytes, 0x optional.
func decodeStorageKey(s string) (common.Hash, error) {
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		s = s[2:]
	}
	if len(s)&1 > 0 {
		s = "0" + s
	}
	if len(s) > 64 {
		return common.Hash{}, errors.New("storage key too long (want at most 32 bytes)")
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return common.Hash{}, errors.New("invalid hex in storage key")
	}
	return common.BytesToHash(b), nil
}

// tagOf maps a block number of the JSON API to the API's tag.
func tagOf(n gethrpc.BlockNumber) api.Tag {
	switch n {
	case gethrpc.LatestBlockNumber:
		return api.Latest
	case gethrpc.PendingBlockNumber:
		return api.Pending
	case gethrpc.SafeBlockNumber:
		return api.Safe
	case gethrpc.FinalizedBlockNumber:
		return api.Finalized
	case gethrpc.EarliestBlockNumber:
		return api.AtBlock(0)
	}
	return api.AtBlock(uint64(n))
}

// logFilter builds the API's filter from a parsed query: from and to
// default to latest.
func (q *filterQuery) logFilter() *api.LogFilter {
	f := &api.LogFilter{From: api.Latest, To: api.Latest, Addresses: q.Addresses, Topics: q.Topics}
	if q.BlockHash != nil {
		f.BlockHash = *q.BlockHash
	}
	if q.FromBlock != nil {
		f.From = tagOf(*q.FromBlock)
	}
	if q.ToBlock != nil {
		f.To = tagOf(*q.ToBlock)
	}
	return f
}

// matches reports whether a log passes the query's addresses and topics.
func (q *filterQuery) matches(l *types.Log) bool {
	if len(q.Addresses) > 0 && !containsAddress(q.Addresses, l.Address) {
		return false
	}
	if len(q.Topics) > len(l.Topics) {
		return false
	}
	for i, sub := range q.Topics {
		if len(sub) == 0 {
			continue
		}
		found := false
		for _, t := range sub {
			if t == l.Topics[i] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func containsAddress(as []common.Address, a common.Address) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}
