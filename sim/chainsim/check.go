package chainsim

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/holiman/uint256"
	"github.com/meganode/meganode/model"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
	"github.com/meganode/meganode/node/fullnode"
	"github.com/meganode/meganode/node/ledger"
	"github.com/meganode/meganode/properties"
	"github.com/meganode/meganode/sim"
	"github.com/meganode/meganode/traces"
)

// LinearizabilityTimeout bounds porcupine's check of one run.
const LinearizabilityTimeout = time.Minute

type ledgerNode interface{ Ledger() *ledger.Ledger }

// chainOf reads every mini-block a node's ledger holds, 1 to its head.
func chainOf(l *ledger.Ledger) ([]*chain.MiniBlock, error) {
	head, _ := l.Head()
	out := make([]*chain.MiniBlock, 0, head.Number)
	for n := uint64(1); n <= head.Number; n++ {
		mb, _, err := l.MiniBlock(n)
		if err != nil {
			return nil, fmt.Errorf("mini-block %d: %w", n, err)
		}
		out = append(out, mb)
	}
	return out, nil
}

func (s *Scenario) violation(w *sim.World, v *properties.Violation) traces.Violation {
	detail := v.Detail
	if v.Where != "" {
		detail = v.Where + ": " + detail
	}
	if v.Artifact != "" {
		w.AddArtifact(v.Artifact)
	}
	return traces.Violation{Property: v.Property, At: w.Now(), Detail: detail}
}

