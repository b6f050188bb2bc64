package state

import (
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/node"
	"github.com/meganode/meganode/node/chain"
)

// Account is an account's own fields. Storage and code live beside it.
type Account struct {
	Nonce    uint64
	Balance  uint256.Int
	CodeHash common.Hash // types.EmptyCodeHash when the account has no code
}

// Empty reports whether the account is empty in the sense of EIP-161.
func (a *Account) Empty() bool {
	return a.Nonce == 0 && a.Balance.IsZero() && a.CodeHash == types.EmptyCodeHash
}

// Reader is read access to a world state. It is what execution needs.
type Reader interface {
	// Account returns the account at addr and whether it exists.
	Account(addr common.Address) (Account, bool)
	// Storage returns the value of a storage slot; zero when unset.
	Storage(addr common.Address, key common.Hash) common.Hash
	// Code returns the code with the given hash; nil for EmptyCodeHash.
	Code(codeHash common.Hash) []byte
}

// State is a world state that changes only by diffs.
type State interface {
	Reader
	// Apply applies a diff. It fails, changing nothing, only on a diff that
	// is not canonical (see chain.Diff.Validate).
	Apply(d *chain.Diff) error
	// Root is the Ethereum state root.
	Root() common.Hash
	// Copy returns an independent copy.
	Copy() State
	// Save writes what changed since the last Save (everything, the first
	// time) to disk in one committed batch, so that Load gives back this
	// state. Making it durable is the caller's (a sync).
	Save(disk node.Disk) error
}
