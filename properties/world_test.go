package properties

import (
	"crypto/ecdsa"
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/node/state"
)

const chainID = 424242

// world is the genesis the property tests start from: a few funded
// accounts, two ERC-20 tokens they hold and have approved an AMM for, the
// AMM with liquidity, a CREATE/CREATE2 factory and a probe contract.
type world struct {
	cfg                                 *params.ChainConfig
	keys                                []*ecdsa.PrivateKey
	addrs                               []common.Address
	tokenA, tokenB, amm, factory, probe common.Address
	empties                             []common.Address   // EIP-161-empty accounts holding storage
	alloc                               types.GenesisAlloc // including the system contracts
}

func newWorld() *world {
	w := &world{
		cfg:     exec.DefaultChainConfig(chainID),
		tokenA:  common.HexToAddress("0xa0"),
		tokenB:  common.HexToAddress("0xb0"),
		amm:     common.HexToAddress("0xa33"),
		factory: common.HexToAddress("0xfac"),
		probe:   common.HexToAddress("0x9b0"),
		alloc:   types.GenesisAlloc{},
	}
	for i := range 4 {
		key, _ := crypto.ToECDSA(crypto.Keccak256([]byte{byte(i + 1)}))
		w.keys = append(w.keys, key)
		w.addrs = append(w.addrs, crypto.PubkeyToAddress(key.PublicKey))
	}
	tokens := new(big.Int).Mul(big.NewInt(1_000_000), big.NewInt(params.Ether))
	reserve := new(big.Int).Mul(big.NewInt(1_000), big.NewInt(params.Ether))
	maxAllowance := common.MaxHash
	for _, tok := range []common.Address{w.tokenA, w.tokenB} {
		st := map[common.Hash]common.Hash{
			contracts.TokenBalanceSlot(w.amm): common.BigToHash(reserve),
		}
		total := new(big.Int).Set(reserve)
		for _, a := range w.addrs {
			st[contracts.TokenBalanceSlot(a)] = common.BigToHash(tokens)
			st[contracts.TokenAllowanceSlot(a, w.amm)] = maxAllowance
			total.Add(total, tokens)
		}
		st[contracts.TokenTotalSupplySlot()] = common.BigToHash(total)
		w.alloc[tok] = types.Account{Code: contracts.Token.Runtime, Storage: st, Balance: new(big.Int)}
	}
	w.alloc[w.amm] = types.Account{Code: contracts.AMM.Runtime, Balance: new(big.Int), Storage: map[common.Hash]common.Hash{
		contracts.AMMToken0Slot():   common.BytesToHash(w.tokenA[:]),
		contracts.AMMToken1Slot():   common.BytesToHash(w.tokenB[:]),
		contracts.AMMReserve0Slot(): common.BigToHash(reserve),
		contracts.AMMReserve1Slot(): common.BigToHash(reserve),
	}}
	w.alloc[w.factory] = types.Account{Code: contracts.Factory.Runtime, Balance: new(big.Int)}
	w.alloc[w.probe] = types.Account{Code: contracts.Probe.Runtime, Balance: big.NewInt(params.Ether),
		Storage: map[common.Hash]common.Hash{{31: 1}: {31: 1}}}
	for _, a := range w.addrs {
		w.alloc[a] = types.Account{Balance: new(big.Int).Mul(big.NewInt(100), big.NewInt(params.Ether))}
	}
	for i := range 2 {
		a := common.BigToAddress(big.NewInt(int64(0xe0 + i)))
		w.empties = append(w.empties, a)
		w.alloc[a] = types.Account{Balance: new(big.Int), Storage: map[common.Hash]common.Hash{{1}: {2}}}
	}
	for a, acc := range exec.SystemContracts(w.cfg, 0) { // filling a map: order cannot leak
		w.alloc[a] = acc
	}
	return w
}

// start builds the genesis state, an executor with the sequencer's policy
// and a transaction generator.
func (w *world) start(t interface{ Fatal(...any) }) (*types.Block, *state.Mem, *exec.Executor, *txGen) {
	genesis, st, err := exec.Genesis(&core.Genesis{Config: w.cfg, Alloc: w.alloc, GasLimit: 60_000_000, BaseFee: big.NewInt(params.GWei)})
	if err != nil {
		t.Fatal(err)
	}
	ex, err := exec.New(exec.Config{Chain: w.cfg, Policy: exec.DefaultPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	return genesis, st, ex, &txGen{w: w, nonces: map[common.Address]uint64{}, signer: types.LatestSignerForChainID(big.NewInt(chainID))}
}

func (w *world) header(number uint64, parent common.Hash) *types.Header {
	excess := uint64(0)
	return &types.Header{
		Number: new(big.Int).SetUint64(number), Time: 1000 + number, Coinbase: common.HexToAddress("0xc0ffee"),
		GasLimit: 60_000_000, BaseFee: big.NewInt(params.GWei), Difficulty: new(big.Int),
		MixDigest: common.Hash{byte(number)}, ParentHash: parent, ParentBeaconRoot: &common.Hash{0xbe, byte(number)},
		ExcessBlobGas: &excess, BlobGasUsed: new(uint64),
	}
}

func getHash(n uint64) common.Hash { return crypto.Keccak256Hash(new(big.Int).SetUint64(n).Bytes()) }
