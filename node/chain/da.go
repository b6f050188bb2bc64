package chain

import "github.com/ethereum/go-ethereum/common"

// Bounds of the DA messages. Decoders refuse anything beyond them.
const (
	// MaxPutBundles bounds the bundles of one DAPut (and the commitments of
	// its DAAck).
	MaxPutBundles = 64
	// MaxBlockRange bounds the bundles one BlockRangeRequest may ask for
	// and one BlockRangeResponse may carry.
	MaxBlockRange = 64
	// MaxGetHashes bounds the hashes of one DAGet and the blobs of one
	// DABlobs.
	MaxGetHashes = 64
)

// DAPut asks the DA store to keep bundles: 1 to MaxPutBundles framed
// BlockBundles of consecutive block numbers (the receiver checks the
// numbers and the contents). ID is the sender's, echoed in the DAAck.
type DAPut struct {
	ID      uint64
	Bundles [][]byte
}

// Encode returns the framed put (format FormatDAPutV1).
func (p *DAPut) Encode() []byte { return FrameRLP(FormatDAPutV1, p) }

// DecodeDAPut decodes a framed put: 1 to MaxPutBundles bundles, left
// encoded.
func DecodeDAPut(rec []byte) (*DAPut, error) {
	p := new(DAPut)
	if err := decodeRecord(FormatDAPutV1, "DA put", rec, p); err != nil {
		return nil, err
	}
	if err := within("DA put", "bundles", len(p.Bundles), 1, MaxPutBundles); err != nil {
		return nil, err
	}
	return p, nil
}

// DAAck answers a DAPut once what it stored is durable.
type DAAck struct {
	ID uint64
	// Head is the highest block number the DA holds contiguously from 1.
	Head uint64
	// Commitments are those of the bundles of the put that the DA stored
	// or already held, in order: a prefix of the put's bundles.
	Commitments []common.Hash
}

// Encode returns the framed ack (format FormatDAAckV1).
func (a *DAAck) Encode() []byte { return FrameRLP(FormatDAAckV1, a) }

// DecodeDAAck decodes a framed ack: at most MaxPutBundles commitments.
func DecodeDAAck(rec []byte) (*DAAck, error) {
	a := new(DAAck)
	if err := decodeRecord(FormatDAAckV1, "DA ack", rec, a); err != nil {
		return nil, err
	}
	if err := within("DA ack", "commitments", len(a.Commitments), 0, MaxPutBundles); err != nil {
		return nil, err
	}
	return a, nil
}

// BlockRangeRequest asks for the bundles of blocks From, From+1, …, at most
// Count (1 to MaxBlockRange) of them.
type BlockRangeRequest struct {
	ID    uint64
	From  uint64
	Count uint64
}

// Encode returns the framed request (format FormatBlockRangeRequestV1).
func (r *BlockRangeRequest) Encode() []byte { return FrameRLP(FormatBlockRangeRequestV1, r) }

// DecodeBlockRangeRequest decodes a framed block range request: Count 1 to
// MaxBlockRange, a range that does not wrap around.
func DecodeBlockRangeRequest(rec []byte) (*BlockRangeRequest, error) {
	r := new(BlockRangeRequest)
	if err := decodeRecord(FormatBlockRangeRequestV1, "block range request", rec, r); err != nil {
		return nil, err
	}
	if err := checkRange("block range request", r.From, r.Count, MaxBlockRange); err != nil {
		return nil, err
	}
	return r, nil
}

// BlockRangeResponse answers a BlockRangeRequest with the framed bundles of
// consecutive blocks from From on, possibly fewer than asked, possibly
// none. Head is the highest block the responder holds contiguously.
type BlockRangeResponse struct {
	ID      uint64
	From    uint64
	Head    uint64
	Bundles [][]byte
}

// Encode returns the framed response (format FormatBlockRangeResponseV1).
func (r *BlockRangeResponse) Encode() []byte { return FrameRLP(FormatBlockRangeResponseV1, r) }

// DecodeBlockRangeResponse decodes a framed block range response: at most
// MaxBlockRange bundles, left encoded.
func DecodeBlockRangeResponse(rec []byte) (*BlockRangeResponse, error) {
	r := new(BlockRangeResponse)
	if err := decodeRecord(FormatBlockRangeResponseV1, "block range response", rec, r); err != nil {
		return nil, err
	}
	if err := within("block range response", "bundles", len(r.Bundles), 0, MaxBlockRange); err != nil {
		return nil, err
	}
	return r, nil
}

// DAGet asks the DA store for the blobs whose keccak256 are Hashes (1 to
// MaxGetHashes of them).
type DAGet struct {
	ID     uint64
	Hashes []common.Hash
}

// Encode returns the framed request (format FormatDAGetV1).
func (g *DAGet) Encode() []byte { return FrameRLP(FormatDAGetV1, g) }

// DecodeDAGet decodes a framed get: 1 to MaxGetHashes hashes.
func DecodeDAGet(rec []byte) (*DAGet, error) {
	g := new(DAGet)
	if err := decodeRecord(FormatDAGetV1, "DA get", rec, g); err != nil {
		return nil, err
	}
	if err := within("DA get", "hashes", len(g.Hashes), 1, MaxGetHashes); err != nil {
		return nil, err
	}
	return g, nil
}

// DABlobs answers a DAGet with each blob asked for that the store has (in
// the order asked; missing ones are omitted): at most MaxGetHashes. The
// requester checks each blob against the hashes it asked for.
type DABlobs struct {
	ID    uint64
	Blobs [][]byte
}

// Encode returns the framed answer (format FormatDABlobsV1).
func (b *DABlobs) Encode() []byte { return FrameRLP(FormatDABlobsV1, b) }

// DecodeDABlobs decodes a framed answer: at most MaxGetHashes blobs.
func DecodeDABlobs(rec []byte) (*DABlobs, error) {
	b := new(DABlobs)
	if err := decodeRecord(FormatDABlobsV1, "DA blobs", rec, b); err != nil {
		return nil, err
	}
	if err := within("DA blobs", "blobs", len(b.Blobs), 0, MaxGetHashes); err != nil {
		return nil, err
	}
	return b, nil
}
