package chain

import "fmt"

// GroupEntry is what a sequencer group's leader proposes to the group's
// replicated log (node/raftlog) for each mini-block: the encoded
// mini-block and, when it seals a block, the block's witness, which every
// member stores so that whichever leads next can serve provers and DA.
type GroupEntry struct {
	MiniBlock []byte
	Witness   []byte
}

// Encode returns the framed encoding (format FormatGroupEntryV1).
func (e *GroupEntry) Encode() []byte { return FrameRLP(FormatGroupEntryV1, e) }

// DecodeGroupEntry decodes a framed group entry and its mini-block.
func DecodeGroupEntry(rec []byte) (*GroupEntry, *MiniBlock, error) {
	e := new(GroupEntry)
	if err := decodeRecord(FormatGroupEntryV1, "group entry", rec, e); err != nil {
		return nil, nil, err
	}
	mb, err := DecodeMiniBlock(e.MiniBlock)
	if err != nil {
		return nil, nil, fmt.Errorf("group entry: %w", err)
	}
	if len(e.Witness) > MaxWitnessBytes {
		return nil, nil, fmt.Errorf("group entry of mini-block %d: %w: %d witness bytes, limit %d", mb.Header.Number, ErrInvalidPayload, len(e.Witness), MaxWitnessBytes)
	}
	if mb.Sealed == nil && len(e.Witness) > 0 {
		return nil, nil, fmt.Errorf("group entry of mini-block %d: %w: a witness with a mini-block that seals nothing", mb.Header.Number, ErrInvalidPayload)
	}
	return e, mb, nil
}
