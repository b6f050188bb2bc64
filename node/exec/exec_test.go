package exec

import (
	"crypto/ecdsa"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/txpool"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/core/vm"
	"github.com/ethereum/go-ethereum/core/vm/program"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/state"
)

const testChainID = 424242

var (
	keyA, _  = crypto.HexToECDSA("b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291")
	keyB, _  = crypto.HexToECDSA("8a1f9a8f95be41cd7ccb6168179afb4504aefe388d1e14474d32c45c72ce7b7a")
	addrA    = crypto.PubkeyToAddress(keyA.PublicKey)
	addrB    = crypto.PubkeyToAddress(keyB.PublicKey)
	coinbase = common.HexToAddress("0xc0ffee")
	ether    = big.NewInt(params.Ether)

	// Contracts used by the tests, written directly in EVM code.
	sstoreThenRevert = common.HexToAddress("0x1001") // SSTORE(1, 42) then REVERT
	writeBack        = common.HexToAddress("0x1002") // SSTORE(0, 5) then SSTORE(0, original)
	clearSlot        = common.HexToAddress("0x1003") // SSTORE(0, 0)
	setSlotFromInput = common.HexToAddress("0x1004") // SSTORE(0, calldata[0:32])
	emptyWithStorage = common.HexToAddress("0x1005") // an EIP-161-empty account that holds storage
	logger           = common.HexToAddress("0x1006") // LOG1 with topic 7
	factory          = common.HexToAddress("0x1007") // CREATE2 a child that self-destructs in its constructor
	hasCode          = common.HexToAddress("0x1008") // an account with code, used as a sender
)

func testAlloc() types.GenesisAlloc {
	hundred := new(big.Int).Mul(big.NewInt(100), ether)
	return types.GenesisAlloc{
		addrA:            {Balance: hundred},
		addrB:            {Balance: big.NewInt(1)},
		sstoreThenRevert: {Code: program.New().Sstore(1, 42).Op(vm.PUSH0, vm.PUSH0, vm.REVERT).Bytes()},
		writeBack: {Code: program.New().Sstore(0, 5).Sstore(0, 9).Op(vm.STOP).Bytes(),
			Storage: map[common.Hash]common.Hash{{}: common.BigToHash(big.NewInt(9))}},
		clearSlot: {Code: program.New().Sstore(0, 0).Op(vm.STOP).Bytes(),
			Storage: map[common.Hash]common.Hash{{}: common.BigToHash(big.NewInt(7))}},
		setSlotFromInput: {Code: program.New().Push(0).Op(vm.CALLDATALOAD).Push(0).Op(vm.SSTORE, vm.STOP).Bytes(),
			Storage: map[common.Hash]common.Hash{{}: common.BigToHash(big.NewInt(1))}},
		emptyWithStorage: {Balance: big.NewInt(0), Storage: map[common.Hash]common.Hash{{1}: {2}}},
		logger:           {Code: program.New().Push(7).Push(0).Push(0).Op(vm.LOG1, vm.STOP).Bytes()},
		factory:          {Code: program.New().Create2(program.New().Selfdestruct(coinbase).Bytes(), 1).Op(vm.STOP).Bytes()},
		hasCode:          {Balance: ether, Code: []byte{byte(vm.STOP)}},
	}
}

type env struct {
	t      *testing.T
	ex     *Executor
	st     *state.Mem
	header *types.Header
	nonces map[common.Address]uint64
}