// check runs the checkers over the finished run: P3 and P8 on every node's
// chain, P4 and P2 on the client history against the sequencer's final
// chain, P1 with porcupine.
func (s *Scenario) check(w *sim.World) []traces.Violation {
	var out []traces.Violation
	add := func(v *properties.Violation) {
		if v != nil {
			out = append(out, s.violation(w, v))
		}
	}
	_, seq := s.newest(w)
	if seq == nil {
		return []traces.Violation{{Property: sim.PropLiveness, At: w.Now(), Detail: "the sequencer is down at the end of the run: nothing to check against"}}
	}
	final, err := chainOf(seq.Ledger())
	if err != nil {
		return []traces.Violation{{Property: properties.PropDurability, At: w.Now(), Detail: fmt.Sprintf("the sequencer cannot read its own chain: %v", err)}}
	}
	hashes := make([]common.Hash, len(final))
	for i, mb := range final {
		hashes[i] = mb.Hash()
	}
	reexec := final
	if s.byz != nil && s.byz.target != 0 && s.byz.target <= uint64(len(final)) {
		// A consistent lie is in the sequencer's own chain: re-execution
		// holds up to it, and the provers' reports (P5) cover the rest.
		reexec = final[:s.byz.target-1]
	}
	add(properties.CheckChainReexecution(s.cast.Chain, s.cast.Alloc, reexec, seq.Ledger().BlockHash))
	finalRoot := seq.Ledger().State().Root()
	for _, id := range s.fullnodes {
		f, ok := w.Node(id).(interface {
			ledgerNode
			Halted() error
		})
		if !ok || f.Ledger() == nil {
			continue
		}
		expected := s.expectedHalt(f)
		if expected && s.byz.kind == ByzEquivocation {
			// Halted on the conflict: its chain is the sequencer's up to
			// the equivocation, and ends there in either version.
			theirs, err := chainOf(f.Ledger())
			if err != nil {
				out = append(out, traces.Violation{Property: properties.PropDurability, At: w.Now(), Detail: fmt.Sprintf("%s cannot read its chain: %v", id, err)})
				continue
			}
			var th []common.Hash
			for _, mb := range theirs {
				if h := mb.Hash(); mb.Header.Number == s.byz.eqNumber && h == s.byz.eqAlt {
					th = append(th, hashes[mb.Header.Number-1])
				} else {
					th = append(th, h)
				}
			}
			if uint64(len(th)) > s.byz.eqNumber {
				out = append(out, traces.Violation{Property: properties.PropNoFork, At: w.Now(), Detail: fmt.Sprintf("%s halted on the conflict at mini-block %d, yet holds up to %d", id, s.byz.eqNumber, len(th))})
			}
			add(properties.CheckNoFork(string(id), th, hashes))
			continue
		}
		if err := f.Halted(); err != nil && !expected {
			prop := properties.PropDiffEquivalence // its state disagreed with a sealed block
			if errors.Is(err, fullnode.ErrConflict) {
				prop = properties.PropNoFork
			}
			out = append(out, traces.Violation{Property: prop, At: w.Now(), Detail: fmt.Sprintf("%s halted: %v", id, err)})
			continue
		}
		theirs, err := chainOf(f.Ledger())
		if err != nil {
			out = append(out, traces.Violation{Property: properties.PropDurability, At: w.Now(), Detail: fmt.Sprintf("%s cannot read its chain: %v", id, err)})
			continue
		}
		th := make([]common.Hash, len(theirs))
		for i, mb := range theirs {
			th[i] = mb.Hash()
		}
		add(properties.CheckNoFork(string(id), th, hashes))
		if len(theirs) == len(final) {
			if root := f.Ledger().State().Root(); root != finalRoot {
				out = append(out, traces.Violation{Property: properties.PropDiffEquivalence, At: w.Now(),
					Detail: fmt.Sprintf("%s state root %v at mini-block %d, the sequencer's %v", id, root, len(final), finalRoot)})
			}
		}
	}
	var served []string
	ops, reads, acks := s.classify(w.History(), final, seq.Ledger().BlockHash, &served)
	if len(served) > 0 {
		out = append(out, traces.Violation{Property: properties.PropNoFork, At: w.Now(), Detail: fmt.Sprintf("%d blocks or mini-blocks served unlike the sequencer's chain; first: %s", len(served), served[0])})
	}
	add(properties.CheckDurability(acks, final))
	w.Stat("acks_checked", float64(len(acks)))
	w.Stat("acks_lost", float64(lostAcks(acks, final)))
	out = append(out, s.checkGroup(w, hashes)...)
	var executions, contended int
	for _, id := range s.SeqIDs() {
		// Each member's pool is its own: P9 holds for each leader.
		ordering, ost := properties.CheckOrdering(s.poolEvents[id])
		add(ordering)
		executions += ost.Executions
		contended += ost.Contended
	}
	w.Stat("p9_executions", float64(executions))
	w.Stat("p9_contended", float64(contended))
	add(properties.CheckReads(s.cast.Alloc, final, reads))
	out = append(out, s.checkProving(w, seq.Ledger())...)
	html := ""
	if dir := w.ArtifactDir(); dir != "" {
		html = filepath.Join(dir, fmt.Sprintf("chain-seed%d.html", s.seed))
	}
	start := time.Now()
	if len(out) == 0 {
		// Once another property failed, the run is already condemned; a
		// partition left to porcupine's exponential search could only
		// cost time.
		v, st := properties.CheckLinearizableInOrder(s.Model(), ops, positions(final), LinearizabilityTimeout, html)
		add(v)
		w.Stat("p1_positioned", float64(st.Positioned))
		w.Stat("p1_searched", float64(st.Searched))
	}
	w.Stat("history_calls", float64(len(w.History())))
	w.Stat("p1_operations", float64(len(ops)))
	w.Stat("p1_largest_partition", float64(largestPartition(s.Model(), ops)))
	w.Stat("p1_median_partition", float64(medianPartition(s.Model(), ops)))
	w.Stat("p1_concurrency", float64(maxConcurrency(s.Model(), ops)))
	w.Stat("p2_reads", float64(len(reads)))
	w.Stat("p1_check_ms", float64(time.Since(start).Microseconds())/1000)
	return out
}

