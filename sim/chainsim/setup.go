package chainsim

import (
	"crypto/ecdsa"
	"encoding/binary"
	"math/big"
	"sync"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/params"
	"github.com/meganode/meganode/model/contracts"
	"github.com/meganode/meganode/node/exec"
	"github.com/meganode/meganode/sim"
)

// ChainID is the simulated chain's id (the devnet's).
const ChainID = 424242

// The fixed cast of every run: keys, accounts and contracts at genesis.
const (
	maxClients        = 16
	accountsPerClient = 2
	clientsPerGroup   = 2
)

var (
	ether        = new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	startBalance = new(big.Int).Mul(big.NewInt(1000), ether)
	startTokens  = new(big.Int).Mul(big.NewInt(1000), ether)

	tokenAddr = common.HexToAddress("0x70000000000000000000000000000000000000a1")
	tokenA    = common.HexToAddress("0x70000000000000000000000000000000000000a2")
	tokenB    = common.HexToAddress("0x70000000000000000000000000000000000000a3")
	ammAddr   = common.HexToAddress("0x70000000000000000000000000000000000000a4")
	probeAddr = common.HexToAddress("0x70000000000000000000000000000000000000a5")
	coinbase  = common.HexToAddress("0x70000000000000000000000000000000000000c0")
)

// Cast is the genesis and the keys every run shares.
type Cast struct {
	Genesis *core.Genesis
	Alloc   types.GenesisAlloc // with the system contracts, as the reference executor needs it
	Chain   *params.ChainConfig
	SeqKey  *ecdsa.PrivateKey
	SeqAddr common.Address
	// GroupKeys sign the mini-blocks of a sequencer group's members
	// (maxGroup of them).
	GroupKeys  []*ecdsa.PrivateKey
	GroupAddrs []common.Address
	Keys       []*ecdsa.PrivateKey // maxClients × accountsPerClient
	Addrs      []common.Address
	Signer     types.Signer
	WrongSign  types.Signer // another chain's signer, for bad input
	Executor   *exec.Executor
	Genesis0   *types.Block
	// ProverKeys sign the provers' statements (maxProvers of them).
	ProverKeys  []*ecdsa.PrivateKey
	ProverAddrs []common.Address
}

// maxProvers bounds the provers of a run, maxGroup a sequencer group.
const (
	maxProvers = 4
	maxGroup   = 5
)

var (
	castOnce sync.Once
	theCast  *Cast
)

func key(label string, i int) *ecdsa.PrivateKey {
	seed := crypto.Keccak256([]byte(label), binary.BigEndian.AppendUint64(nil, uint64(i)))
	k, err := crypto.ToECDSA(seed)
	if err != nil {
		panic(err)
	}
	return k
}

// TheCast returns the shared cast, built once.
func TheCast() *Cast {
	castOnce.Do(func() { theCast = buildCast() })
	return theCast
}

func buildCast() *Cast {
	cfg := exec.DefaultChainConfig(ChainID)
	c := &Cast{Chain: cfg, SeqKey: key("meganode-sim-sequencer", 0)}
	c.SeqAddr = crypto.PubkeyToAddress(c.SeqKey.PublicKey)
	alloc := types.GenesisAlloc{}
	for i := range maxClients * accountsPerClient {
		k := key("meganode-sim-account", i)
		c.Keys = append(c.Keys, k)
		a := crypto.PubkeyToAddress(k.PublicKey)
		c.Addrs = append(c.Addrs, a)
		alloc[a] = types.Account{Balance: new(big.Int).Set(startBalance)}
	}
	tokenStorage := func(extra func(map[common.Hash]common.Hash)) map[common.Hash]common.Hash {
		s := map[common.Hash]common.Hash{}
		total := new(big.Int)
		for _, a := range c.Addrs {
			s[contracts.TokenBalanceSlot(a)] = common.BigToHash(startTokens)
			total.Add(total, startTokens)
		}
		if extra != nil {
			extra(s)
		}
		s[contracts.TokenTotalSupplySlot()] = common.BigToHash(total)
		return s
	}
	alloc[tokenAddr] = types.Account{Code: contracts.Token.Runtime, Storage: tokenStorage(nil)}
	reserve := new(big.Int).Mul(big.NewInt(1_000_000), ether)
	max256 := common.HexToHash("0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff")
	for _, t := range []common.Address{tokenA, tokenB} {
		alloc[t] = types.Account{Code: contracts.Token.Runtime, Storage: tokenStorage(func(s map[common.Hash]common.Hash) {
			s[contracts.TokenBalanceSlot(ammAddr)] = common.BigToHash(reserve)
			for _, a := range c.Addrs {
				s[contracts.TokenAllowanceSlot(a, ammAddr)] = max256
			}
		})}
	}
	// The token supply slot counts the pool's reserve as well.
	for _, t := range []common.Address{tokenA, tokenB} {
		acc := alloc[t]
		total := new(big.Int).Add(new(big.Int).Mul(startTokens, big.NewInt(int64(len(c.Addrs)))), reserve)
		acc.Storage[contracts.TokenTotalSupplySlot()] = common.BigToHash(total)
		alloc[t] = acc
	}
	alloc[ammAddr] = types.Account{Code: contracts.AMM.Runtime, Storage: map[common.Hash]common.Hash{
		contracts.AMMToken0Slot():   common.BytesToHash(tokenA[:]),
		contracts.AMMToken1Slot():   common.BytesToHash(tokenB[:]),
		contracts.AMMReserve0Slot(): common.BigToHash(reserve),
		contracts.AMMReserve1Slot(): common.BigToHash(reserve),
	}}
	alloc[probeAddr] = types.Account{Code: contracts.Probe.Runtime}
	c.Genesis = &core.Genesis{
		Config: cfg, Alloc: alloc, GasLimit: 30_000_000, BaseFee: big.NewInt(params.InitialBaseFee),
		Timestamp: uint64(sim.Epoch.Unix()), Difficulty: new(big.Int),
	}
	c.Alloc = types.GenesisAlloc{}
	for a, acc := range alloc { // copying a map: order cannot leak
		c.Alloc[a] = acc
	}
	for a, acc := range exec.SystemContracts(cfg, c.Genesis.Timestamp) { // copying a map: order cannot leak
		c.Alloc[a] = acc
	}
	var err error
	if c.Executor, err = exec.New(exec.Config{Chain: cfg, Policy: exec.DefaultPolicy()}); err != nil {
		panic(err)
	}
	if c.Genesis0, _, err = exec.Genesis(c.Genesis); err != nil {
		panic(err)
	}
	for i := range maxGroup {
		k := key("meganode-sim-sequencer-group", i)
		c.GroupKeys = append(c.GroupKeys, k)
		c.GroupAddrs = append(c.GroupAddrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	for i := range maxProvers {
		k := key("meganode-sim-prover", i)
		c.ProverKeys = append(c.ProverKeys, k)
		c.ProverAddrs = append(c.ProverAddrs, crypto.PubkeyToAddress(k.PublicKey))
	}
	c.Signer = types.LatestSignerForChainID(big.NewInt(ChainID))
	c.WrongSign = types.LatestSignerForChainID(big.NewInt(1))
	return c
}