func newEnv(t *testing.T, policy Policy) *env {
	t.Helper()
	cfg := DefaultChainConfig(testChainID)
	ex, err := New(Config{Chain: cfg, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	_, st, err := Genesis(&core.Genesis{Config: cfg, Alloc: testAlloc(), GasLimit: 30_000_000, BaseFee: big.NewInt(params.GWei)})
	if err != nil {
		t.Fatal(err)
	}
	excess := uint64(0)
	return &env{t: t, ex: ex, st: st, nonces: map[common.Address]uint64{},
		header: &types.Header{Number: big.NewInt(1), Time: 12, Coinbase: coinbase, GasLimit: 30_000_000,
			BaseFee: big.NewInt(params.GWei), Difficulty: new(big.Int), ExcessBlobGas: &excess}}
}

func (e *env) block() *Block {
	return e.ex.NewBlock(e.st, e.header, func(uint64) common.Hash { return common.Hash{} })
}

// tx signs a dynamic-fee transaction from key with the next nonce.
func (e *env) tx(key *ecdsa.PrivateKey, to *common.Address, value *big.Int, gas uint64, data []byte) *types.Transaction {
	from := crypto.PubkeyToAddress(key.PublicKey)
	tx := types.MustSignNewTx(key, types.LatestSignerForChainID(big.NewInt(testChainID)), &types.DynamicFeeTx{
		ChainID: big.NewInt(testChainID), Nonce: e.nonces[from], GasTipCap: big.NewInt(params.GWei), GasFeeCap: big.NewInt(2 * params.GWei),
		Gas: gas, To: to, Value: value, Data: data,
	})
	e.nonces[from]++
	return tx
}

func ptr(a common.Address) *common.Address { return &a }

func TestBadTransactionsAreRefusedAndChangeNothing(t *testing.T) {
	signer := types.LatestSignerForChainID(big.NewInt(testChainID))
	dyn := func(nonce, gas uint64, value *big.Int, data []byte) *types.DynamicFeeTx {
		return &types.DynamicFeeTx{ChainID: big.NewInt(testChainID), Nonce: nonce, GasTipCap: big.NewInt(params.GWei),
			GasFeeCap: big.NewInt(2 * params.GWei), Gas: gas, To: ptr(addrB), Value: value, Data: data}
	}
	blobTx := func() *types.Transaction {
		return types.MustSignNewTx(keyA, signer, &types.BlobTx{ChainID: uint256.NewInt(testChainID), GasTipCap: uint256.NewInt(params.GWei),
			GasFeeCap: uint256.NewInt(2 * params.GWei), Gas: 21000, To: addrB, BlobFeeCap: uint256.NewInt(1),
			BlobHashes: []common.Hash{{0: 0x01}}})
	}
	cases := []struct {
		name   string
		tx     func() *types.Transaction
		reason Reason
		geth   error
	}{
		{"bad signature", func() *types.Transaction {
			tx := types.MustSignNewTx(keyA, signer, dyn(0, 21000, big.NewInt(1), nil))
			v, r, _ := tx.RawSignatureValues()
			bad, _ := tx.WithSignature(signer, append(append(common.LeftPadBytes(r.Bytes(), 32), make([]byte, 32)...), byte(v.Uint64())))
			return bad
		}, ReasonBadSignature, txpool.ErrInvalidSender},
		{"wrong chain id", func() *types.Transaction {
			d := dyn(0, 21000, big.NewInt(1), nil)
			d.ChainID = big.NewInt(1)
			return types.MustSignNewTx(keyA, types.LatestSignerForChainID(big.NewInt(1)), d)
		}, ReasonWrongChainID, types.ErrInvalidChainId},
		{"nonce too low", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(0, 21000, big.NewInt(1), nil))
		}, ReasonNonceTooLow, core.ErrNonceTooLow},
		{"nonce too high", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(5, 21000, big.NewInt(1), nil))
		}, ReasonNonceTooHigh, core.ErrNonceTooHigh},
		{"insufficient funds", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(1, 21000, new(big.Int).Mul(big.NewInt(1000), ether), nil))
		}, ReasonInsufficientFunds, core.ErrInsufficientFunds},
		{"intrinsic gas too low", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(1, 20999, big.NewInt(1), nil))
		}, ReasonIntrinsicGas, core.ErrIntrinsicGas},
		{"gas above the per-transaction cap", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(1, 30_000_001, big.NewInt(1), nil))
		}, ReasonGasLimit, core.ErrGasLimitTooHigh},
		{"oversized", func() *types.Transaction {
			return types.MustSignNewTx(keyA, signer, dyn(1, 10_000_000, big.NewInt(1), make([]byte, DefaultMaxTxSize)))
		}, ReasonOversized, txpool.ErrOversizedData},
		{"blob transaction", blobTx, ReasonTxType, core.ErrTxTypeNotSupported},
		{"fee cap below base fee", func() *types.Transaction {
			d := dyn(1, 21000, big.NewInt(1), nil)
			d.GasFeeCap, d.GasTipCap = big.NewInt(params.GWei-1), big.NewInt(1)
			return types.MustSignNewTx(keyA, signer, d)
		}, ReasonFee, core.ErrFeeCapTooLow},
	}
	e := newEnv(t, DefaultPolicy())
	b := e.block()
	// One good transaction first, so the nonce is 1 and there is state to keep.
	if _, _, err := b.ApplyTx(e.tx(keyA, ptr(addrB), big.NewInt(1), 21000, nil)); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			gas, txs := b.GasUsed(), b.TxCount()
			r, d, err := b.ApplyTx(c.tx())
			var te *TxError
			if !errors.As(err, &te) {
				t.Fatalf("got %v (%T), want a *TxError", err, err)
			}
			if te.Reason != c.reason {
				t.Errorf("reason %v, want %v (%v)", te.Reason, c.reason, err)
			}
			if !errors.Is(err, c.geth) || !strings.Contains(err.Error(), c.geth.Error()) {
				t.Errorf("error %q does not carry go-ethereum's %q", err, c.geth)
			}
			if r != nil || d != nil || b.GasUsed() != gas || b.TxCount() != txs {
				t.Error("a refused transaction left a trace")
			}
		})
	}
	// The refused transactions changed nothing: the mini-block holds the good one only.
	d := b.Flush()
	if err := e.st.Apply(d); err != nil {
		t.Fatal(err)
	}
	if len(d.Accounts) != 3 || d.Account(addrA).Nonce != 1 {
		t.Fatalf("mini-block diff %+v", d.Accounts)
	}
}