// positions classifies P1's operations for the ordered check: a send with
// a receipt changed the state at its transaction's place in the chain
// (mini-block, index), written mini-block×10⁶+index, so that a detail's
// position reads as both; reads and refusals changed nothing. A refusal
// was decided on the open block (a nonce too low because a transaction
// not sealed yet used it), which latest reads show only once the block
// seals: a read after it may still see the state before, so it is
// OpPending. A receipt for
// a transaction the final chain lacks has no place (P4 fails it too): its
// partition is left to porcupine's search.
func positions(final []*chain.MiniBlock) func(porcupine.Operation) (properties.OpClass, uint64) {
	at := map[common.Hash]uint64{}
	for _, mb := range final {
		for i, tx := range mb.Txs {
			at[tx.Hash()] = mb.Header.Number*1_000_000 + uint64(i)
		}
	}
	return func(op porcupine.Operation) (properties.OpClass, uint64) {
		in, out := op.Input.(model.APIInput), op.Output.(model.APIOutput)
		switch {
		case in.Kind != model.OpSend:
			return properties.OpReadOnly, 0 // a latest read: the newest sealed block
		case !out.Receipt:
			// A refusal is decided on the open block's state (pending),
			// which latest reads see only once it seals.
			return properties.OpPending, 0
		}
		if p, ok := at[in.Hash]; ok {
			return properties.OpPositioned, p
		}
		return properties.OpUnknown, 0
	}
}

// Model is the porcupine model of this scenario's groups.
func (s *Scenario) Model() porcupine.Model {
	var initial []model.GroupState
	for g := range s.groups() {
		var gs model.GroupState
		for range s.groupAccounts(g) {
			var b, t uint256.Int
			b.SetFromBig(startBalance)
			t.SetFromBig(startTokens)
			gs.Nonce = append(gs.Nonce, 0)
			gs.Balance = append(gs.Balance, b)
			gs.Token = append(gs.Token, t)
		}
		initial = append(initial, gs)
	}
	// The gap the sequencer's pool really allows (the tight profile's is
	// smaller than poolGap).
	return model.APIModel(initial, s.SequencerConfig().Pool.MaxGap)
}

