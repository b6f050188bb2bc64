package api_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/big"
	"reflect"
	"strings"
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/rlp"
	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// fullCall sets every field of a Call, so a field the codec drops shows.
func fullCall() *api.Call {
	return &api.Call{
		Method:    api.MethodCall,
		Raw:       []byte{0x02, 0xf8, 0x01, 0x02},
		TimeoutMs: 1500,
		Hash:      common.Hash{1, 2, 3},
		Address:   common.Address{4, 5},
		Key:       common.Hash{31: 6},
		From:      common.Address{7},
		Data:      []byte{0x70, 0xa0, 0x82, 0x31},
		Gas:       90_000,
		Tag:       api.AtMiniBlock(77),
		Number:    12,
		Create:    true,
		Value:     big.NewInt(1_000_000_000_000),
		Filter: &api.LogFilter{
			From: api.AtBlock(3), To: api.Latest, BlockHash: common.Hash{0x0b},
			Addresses: []common.Address{{1}, {2}},
			Topics:    [][]common.Hash{{{3}}, nil, {{4}, {5}}},
		},
		Percentiles: []uint64{100_000, 500_000, 990_000},
		Keys:        []common.Hash{{8}, {9}},
		Trace:       []byte(`{"tracer":"callTracer"}`),
		Overrides:   []byte(`{"state":{"0x0000000000000000000000000000000000000001":{"balance":"0x1"}}}`),
	}
}

// fullAnswer sets every field of an Answer, including a receipt with logs
// and an error, so a field the codec drops shows.
func fullAnswer() *api.Answer {
	return &api.Answer{
		Err:  &api.Error{Kind: api.KindReverted, Message: "execution reverted", Data: []byte{0x08, 0xc3, 0x79, 0xa0}},
		At:   api.Height{MiniBlock: 1000, Block: 10},
		Hash: common.Hash{0xee},
		Receipt: &api.Receipt{
			TxHash: common.Hash{0xaa}, Status: types.ReceiptStatusSuccessful, GasUsed: 21000, CumulativeGasUsed: 63000,
			EffectiveGasPrice: big.NewInt(1_000_000_007), ContractAddress: common.Address{0xcc},
			Logs: []*types.Log{
				{Address: common.Address{0xbb}, Topics: []common.Hash{{1}, {2}}, Data: []byte{9, 8, 7},
					TxHash: common.Hash{0xaa}, TxIndex: 3, BlockNumber: 10, BlockHash: common.Hash{0xdd}, Index: 7},
				{Address: common.Address{0xbd}, Topics: []common.Hash{{3}}, Data: []byte{6},
					TxHash: common.Hash{0xaa}, TxIndex: 3, BlockNumber: 10, BlockHash: common.Hash{0xdd}, Index: 8},
			},
			BlockNumber: 10, BlockHash: common.Hash{0xdd}, TxIndex: 3, MiniBlock: 999, LogIndex: 7,
		},
		Value:     bytes.Repeat([]byte{0x11}, 32),
		Nonce:     42,
		Block:     []byte{byte(chain.FormatBlockV1), 1, 2, 3},
		MiniBlock: []byte{byte(chain.FormatMiniBlockV1), 4, 5, 6},
		Safe:      9,
		Finalized: 8,
		Fault:     "a fault",
		Logs: api.Logs{
			{Address: common.Address{0xbb}, Topics: []common.Hash{{1}}, Data: []byte{1}, BlockNumber: 10, TxHash: common.Hash{0xaa},
				TxIndex: 3, BlockHash: common.Hash{0xdd}, BlockTimestamp: 1_700_000_000, Index: 7},
			{Address: common.Address{0xbc}, Topics: []common.Hash{}, Data: []byte{}, BlockNumber: 11, TxHash: common.Hash{0xab},
				TxIndex: 0, Index: 0, Removed: true},
		},
		Gas: 53_000,
		FeeHistory: &api.FeeHistory{
			Oldest: 7, BaseFee: []*big.Int{big.NewInt(7), big.NewInt(8), big.NewInt(9)},
			GasUsed: []uint64{1, 2}, GasLimit: []uint64{30_000_000, 30_000_000},
			Reward: [][]*big.Int{{big.NewInt(1), big.NewInt(2)}, {big.NewInt(3), big.NewInt(4)}},
		},
		Senders: []common.Address{{1}, {2}},
		Txs:     [][]byte{{0x02, 1}, {0x02, 2}},
	}
}