func TestBlobTransactionsRunWithoutThePolicy(t *testing.T) {
	e := newEnv(t, Policy{})
	tx := types.MustSignNewTx(keyA, types.LatestSignerForChainID(big.NewInt(testChainID)), &types.BlobTx{
		ChainID: uint256.NewInt(testChainID), GasTipCap: uint256.NewInt(params.GWei), GasFeeCap: uint256.NewInt(2 * params.GWei),
		Gas: 21000, To: addrB, BlobFeeCap: uint256.NewInt(params.GWei), BlobHashes: []common.Hash{{0: 0x01}}})
	r, _, err := e.block().ApplyTx(tx)
	if err != nil {
		t.Fatal(err)
	}
	if r.BlobGasUsed != params.BlobTxBlobGasPerBlob || r.Status != types.ReceiptStatusSuccessful {
		t.Fatalf("receipt %+v", r)
	}
}

func TestSenderWithCodeIsRefused(t *testing.T) {
	// No key exists for hasCode; the check runs on the sender the signature
	// recovers, so sign with a key whose address we then give code.
	e := newEnv(t, DefaultPolicy())
	if err := e.st.Apply(&chain.Diff{Accounts: []chain.AccountDiff{{Address: addrB, Flags: chain.SetCode | chain.SetBalance, Code: []byte{0}, Balance: *uint256.NewInt(params.Ether)}}}); err != nil {
		t.Fatal(err)
	}
	_, _, err := e.block().ApplyTx(e.tx(keyB, ptr(addrA), big.NewInt(1), 21000, nil))
	var te *TxError
	if !errors.As(err, &te) || te.Reason != ReasonSenderNotEOA || !errors.Is(err, core.ErrSenderNoEOA) {
		t.Fatalf("got %v", err)
	}
}