// classify turns the history into porcupine operations (P1: sends and
// latest reads served by the sequencer), reads to check at their height
// (P2: every node) and acknowledged receipts (P4).
func (s *Scenario) classify(history []sim.Op, final []*chain.MiniBlock, blockHash func(uint64) common.Hash, served *[]string) ([]porcupine.Operation, []properties.Read, []properties.Ack) {
	included := map[common.Hash]*types.Receipt{}
	for _, mb := range final {
		for i, tx := range mb.Txs {
			included[tx.Hash()] = mb.Receipts[i]
		}
	}
	var ops []porcupine.Operation
	var reads []properties.Read
	var acks []properties.Ack
	// A transaction sent several times (a client sending an undecided
	// send again) takes effect once: its operations merge into one that
	// starts at the first call and ends at the first receipt returned.
	effects := map[common.Hash]int{} // index in ops
	for i := range history {
		h := &history[i]
		m := s.meta[bodyKey(h.Input)]
		call, err := api.DecodeCall(h.Input)
		if m == nil || err != nil {
			continue
		}
		var a *api.Answer
		if !h.TimedOut {
			a, _ = api.DecodeAnswer(h.Output)
		}
		clientID := m.client
		if n, err := fmt.Sscanf(string(h.Client), "client%d", &clientID); n == 1 && err == nil {
			clientID--
		}
		if m.send {
			if op, ok := s.sendOp(h, m, a, included, clientID); ok {
				out := op.Output.(model.APIOutput)
				if !out.Receipt {
					ops = append(ops, op)
				} else if j, seen := effects[m.tx.Hash()]; !seen {
					effects[m.tx.Hash()] = len(ops)
					ops = append(ops, op)
				} else {
					ops[j].Call = min(ops[j].Call, op.Call)
					ops[j].Return = min(ops[j].Return, op.Return)
				}
			}
			if a != nil && a.Err == nil && a.Receipt != nil {
				acks = append(acks, properties.Ack{Op: i, Tx: a.Receipt.TxHash, MiniBlock: a.Receipt.MiniBlock, Status: a.Receipt.Status, GasUsed: a.Receipt.GasUsed})
			}
			continue
		}
		if a == nil || a.Err != nil {
			continue
		}
		switch call.Method {
		case api.MethodReceipt:
			// A receipt any node serves is durable like an acknowledgement.
			if r := a.Receipt; r != nil {
				acks = append(acks, properties.Ack{Op: i, Tx: r.TxHash, MiniBlock: r.MiniBlock, Status: r.Status, GasUsed: r.GasUsed})
			}
			continue
		case api.MethodMiniBlock:
			if mb, err := chain.DecodeMiniBlock(a.MiniBlock); err != nil || mb.Header.Number != call.Number {
				*served = append(*served, fmt.Sprintf("call %d: %s served an undecodable or wrong mini-block for %d", i, h.Node, call.Number))
			} else if n := call.Number; s.byz != nil && n == s.byz.eqNumber && mb.Hash() == s.byz.eqAlt && slices.Contains(s.fullnodes, h.Node) {
				// The sequencer's other signed version: a fullnode took it
				// first, and halts once it hears the chain went on from
				// the other.
			} else if n > uint64(len(final)) || final[n-1].Hash() != mb.Hash() {
				*served = append(*served, fmt.Sprintf("call %d: %s served mini-block %d as %v, not the sequencer's", i, h.Node, n, mb.Hash()))
			}
			continue
		case api.MethodBlock:
			b, err := chain.DecodeBlock(a.Block)
			if err != nil || b.NumberU64() != call.Number {
				*served = append(*served, fmt.Sprintf("call %d: %s served an undecodable or wrong block for %d", i, h.Node, call.Number))
			} else if want := blockHash(call.Number); want != b.Hash() {
				*served = append(*served, fmt.Sprintf("call %d: %s served block %d as %v, the sequencer sealed %v", i, h.Node, call.Number, b.Hash(), want))
			}
			continue
		}
		if !call.Method.IsRead() {
			continue
		}
		r := properties.Read{Op: i, Session: string(h.Client) + "@" + string(h.Node), Latest: call.Tag.Kind == api.TagLatest,
			MiniBlock: a.At.MiniBlock, Address: call.Address, Key: call.Key, Value: a.Value}
		switch call.Method {
		case api.MethodBalance:
			r.Kind = properties.ReadBalance
		case api.MethodNonce:
			r.Kind = properties.ReadNonce
			r.Value = be8(a.Nonce)
		case api.MethodStorage:
			r.Kind = properties.ReadStorage
		case api.MethodCode:
			r.Kind = properties.ReadCode
		case api.MethodCall:
			// balanceOf(holder): the holder's balance slot of the token.
			r.Kind, r.Address, r.Key = properties.ReadStorage, tokenAddr, tokenSlot(m.read)
		}
		reads = append(reads, r)
		if !s.isSeq(h.Node) || !r.Latest || s.v.Group > 0 {
			// In a group, a member answers latest reads from its own
			// committed view, which may trail the leader's (a follower, a
			// deposed leader not yet told): P2 checks them at their
			// height; P1 takes the sends.
			continue
		}
		g, gi := s.groupIndex(m.read)
		if g < 0 {
			continue
		}
		in := model.APIInput{Group: g, Account: gi, Describe: fmt.Sprintf("%s: %v of %v", h.Client, call.Method, m.read)}
		var out model.APIOutput
		switch call.Method {
		case api.MethodBalance:
			in.Kind = model.OpBalance
			out.Value.SetBytes(a.Value)
		case api.MethodNonce:
			in.Kind, out.Nonce = model.OpNonce, a.Nonce
		case api.MethodStorage, api.MethodCall:
			in.Kind = model.OpToken
			out.Value.SetBytes(a.Value)
		default:
			continue
		}
		ops = append(ops, porcupine.Operation{ClientId: clientID, Input: in, Output: out, Call: int64(h.Call), Return: int64(h.Return)})
	}
	return ops, reads, acks
}