func TestCallRoundTrip(t *testing.T) {
	c := fullCall()
	enc := c.Encode()
	if chain.Kind(enc) != chain.FormatCallV1 {
		t.Fatalf("encoded call has format %v", chain.Kind(enc))
	}
	got, err := api.DecodeCall(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip changed the call:\n got %+v\nwant %+v", got, c)
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("re-encoding a decoded call gives other bytes")
	}
}

func TestCallRoundTripEveryMethodAndTag(t *testing.T) {
	tags := []api.Tag{api.Latest, api.Safe, api.AtBlock(5), api.AtMiniBlock(1 << 40)}
	for m := api.MethodSendTx; m <= lastMethod; m++ {
		for _, tag := range tags {
			c := &api.Call{Method: m, Tag: tag, Address: common.Address{byte(m)}}
			got, err := api.DecodeCall(c.Encode())
			if err != nil {
				t.Fatalf("%v at %v: %v", m, tag, err)
			}
			if got.Method != m || got.Tag != tag || got.Address != c.Address {
				t.Fatalf("%v at %v came back as %v at %v (%v)", m, tag, got.Method, got.Tag, got.Address)
			}
		}
	}
}

func TestAnswerRoundTrip(t *testing.T) {
	a := fullAnswer()
	enc := a.Encode()
	if chain.Kind(enc) != chain.FormatAnswerV1 {
		t.Fatalf("encoded answer has format %v", chain.Kind(enc))
	}
	got, err := api.DecodeAnswer(enc)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, a) {
		t.Fatalf("round trip changed the answer:\n got %+v\nwant %+v", got, a)
	}
	if !reflect.DeepEqual(got.Receipt, a.Receipt) || !reflect.DeepEqual(got.Err, a.Err) {
		t.Fatal("nested receipt or error changed")
	}
	if !bytes.Equal(got.Encode(), enc) {
		t.Fatal("re-encoding a decoded answer gives other bytes")
	}
}

