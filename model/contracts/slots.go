package contracts

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
)

// Storage layouts (also documented in src/*.sol and checked against the
// compiler's storageLayout by the tests):
//
//	Token: 0 balanceOf mapping, 1 allowance mapping, 2 totalSupply, 3 name, 4 symbol
//	AMM:   0 token0, 1 token1, 2 reserve0, 3 reserve1
//	Child: 0 value
//	Probe: 0 sink mapping (written by burn)
//	Factory has no storage.
const (
	tokenBalanceSlot     = 0
	tokenAllowanceSlot   = 1
	tokenTotalSupplySlot = 2
	ammToken0Slot        = 0
	ammToken1Slot        = 1
	ammReserve0Slot      = 2
	ammReserve1Slot      = 3
	childValueSlot       = 0
)

func slot(n uint64) common.Hash { return common.BigToHash(new(big.Int).SetUint64(n)) }

// mappingSlot is Solidity's slot for m[key] where m sits at base:
// keccak256(key ++ base), both as 32-byte words.
func mappingSlot(key, base common.Hash) common.Hash {
	return crypto.Keccak256Hash(key[:], base[:])
}

// TokenBalanceSlot is the slot of balanceOf[holder].
func TokenBalanceSlot(holder common.Address) common.Hash {
	return mappingSlot(common.BytesToHash(holder[:]), slot(tokenBalanceSlot))
}

// TokenAllowanceSlot is the slot of allowance[owner][spender].
func TokenAllowanceSlot(owner, spender common.Address) common.Hash {
	inner := mappingSlot(common.BytesToHash(owner[:]), slot(tokenAllowanceSlot))
	return mappingSlot(common.BytesToHash(spender[:]), inner)
}

func TokenTotalSupplySlot() common.Hash { return slot(tokenTotalSupplySlot) }

// AMM slots; token addresses are stored right-aligned (common.BytesToHash(addr[:])).
func AMMToken0Slot() common.Hash   { return slot(ammToken0Slot) }
func AMMToken1Slot() common.Hash   { return slot(ammToken1Slot) }
func AMMReserve0Slot() common.Hash { return slot(ammReserve0Slot) }
func AMMReserve1Slot() common.Hash { return slot(ammReserve1Slot) }

// ChildValueSlot holds Child's value (1 after construction).
func ChildValueSlot() common.Hash { return slot(childValueSlot) }

// childInitCodeHash is keccak256 of Child's creation code; Child's
// constructor takes no arguments, so this is its CREATE2 init-code hash.
var childInitCodeHash = crypto.Keccak256(Child.Bytecode)

// Child2Address is where Factory at factory deploys a Child with
// deploy2(salt) or deployAndDestroy(salt, _).
func Child2Address(factory common.Address, salt [32]byte) common.Address {
	return crypto.CreateAddress2(factory, salt, childInitCodeHash)
}
