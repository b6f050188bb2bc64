package properties

import (
	"fmt"

	"github.com/ethereum/go-ethereum/common"
	"github.com/meganode/meganode/node/chain"
)

// PropProverSoundness names P5.
const PropProverSoundness = "P5 prover soundness"

// SealedHeader is what P5 needs of a sealed block of the chain: its hash
// and the roots re-execution confirmed (P3 re-executes that chain).
type SealedHeader struct {
	Number            uint64
	Hash              common.Hash
	PreRoot, PostRoot common.Hash
}

// ProverStatements are the statements one honest prover made.
type ProverStatements struct {
	Prover       string
	Attestations []*chain.Attestation
	Faults       []*chain.FaultReport
}

// Finality is a fullnode's finalized block as it stood or as it told a
// client, and the block its finality stopped at on a fault report (0:
// none).
type Finality struct {
	Node      string
	Finalized uint64
	FaultAt   uint64
}

// CheckProverSoundness checks P5. chain is the re-executed chain, block 1
// first; bad holds the blocks whose only published version was doctored
// (byzantine runs). An honest prover attests only a block of chain, with
// its hash and roots, and never a doctored one; it reports no honest
// block; no fullnode finalizes a doctored block or anything after it, nor
// a block the chain has not sealed; and no fullnode's finality stops at a
// block that is not doctored (a fault believed without evidence: an
// honest chain is never stopped by lying provers, however many of them
// short of a quorum).
func CheckProverSoundness(chain []*SealedHeader, bad map[uint64]bool, stmts []ProverStatements, finals []Finality) *Violation {
	for _, ps := range stmts {
		for _, a := range ps.Attestations {
			switch {
			case bad[a.Number]:
				return &Violation{Property: PropProverSoundness, Where: ps.Prover, Detail: fmt.Sprintf("attested block %d (%v), whose published version disagrees with execution", a.Number, a.Hash)}
			case a.Number == 0 || a.Number > uint64(len(chain)):
				return &Violation{Property: PropProverSoundness, Where: ps.Prover, Detail: fmt.Sprintf("attested block %d, which the chain (sealed up to %d) does not hold", a.Number, len(chain))}
			}
			h := chain[a.Number-1]
			if a.Hash != h.Hash || a.PreRoot != h.PreRoot || a.PostRoot != h.PostRoot {
				return &Violation{Property: PropProverSoundness, Where: ps.Prover, Detail: fmt.Sprintf("attested block %d as %v from root %v to %v; re-execution gives %v from %v to %v",
					a.Number, a.Hash, a.PreRoot, a.PostRoot, h.Hash, h.PreRoot, h.PostRoot)}
			}
		}
		for _, f := range ps.Faults {
			if !bad[f.Number] {
				return &Violation{Property: PropProverSoundness, Where: ps.Prover, Detail: fmt.Sprintf("reported block %d (%v) faulty, which re-execution confirms: %s", f.Number, f.Hash, f.Reason)}
			}
		}
	}
	for _, fin := range finals {
		if fin.FaultAt != 0 && !bad[fin.FaultAt] {
			return &Violation{Property: PropProverSoundness, Where: fin.Node, Detail: fmt.Sprintf("finality stopped at block %d, which re-execution confirms: a fault report was believed that its evidence does not show", fin.FaultAt)}
		}
		if fin.Finalized > uint64(len(chain)) {
			return &Violation{Property: PropProverSoundness, Where: fin.Node, Detail: fmt.Sprintf("finalized block %d, beyond the chain's sealed %d", fin.Finalized, len(chain))}
		}
		for b := range bad { // any one found is a violation: order cannot leak into the verdict's kind
			if fin.Finalized >= b {
				return &Violation{Property: PropProverSoundness, Where: fin.Node, Detail: fmt.Sprintf("finalized block %d, at or after block %d whose published version disagrees with execution", fin.Finalized, b)}
			}
		}
	}
	return nil
}