// A success carries no error and no receipt: both must come back nil, not
// as zero values, or a client would read every answer as a failure.
func TestAnswerNilPointersStayNil(t *testing.T) {
	got, err := api.DecodeAnswer((&api.Answer{At: api.Height{MiniBlock: 3, Block: 1}, Nonce: 5}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Err != nil || got.Receipt != nil {
		t.Fatalf("nil error/receipt came back as %+v / %+v", got.Err, got.Receipt)
	}
	if got.At != (api.Height{MiniBlock: 3, Block: 1}) || got.Nonce != 5 {
		t.Fatalf("answer %+v", got)
	}
	// The zero Error is still a failure (KindInternal, empty message).
	got, err = api.DecodeAnswer(api.Failed(&api.Error{}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	if got.Err == nil || got.Err.Kind != api.KindInternal {
		t.Fatalf("a zero Error came back as %+v", got.Err)
	}
	// A receipt with no logs and a nil price keeps its other fields.
	got, err = api.DecodeAnswer((&api.Answer{Receipt: &api.Receipt{TxHash: common.Hash{1}, Status: 1, MiniBlock: 4}}).Encode())
	if err != nil {
		t.Fatal(err)
	}
	if r := got.Receipt; r == nil || r.TxHash != (common.Hash{1}) || r.Status != 1 || r.MiniBlock != 4 || len(r.Logs) != 0 || r.EffectiveGasPrice.Sign() != 0 {
		t.Fatalf("receipt %+v", got.Receipt)
	}
}

// lastMethod is the newest method of the API.
const lastMethod = api.MethodSimulate

// payload returns the RLP payload inside a framed record.
func payload(rec []byte) []byte { return bytes.Clone(rec[1 : len(rec)-4]) }

// callWith encodes a call whose method and tag kind are set by hand, as a
// hostile or newer client might send them.
func callWith(t *testing.T, m api.Method, kind api.TagKind) []byte {
	t.Helper()
	c := fullCall()
	c.Method, c.Tag.Kind = m, kind
	return c.Encode()
}

func TestDecodeCallRefusesBadInput(t *testing.T) {
	good := fullCall().Encode()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	sumFlipped := bytes.Clone(good)
	sumFlipped[len(sumFlipped)-1] ^= 0x80
	wrongFormat := chain.Frame(chain.FormatAnswerV1, payload(good))
	newerVersion := chain.Frame(chain.FormatCallV1+1, payload(good))
	p := payload(good)
	truncatedRLP := chain.Frame(chain.FormatCallV1, p[:len(p)-1])
	trailing := chain.Frame(chain.FormatCallV1, append(payload(good), 0x80))
	oversized := (&api.Call{Method: api.MethodSendTx, Raw: make([]byte, api.MaxCallSize)}).Encode()

	cases := []struct {
		name          string
		rec           []byte
		unknownMethod bool
	}{
		{"empty", nil, false},
		{"shorter than a frame", good[:4], false},
		{"truncated", good[:len(good)-1], false},
		{"truncated payload", truncatedRLP, false},
		{"trailing payload bytes", trailing, false},
		{"flipped payload byte", flipped, false},
		{"flipped checksum byte", sumFlipped, false},
		{"answer format", wrongFormat, false},
		{"newer call version", newerVersion, false},
		{"oversized", oversized, false},
		{"method zero", callWith(t, 0, api.TagLatest), true},
		{"method past the last", callWith(t, lastMethod+1, api.TagLatest), true},
		{"method 255", callWith(t, 255, api.TagLatest), true},
		{"unknown tag kind", callWith(t, api.MethodBalance, api.TagPending+1), false},
		{"tag kind 255", callWith(t, api.MethodBalance, 255), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := api.DecodeCall(c.rec)
			if err == nil {
				t.Fatalf("decoded %+v", got)
			}
			if got != nil {
				t.Fatal("a refused call must come back nil")
			}
			if !errors.Is(err, api.ErrBadCall) {
				t.Fatalf("%v does not wrap ErrBadCall", err)
			}
			want := api.KindInvalidInput
			if c.unknownMethod {
				want = api.KindUnknownMethod
			}
			if k := api.AsError(err).Kind; k != want {
				t.Fatalf("classified as %v, want %v (%v)", k, want, err)
			}
		})
	}
	if _, err := api.DecodeCall(good); err != nil {
		t.Fatalf("the unmodified call must decode: %v", err)
	}
}

func TestDecodeCallSizeLimit(t *testing.T) {
	// The limit is on the whole framed record: 5 bytes of frame and the
	// RLP headers count.
	fit := &api.Call{Method: api.MethodSendTx, Raw: make([]byte, api.MaxCallSize-256)}
	// The RLP length prefixes keep their size in this range, so the
	// overhead measured once gives the exact fit.
	fit.Raw = make([]byte, len(fit.Raw)+api.MaxCallSize-len(fit.Encode()))
	enc := fit.Encode()
	if len(enc) != api.MaxCallSize {
		t.Fatalf("could not build a call of exactly MaxCallSize bytes (got %d)", len(enc))
	}
	if _, err := api.DecodeCall(enc); err != nil {
		t.Fatalf("a call of exactly MaxCallSize bytes is refused: %v", err)
	}
	over := append(bytes.Clone(enc), 0)
	_, err := api.DecodeCall(over)
	if !errors.Is(err, api.ErrBadCall) || !strings.Contains(err.Error(), fmt.Sprint(api.MaxCallSize)) {
		t.Fatalf("one byte over the limit: got %v", err)
	}
}

func TestDecodeAnswerRefusesBadInput(t *testing.T) {
	good := fullAnswer().Encode()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x01
	p := payload(good)
	cases := []struct {
		name string
		rec  []byte
		want error
	}{
		{"empty", nil, chain.ErrTruncated},
		{"shorter than a frame", good[:3], chain.ErrTruncated},
		{"truncated", good[:len(good)-1], chain.ErrChecksum},
		{"flipped byte", flipped, chain.ErrChecksum},
		{"call format", chain.Frame(chain.FormatCallV1, p), chain.ErrUnknownFormat},
		{"newer answer version", chain.Frame(chain.FormatAnswerV1+1, p), chain.ErrUnknownFormat},
		{"truncated payload", chain.Frame(chain.FormatAnswerV1, p[:len(p)-1]), rlp.ErrValueTooLarge},
		{"trailing payload bytes", chain.Frame(chain.FormatAnswerV1, append(bytes.Clone(p), 0x80)), rlp.ErrMoreThanOneValue},
		{"too large", make([]byte, chain.MaxRecordSize+1), chain.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := api.DecodeAnswer(c.rec)
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if got != nil {
				t.Fatal("a refused answer must come back nil")
			}
		})
	}
}

func TestAsErrorOtherErrors(t *testing.T) {
	// An *Error passes through unchanged, even wrapped.
	orig := &api.Error{Kind: api.KindPoolFull, Message: "pool full", Data: []byte{1}}
	if got := api.AsError(orig); got != orig {
		t.Fatalf("an *Error was rebuilt: %+v", got)
	}
	if got := api.AsError(fmt.Errorf("wrapped: %w", orig)); got != orig {
		t.Fatalf("a wrapped *Error was rebuilt: %+v", got)
	}
	// ErrBadCall wrapping: invalid input, or an unknown method.
	if got := api.AsError(fmt.Errorf("%w: junk", api.ErrBadCall)); got.Kind != api.KindInvalidInput || !strings.Contains(got.Message, "junk") {
		t.Fatalf("bad call: %+v", got)
	}
	_, err := api.DecodeCall(callWith(t, 200, api.TagLatest))
	if got := api.AsError(err); got.Kind != api.KindUnknownMethod || got.ErrorCode() != api.CodeMethod {
		t.Fatalf("unknown method: %+v (code %d)", got, got.ErrorCode())
	}
	// Anything else is internal.
	if got := api.AsError(errors.New("disk on fire")); got.Kind != api.KindInternal || got.Message != "disk on fire" || got.ErrorCode() != api.CodeInternal {
		t.Fatalf("plain error: %+v", got)
	}
	// Failed wraps the classification in an answer.
	a := api.Failed(fmt.Errorf("wrapped: %w", orig))
	if a.Err != orig || a.Receipt != nil {
		t.Fatalf("Failed: %+v", a)
	}
}

func TestErrorCodes(t *testing.T) {
	want := map[api.Kind]int{
		api.KindInvalidInput:  -32602,
		api.KindUnknownMethod: -32601,
		api.KindInternal:      -32603,
		api.KindReverted:      3,
		api.KindTimeout:       4,
	}
	for k := api.KindInternal; k <= api.KindReplaced; k++ {
		code, special := want[k]
		if !special {
			code = -32000
		}
		if got := api.Errorf(k, "x").ErrorCode(); got != code {
			t.Errorf("%v: code %d, want %d", k, got, code)
		}
		if strings.HasPrefix(k.String(), "kind(") {
			t.Errorf("kind %d has no name", k)
		}
	}
	if got := api.Errorf(api.KindNotFound, "block %d", 7); got.Error() != "block 7" || got.Kind != api.KindNotFound {
		t.Fatalf("Errorf: %+v", got)
	}
}