// sendOp is the porcupine operation of a send. A receipt is a definite
// effect within the call. A refusal the model can check is checked, unless
// the transaction is in the final chain after all (an earlier copy of the
// call, delayed in the network, ran later): then, as for every undecided
// outcome, the effect is the final chain's receipt and it may take place
// any time after the call. An undecided send that never ran is left out.
func (s *Scenario) sendOp(h *sim.Op, m *callMeta, a *api.Answer, included map[common.Hash]*types.Receipt, client int) (porcupine.Operation, bool) {
	in := model.APIInput{Group: m.group, Kind: model.OpSend, Account: m.account,
		Describe: fmt.Sprintf("%s #%d: %s", h.Client, m.account, kindNames[m.kind])}
	if m.tx != nil {
		in.Nonce, in.Hash = m.tx.Nonce(), m.tx.Hash()
		cost := new(uint256.Int).Mul(uint256.NewInt(m.tx.Gas()), uint256.MustFromBig(m.tx.GasFeeCap()))
		in.MaxCost.Add(cost, uint256.MustFromBig(m.tx.Value()))
		in.Describe += fmt.Sprintf(" nonce %d", m.tx.Nonce())
	}
	switch m.kind {
	case kindTransfer, kindQueued:
		in.Send, in.To = model.SendTransfer, m.to
		in.Value.SetFromBig(m.amount)
	case kindToken:
		in.Send, in.To = model.SendToken, m.to
		in.Amount.SetFromBig(m.amount)
	case kindBadSig, kindWrongChain, kindNonceLow, kindNonceGap, kindNoFunds:
		if m.kind != kindBadSig && m.kind != kindWrongChain {
			in.Send, in.To = model.SendTransfer, m.to
			in.Value.SetFromBig(m.amount)
		}
	}
	op := porcupine.Operation{ClientId: client, Input: in, Call: int64(h.Call), Return: int64(h.Return)}
	if a != nil && a.Err == nil && a.Receipt != nil {
		op.Output = receiptOutput(a.Receipt.Status, a.Receipt.GasUsed, a.Receipt.EffectiveGasPrice)
		return op, true
	}
	if m.tx != nil {
		if r, ok := included[m.tx.Hash()]; ok {
			op.Output = receiptOutput(r.Status, r.GasUsed, r.EffectiveGasPrice)
			op.Return = math.MaxInt64
			return op, true
		}
	}
	if a == nil || a.Err == nil {
		return op, false
	}
	var out model.APIOutput
	switch a.Err.Kind {
	case api.KindNonceTooLow:
		out.Refused = model.RefusedNonceTooLow
	case api.KindNonceGap:
		out.Refused = model.RefusedNonceGap
	case api.KindInsufficientFunds:
		out.Refused = model.RefusedInsufficientFunds
	case api.KindBadSignature, api.KindWrongChainID, api.KindOversized, api.KindInvalidInput, api.KindIntrinsicGas, api.KindGasLimit, api.KindTxType:
		out.Refused = model.RefusedStateless
	default:
		return op, false
	}
	op.Output = out
	return op, true
}

func receiptOutput(status, gas uint64, price interface{ Uint64() uint64 }) model.APIOutput {
	out := model.APIOutput{Receipt: true, Status: status}
	out.Fee.Mul(uint256.NewInt(gas), uint256.NewInt(price.Uint64()))
	return out
}

func (s *Scenario) groupIndex(addr common.Address) (int, int) {
	for i, a := range s.cast.Addrs[:s.nclients*accountsPerClient] {
		if a == addr {
			return s.groupOf(i)
		}
	}
	return -1, -1
}

// accountIndex is a client account's global index, or -1.
func (s *Scenario) accountIndex(addr common.Address) int {
	for i, a := range s.cast.Addrs[:s.nclients*accountsPerClient] {
		if a == addr {
			return i
		}
	}
	return -1
}

