package model

import (
	"fmt"
	"strings"

	"github.com/anishathalye/porcupine"
	"github.com/ethereum/go-ethereum/common"
	"github.com/holiman/uint256"
)

// The porcupine model of the real-time client API (P1): per account, the
// nonce, the ETH balance and the balance of one ERC-20 token. Accounts are
// split in groups that only transact among themselves, so the model is
// partitioned by group and each partition checks on its own.

// OpKind is what a client operation does.
type OpKind uint8

// Operation kinds.
const (
	OpSend    OpKind = iota + 1 // a transaction sent synchronously (its receipt is the answer)
	OpBalance                   // read the ETH balance
	OpNonce                     // read the nonce
	OpToken                     // read the token balance
)

// SendKind is what a transaction does, as far as the model tracks it.
type SendKind uint8

// What the model knows of a transaction's effect beyond gas and nonce.
const (
	SendOther    SendKind = iota // gas and nonce only (contract calls, deployments, reverts)
	SendTransfer                 // value to another account of the group; must succeed
	SendToken                    // token transfer to another account of the group; succeeds iff the balance covers it
)

// Refusal is a send's definite error, which the model checks against the
// state.
type Refusal uint8

// Refusals.
const (
	RefusedNone              Refusal = iota
	RefusedNonceTooLow               // nonce below the account's
	RefusedNonceGap                  // nonce more than MaxGap above the account's
	RefusedInsufficientFunds         // balance below gas × fee cap + value
	RefusedStateless                 // refused for what the transaction is, whatever the state (bad signature, wrong chain, oversized, malformed)
)

// APIInput is an operation's input.
type APIInput struct {
	Group   int
	Kind    OpKind
	Account int // index in the group: the sender, or the account read
	// Sends:
	Send     SendKind
	Nonce    uint64
	To       int // index in the group of the recipient (transfers)
	Value    uint256.Int
	Amount   uint256.Int // token amount
	MaxCost  uint256.Int // gas × fee cap + value: what the balance must cover
	Hash     common.Hash
	Describe string
}

// APIOutput is an operation's output.
type APIOutput struct {
	Receipt bool
	Status  uint64
	Fee     uint256.Int // gas used × effective gas price
	Refused Refusal
	Value   uint256.Int // balance reads
	Nonce   uint64      // nonce reads
}

// GroupState is one group's state: per account, nonce, balance and token
// balance. Steps copy it; it is never changed in place.
type GroupState struct {
	Nonce   []uint64
	Balance []uint256.Int
	Token   []uint256.Int
}

func (s GroupState) clone() GroupState {
	return GroupState{
		Nonce:   append([]uint64(nil), s.Nonce...),
		Balance: append([]uint256.Int(nil), s.Balance...),
		Token:   append([]uint256.Int(nil), s.Token...),
	}
}

// APIModel returns the model for groups with the given initial states;
// maxGap is the pool's nonce gap limit.
func APIModel(initial []GroupState, maxGap uint64) porcupine.Model {
	return porcupine.Model{
		Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
			parts := make([][]porcupine.Operation, len(initial))
			var out [][]porcupine.Operation
			for _, op := range history {
				g := op.Input.(APIInput).Group
				if g < 0 || g >= len(parts) {
					// Not a group of the model: alone in a partition of
					// its own, where Step refuses it.
					out = append(out, []porcupine.Operation{op})
					continue
				}
				parts[g] = append(parts[g], op)
			}
			for _, p := range parts {
				if len(p) > 0 {
					out = append(out, p)
				}
			}
			return out
		},
		Init: func() any { return groupInit{initial} },
		Step: func(state, input, output any) (bool, any) {
			in, out := input.(APIInput), output.(APIOutput)
			var s GroupState
			switch st := state.(type) {
			case groupInit:
				if in.Group < 0 || in.Group >= len(st.groups) {
					return false, state
				}
				s = st.groups[in.Group]
			case GroupState:
				s = st
			}
			ok, next := step(s, in, out, maxGap)
			if in.Kind != OpSend || !out.Receipt {
				// A read or a refusal changes nothing: the state it was
				// given, as it was given (an ordered check compares them).
				return ok, state
			}
			return ok, next
		},
		Equal: equalStates,
		DescribeOperation: func(input, output any) string {
			in, out := input.(APIInput), output.(APIOutput)
			return in.Describe + " → " + describeOutput(in, out)
		},
		DescribeState: describe,
	}
}

// groupInit is the state before the first step of a partition: the step
// picks its group's initial state.
type groupInit struct{ groups []GroupState }

func describe(st any) string {
	switch s := st.(type) {
	case groupInit:
		return "initial"
	case GroupState:
		var b strings.Builder
		for i := range s.Nonce {
			fmt.Fprintf(&b, "#%d nonce %d balance %v token %v; ", i, s.Nonce[i], &s.Balance[i], &s.Token[i])
		}
		return b.String()
	}
	return "?"
}

func describeOutput(in APIInput, out APIOutput) string {
	switch in.Kind {
	case OpSend:
		if out.Receipt {
			return fmt.Sprintf("receipt status %d fee %v", out.Status, &out.Fee)
		}
		return fmt.Sprintf("refused (%d)", out.Refused)
	case OpNonce:
		return fmt.Sprint(out.Nonce)
	}
	return out.Value.String()
}

func step(s GroupState, in APIInput, out APIOutput, maxGap uint64) (bool, GroupState) {
	i := in.Account
	switch in.Kind {
	case OpBalance:
		return out.Value.Eq(&s.Balance[i]), s
	case OpNonce:
		return out.Nonce == s.Nonce[i], s
	case OpToken:
		return out.Value.Eq(&s.Token[i]), s
	}
	if !out.Receipt {
		switch out.Refused {
		case RefusedNonceTooLow:
			return in.Nonce < s.Nonce[i], s
		case RefusedNonceGap:
			return in.Nonce > s.Nonce[i]+maxGap, s
		case RefusedInsufficientFunds:
			return s.Balance[i].Lt(&in.MaxCost), s
		case RefusedStateless:
			return true, s
		}
		return false, s
	}
	if in.Nonce != s.Nonce[i] || out.Status > 1 {
		return false, s
	}
	n := s.clone()
	n.Nonce[i]++
	if n.Balance[i].Lt(&out.Fee) {
		return false, s
	}
	n.Balance[i].Sub(&n.Balance[i], &out.Fee)
	switch in.Send {
	case SendTransfer:
		if out.Status != 1 || n.Balance[i].Lt(&in.Value) {
			return false, s
		}
		n.Balance[i].Sub(&n.Balance[i], &in.Value)
		n.Balance[in.To].Add(&n.Balance[in.To], &in.Value)
	case SendToken:
		enough := !n.Token[i].Lt(&in.Amount)
		if enough != (out.Status == 1) {
			return false, s
		}
		if enough {
			n.Token[i].Sub(&n.Token[i], &in.Amount)
			n.Token[in.To].Add(&n.Token[in.To], &in.Amount)
		}
	}
	return true, n
}

func equalStates(a, b any) bool {
	x, ok1 := a.(GroupState)
	y, ok2 := b.(GroupState)
	if !ok1 || !ok2 {
		return describe(a) == describe(b)
	}
	if len(x.Nonce) != len(y.Nonce) {
		return false
	}
	for i := range x.Nonce {
		if x.Nonce[i] != y.Nonce[i] || !x.Balance[i].Eq(&y.Balance[i]) || !x.Token[i].Eq(&y.Token[i]) {
			return false
		}
	}
	return true
}