// apply returns the state after applying diffs to a copy of st.
func apply(t *testing.T, st *state.Mem, diffs ...*chain.Diff) *state.Mem {
	t.Helper()
	c := st.Copy().(*state.Mem)
	for _, d := range diffs {
		if err := c.Apply(d); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func TestDiffIsExact(t *testing.T) {
	type check func(t *testing.T, d *chain.Diff, r *types.Receipt)
	hasOnly := func(addrs ...common.Address) check {
		return func(t *testing.T, d *chain.Diff, _ *types.Receipt) {
			if len(d.Accounts) != len(addrs) {
				t.Fatalf("diff has %d accounts, want %d: %+v", len(d.Accounts), len(addrs), d.Accounts)
			}
			for _, a := range addrs {
				if d.Account(a) == nil {
					t.Fatalf("diff lacks %v: %+v", a, d.Accounts)
				}
			}
		}
	}
	cases := []struct {
		name   string
		to     common.Address
		value  *big.Int
		data   []byte
		checks []check
	}{
		{"transfer", addrB, big.NewInt(5), nil, []check{hasOnly(addrA, addrB, coinbase), func(t *testing.T, d *chain.Diff, _ *types.Receipt) {
			a, b := d.Account(addrA), d.Account(addrB)
			if a.Flags != chain.SetNonce|chain.SetBalance || a.Nonce != 1 || b.Flags != chain.SetBalance || b.Balance.Uint64() != 6 {
				t.Fatalf("sender %+v recipient %+v", a, b)
			}
		}}},
		{"reverted writes are left out", sstoreThenRevert, nil, nil, []check{hasOnly(addrA, coinbase), func(t *testing.T, _ *chain.Diff, r *types.Receipt) {
			if r.Status != types.ReceiptStatusFailed {
				t.Fatal("the call should have reverted")
			}
		}}},
		{"a slot written back is left out", writeBack, nil, nil, []check{hasOnly(addrA, coinbase)}},
		{"a zero-value call to an existing account is left out", addrB, big.NewInt(0), nil, []check{hasOnly(addrA, coinbase)}},
		{"a slot set to zero is kept", clearSlot, nil, nil, []check{hasOnly(addrA, coinbase, clearSlot), func(t *testing.T, d *chain.Diff, _ *types.Receipt) {
			s := d.Account(clearSlot).Storage
			if len(s) != 1 || s[0].Value != (common.Hash{}) {
				t.Fatalf("storage %+v", s)
			}
		}}},
		{"touching an empty account deletes it (EIP-161)", emptyWithStorage, big.NewInt(0), nil, []check{hasOnly(addrA, coinbase, emptyWithStorage), func(t *testing.T, d *chain.Diff, _ *types.Receipt) {
			if d.Account(emptyWithStorage).Flags != chain.Deleted {
				t.Fatalf("%+v", d.Account(emptyWithStorage))
			}
		}}},
		{"an account created and destroyed in one transaction never appears", factory, nil, nil, []check{hasOnly(addrA, coinbase, factory), func(t *testing.T, d *chain.Diff, _ *types.Receipt) {
			if f := d.Account(factory); f.Flags != chain.SetNonce || f.Nonce != 1 {
				t.Fatalf("factory %+v", f)
			}
		}}},
		{"logs come back in the receipt, not the diff", logger, nil, nil, []check{hasOnly(addrA, coinbase), func(t *testing.T, _ *chain.Diff, r *types.Receipt) {
			if len(r.Logs) != 1 || r.Logs[0].Topics[0] != common.BigToHash(big.NewInt(7)) || r.Bloom == (types.Bloom{}) {
				t.Fatalf("logs %+v", r.Logs)
			}
		}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, DefaultPolicy())
			pre := e.st.Copy().(*state.Mem)
			b := e.block()
			r, d, err := b.ApplyTx(e.tx(keyA, ptr(c.to), c.value, 200_000, c.data))
			if err != nil {
				t.Fatal(err)
			}
			for _, ch := range c.checks {
				ch(t, d, r)
			}
			// The transaction's diff and the mini-block's flush agree.
			flushed := b.Flush()
			if err := e.st.Apply(flushed); err != nil {
				t.Fatal(err)
			}
			if got := apply(t, pre, d); state.FirstDifference(got, e.st) != "" || got.Root() != e.st.Root() {
				t.Fatalf("applying the tx diff gives another state than the flush: %s", state.FirstDifference(got, e.st))
			}
			if flushed.Hash() != d.Hash() {
				t.Fatalf("a one-transaction mini-block's diff differs from the transaction's:\n%+v\n%+v", flushed.Accounts, d.Accounts)
			}
		})
	}
}

func TestCreationTransaction(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	code := program.New().Sstore(3, 4).ReturnData([]byte{byte(vm.STOP)}).Bytes()
	r, d, err := e.block().ApplyTx(e.tx(keyA, nil, big.NewInt(0), 200_000, code))
	if err != nil {
		t.Fatal(err)
	}
	addr := crypto.CreateAddress(addrA, 0)
	a := d.Account(addr)
	if r.ContractAddress != addr || a == nil || a.Flags != chain.SetNonce|chain.SetCode || a.Nonce != 1 ||
		len(a.Code) != 1 || len(a.Storage) != 1 || a.Storage[0].Value != common.BigToHash(big.NewInt(4)) {
		t.Fatalf("receipt %v, diff %+v", r.ContractAddress, a)
	}
}

func TestFlushIsTheExactMergeOfAMiniBlock(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	pre := e.st.Copy().(*state.Mem)
	b := e.block()
	word := func(v int64) []byte { return common.BigToHash(big.NewInt(v)).Bytes() }
	var diffs []*chain.Diff
	for _, tx := range []*types.Transaction{
		e.tx(keyA, ptr(setSlotFromInput), nil, 100_000, word(5)),       // 1 → 5
		e.tx(keyA, ptr(setSlotFromInput), nil, 100_000, word(1)),       // 5 → 1: back to the start
		e.tx(keyA, ptr(emptyWithStorage), big.NewInt(0), 100_000, nil), // deleted (EIP-161)
		e.tx(keyA, ptr(emptyWithStorage), big.NewInt(3), 100_000, nil), // re-created, without its storage
		e.tx(keyA, ptr(logger), nil, 100_000, nil),                     // a log in the first mini-block
	} {
		_, d, err := b.ApplyTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		diffs = append(diffs, d)
	}
	if s := diffs[0].Account(setSlotFromInput).Storage; len(s) != 1 || s[0].Value != common.BigToHash(big.NewInt(5)) {
		t.Fatalf("first write missing from its transaction's diff: %+v", s)
	}
	flushed := b.Flush()
	if err := e.st.Apply(flushed); err != nil {
		t.Fatal(err)
	}
	if flushed.Account(setSlotFromInput) != nil {
		t.Fatalf("a slot that came back to its value is in the mini-block diff: %+v", flushed.Account(setSlotFromInput))
	}
	re := flushed.Account(emptyWithStorage)
	if re == nil || re.Flags != chain.Reset|chain.SetBalance || re.Balance.Uint64() != 3 || len(re.Storage) != 0 {
		t.Fatalf("re-created account: %+v", re)
	}
	if e.st.Storage(emptyWithStorage, common.Hash{1}) != (common.Hash{}) {
		t.Fatal("the re-created account kept its old storage")
	}
	// Transaction diffs applied in turn, their merge, and the flush agree.
	merged := &chain.Diff{}
	for _, d := range diffs {
		merged = merged.Merge(d)
	}
	inTurn, viaMerge := apply(t, pre, diffs...), apply(t, pre, merged)
	for _, s := range []*state.Mem{inTurn, viaMerge} {
		if d := state.FirstDifference(s, e.st); d != "" {
			t.Fatal(d)
		}
	}
	// The block carries on in a second mini-block: indexes continue.
	r, _, err := b.ApplyTx(e.tx(keyA, ptr(logger), nil, 100_000, nil))
	if err != nil {
		t.Fatal(err)
	}
	if r.TransactionIndex != 5 || r.Logs[0].Index != 1 || r.CumulativeGasUsed != b.GasUsed() {
		t.Fatalf("second mini-block receipt: index %d, log index %d", r.TransactionIndex, r.Logs[0].Index)
	}
}

func TestGenesisInstallsSystemContractsAndBlocksCallThem(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	for _, a := range []common.Address{params.BeaconRootsAddress, params.HistoryStorageAddress, params.WithdrawalQueueAddress, params.ConsolidationQueueAddress} {
		if acc, ok := e.st.Account(a); !ok || acc.CodeHash == types.EmptyCodeHash {
			t.Fatalf("system contract %v missing at genesis", a)
		}
	}
	e.header.ParentHash = common.Hash{0xaa}
	e.header.ParentBeaconRoot = &common.Hash{0xbb}
	b := e.block()
	b.Begin()
	requests, err := b.End()
	if err != nil {
		t.Fatal(err)
	}
	if requests == nil {
		t.Fatal("Prague blocks return a (possibly empty) requests list")
	}
	d := b.Flush()
	if err := e.st.Apply(d); err != nil {
		t.Fatal(err)
	}
	for _, a := range []common.Address{params.BeaconRootsAddress, params.HistoryStorageAddress} {
		if acc := d.Account(a); acc == nil || len(acc.Storage) == 0 {
			t.Errorf("system call into %v left no storage write", a)
		}
	}
	// The parent hash is readable from the history contract (EIP-2935).
	if got := e.st.Storage(params.HistoryStorageAddress, common.BigToHash(big.NewInt(0))); got != (common.Hash{0xaa}) {
		t.Fatalf("history slot 0 = %v", got)
	}
}

func TestNewRefusesUnsupportedConfig(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("missing chain config accepted")
	}
	cfg := DefaultChainConfig(1)
	zero := uint64(0)
	cfg.AmsterdamTime = &zero
	if _, err := New(Config{Chain: cfg}); err == nil {
		t.Fatal("Amsterdam accepted")
	}
}