func be8(n uint64) []byte {
	return []byte{byte(n >> 56), byte(n >> 48), byte(n >> 40), byte(n >> 32), byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
}

// maxConcurrency is the most operations of one partition in flight at one
// instant: what porcupine has to order (1: a sequential history).
func maxConcurrency(m porcupine.Model, ops []porcupine.Operation) int {
	most := 0
	for _, p := range m.Partition(ops) {
		type edge struct {
			at    int64
			delta int
		}
		edges := make([]edge, 0, 2*len(p))
		for _, op := range p {
			edges = append(edges, edge{op.Call, 1}, edge{op.Return, -1})
		}
		// At one instant, returns before calls: touching is not overlapping.
		slices.SortFunc(edges, func(a, b edge) int {
			if a.at != b.at {
				return cmp.Compare(a.at, b.at)
			}
			return cmp.Compare(a.delta, b.delta)
		})
		n := 0
		for _, e := range edges {
			n += e.delta
			most = max(most, n)
		}
	}
	return most
}

// medianPartition is the median size of the history's partitions (0
// for an empty history).
func medianPartition(m porcupine.Model, ops []porcupine.Operation) int {
	var sizes []int
	for _, p := range m.Partition(ops) {
		sizes = append(sizes, len(p))
	}
	if len(sizes) == 0 {
		return 0
	}
	slices.Sort(sizes)
	return sizes[len(sizes)/2]
}

func largestPartition(m porcupine.Model, ops []porcupine.Operation) int {
	n := 0
	for _, p := range m.Partition(ops) {
		n = max(n, len(p))
	}
	return n
}

// CheckFigures are the closing lines of a sweep of chain runs for P1 and
// P9: what the checkers had to work with. figures are the runs' figures
// by name; nothing when the runs were not chain runs.
func CheckFigures(figures map[string][]float64) []string {
	sum := func(name string) float64 {
		t := 0.0
		for _, x := range figures[name] {
			t += x
		}
		return t
	}
	median := func(name string) float64 {
		v := slices.Clone(figures[name])
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	most := func(name string) float64 {
		if len(figures[name]) == 0 {
			return 0
		}
		return slices.Max(figures[name])
	}
	var out []string
	if n := len(figures["p1_operations"]); n > 0 {
		out = append(out, fmt.Sprintf("linearizability (P1): %.0f operations in %d runs, %.0f placed by the chain's order, %.0f left to porcupine's search; operations per account group median %.0f, max %.0f; operations of one group in flight at once median %.0f, max %.0f",
			sum("p1_operations"), n, sum("p1_positioned"), sum("p1_searched"), median("p1_median_partition"), most("p1_largest_partition"), median("p1_concurrency"), most("p1_concurrency")))
	}
	if n := len(figures["p9_executions"]); n > 0 {
		runs := 0
		for _, x := range figures["p9_contended"] {
			if x > 0 {
				runs++
			}
		}
		out = append(out, fmt.Sprintf("ordering (P9): %.0f executions checked in %d runs, %.0f of them while the sequencer held another executable transaction (in %d runs)",
			sum("p9_executions"), n, sum("p9_contended"), runs))
	}
	if n := len(figures["leader_losses"]); n > 0 {
		line := fmt.Sprintf("failover: %.0f leader losses in %d runs, %.0f failovers to a new leader, %.0f resumed under the same leader; leaders elected %.0f",
			sum("leader_losses"), n, sum("failovers"), sum("resumed_same_leader"), sum("leaders_elected"))
		if len(figures["failover_ms"]) > 0 {
			line += fmt.Sprintf("; failover time (loss to the next term's first committed mini-block, raft tick %v) p50 %.1f ms, max %.1f ms",
				groupTick, median("failover_ms"), most("failover_ms"))
		}
		line += fmt.Sprintf("; acknowledged transactions lost: %.0f of %.0f", sum("acks_lost"), sum("acks_checked"))
		out = append(out, line)
	}
	return out
}
