package contracts

import (
	"math/big"

	"github.com/ethereum/go-ethereum/common"
)

// Deployment code: creation bytecode ++ ABI-encoded constructor arguments.
// Factory, Child and Probe take no constructor arguments; deploy their Bytecode.

// TokenDeployCode mints supply to the deployer.
func TokenDeployCode(name, symbol string, supply *big.Int) []byte {
	return Token.deployCode(name, symbol, supply)
}

func AMMDeployCode(token0, token1 common.Address) []byte {
	return AMM.deployCode(token0, token1)
}

// Token calldata.

func TokenTransfer(to common.Address, amount *big.Int) []byte {
	return Token.pack("transfer", to, amount)
}

func TokenApprove(spender common.Address, amount *big.Int) []byte {
	return Token.pack("approve", spender, amount)
}

func TokenTransferFrom(from, to common.Address, amount *big.Int) []byte {
	return Token.pack("transferFrom", from, to, amount)
}

func TokenBalanceOf(holder common.Address) []byte {
	return Token.pack("balanceOf", holder)
}

// AMM calldata.

// AMMAddLiquidity needs prior Token approvals of amount0/amount1 to the pool.
func AMMAddLiquidity(amount0, amount1 *big.Int) []byte {
	return AMM.pack("addLiquidity", amount0, amount1)
}

// AMMSwap needs a prior approval of amountIn on the input token to the pool.
func AMMSwap(zeroForOne bool, amountIn, minOut *big.Int) []byte {
	return AMM.pack("swap", zeroForOne, amountIn, minOut)
}

func AMMGetReserves() []byte {
	return AMM.pack("getReserves")
}

// AMMSwapOut is the pool's output formula with the 0.3% fee:
// amountIn*997*reserveOut / (reserveIn*1000 + amountIn*997).
func AMMSwapOut(amountIn, reserveIn, reserveOut *big.Int) *big.Int {
	in := new(big.Int).Mul(amountIn, big.NewInt(997))
	num := new(big.Int).Mul(in, reserveOut)
	den := new(big.Int).Add(new(big.Int).Mul(reserveIn, big.NewInt(1000)), in)
	return num.Quo(num, den)
}

// Factory calldata. Each call forwards its value to the new Child.

func FactoryDeploy() []byte {
	return Factory.pack("deploy")
}

func FactoryDeploy2(salt [32]byte) []byte {
	return Factory.pack("deploy2", salt)
}

func FactoryDeployAndDestroy(salt [32]byte, beneficiary common.Address) []byte {
	return Factory.pack("deployAndDestroy", salt, beneficiary)
}

// Child calldata.

func ChildSet(v *big.Int) []byte {
	return Child.pack("set", v)
}

func ChildGet() []byte {
	return Child.pack("get")
}

func ChildDestroy(beneficiary common.Address) []byte {
	return Child.pack("destroy", beneficiary)
}

// Probe calldata.

// ProbeFail always reverts with Error(reason).
func ProbeFail(reason string) []byte {
	return Probe.pack("fail", reason)
}

// ProbeBurn runs n rounds of keccak plus a fresh SSTORE (about 22k gas each).
func ProbeBurn(n uint64) []byte {
	return Probe.pack("burn", new(big.Int).SetUint64(n))
}

// ProbeTCount returns 2 when it is the transaction's first tcount call.
func ProbeTCount() []byte {
	return Probe.pack("tcount")
}

// ProbeTStoreThenRevert returns 123: the reverted sub-call's TSTORE is undone.
func ProbeTStoreThenRevert() []byte {
	return Probe.pack("tstoreThenRevert")
}

// ProbeStore writes val to the Probe's raw storage slot.
func ProbeStore(slot, val common.Hash) []byte {
	return Probe.pack("store", slot.Big(), val.Big())
}

func ProbeClear(slot common.Hash) []byte {
	return Probe.pack("clear", slot.Big())
}

// ProbeEmitMany emits n Tick(i, sender) logs.
func ProbeEmitMany(n uint64) []byte {
	return Probe.pack("emitMany", new(big.Int).SetUint64(n))
}

func ProbeSelfDestruct(beneficiary common.Address) []byte {
	return Probe.pack("selfDestruct", beneficiary)
}