// An account that existed, was destroyed and was created again within one
// mini-block comes out as a Reset carrying all its new fields, even those
// equal to the old incarnation's.
func TestRecreatedAccountIsResetWithAllFields(t *testing.T) {
	e := newEnv(t, DefaultPolicy())
	child := crypto.CreateAddress2(factory, common.BigToHash(big.NewInt(1)), crypto.Keccak256(program.New().Selfdestruct(coinbase).Bytes()))
	if err := e.st.Apply(&chain.Diff{Accounts: []chain.AccountDiff{{Address: child, Flags: chain.SetBalance, Balance: *uint256.NewInt(7)}}}); err != nil {
		t.Fatal(err)
	}
	pre := e.st.Copy().(*state.Mem)
	b := e.block()
	var diffs []*chain.Diff
	for _, tx := range []*types.Transaction{
		e.tx(keyA, ptr(factory), nil, 200_000, nil),         // creates the child over the funded account; it self-destructs
		e.tx(keyA, ptr(child), big.NewInt(7), 100_000, nil), // the same balance again
	} {
		_, d, err := b.ApplyTx(tx)
		if err != nil {
			t.Fatal(err)
		}
		diffs = append(diffs, d)
	}
	if d := diffs[0].Account(child); d == nil || d.Flags != chain.Deleted {
		t.Fatalf("the child should be deleted by the first transaction: %+v", d)
	}
	flushed := b.Flush()
	if err := e.st.Apply(flushed); err != nil {
		t.Fatal(err)
	}
	if d := flushed.Account(child); d == nil || d.Flags != chain.Reset|chain.SetBalance || d.Balance.Uint64() != 7 {
		t.Fatalf("flushed child %+v", d)
	}
	if d := state.FirstDifference(apply(t, pre, diffs...), e.st); d != "" {
		t.Fatal(d)
	}
}

func TestGasAboveTheBlockLimitIsRefused(t *testing.T) {
	for _, policy := range []Policy{DefaultPolicy(), {}} {
		e := newEnv(t, policy)
		e.header.GasLimit = 1_000_000
		_, _, err := e.block().ApplyTx(e.tx(keyA, ptr(addrB), big.NewInt(1), 1_000_001, nil))
		var te *TxError
		if !errors.As(err, &te) || te.Reason != ReasonGasLimit {
			t.Fatalf("policy %+v: got %v", policy, err)
		}
		// The pool's message with the pool's checks; the block processor's without.
		want := core.ErrGasLimitReached
		if policy.Stateless {
			want = txpool.ErrGasLimit
		}
		if !errors.Is(err, want) {
			t.Fatalf("policy %+v: %q does not carry %q", policy, err, want)
		}
	}
	// Above EIP-7825's per-transaction cap, whatever the block allows.
	e := newEnv(t, DefaultPolicy())
	_, _, err := e.block().ApplyTx(e.tx(keyA, ptr(addrB), big.NewInt(1), params.MaxTxGas+1, nil))
	if !errors.Is(err, core.ErrGasLimitTooHigh) {
		t.Fatalf("got %v", err)
	}
}
