package api_test

import (
	"reflect"
	"testing"

	"github.com/meganode/meganode/node/api"
	"github.com/meganode/meganode/node/chain"
)

// Calls come from clients and answers from nodes over the network: the
// decoders must never panic, and a value they accept must survive another
// round trip unchanged.

func FuzzDecodeCall(f *testing.F) {
	f.Add(fullCall().Encode())
	for m := api.MethodSendTx; m <= lastMethod; m++ {
		f.Add((&api.Call{Method: m, Tag: api.AtBlock(uint64(m))}).Encode())
	}
	f.Add(chain.Frame(chain.FormatCallV1, []byte{0xc0}))
	f.Fuzz(func(t *testing.T, rec []byte) {
		c, err := api.DecodeCall(rec)
		if err != nil {
			if c != nil {
				t.Fatal("a refused call came back non-nil")
			}
			return
		}
		again, err := api.DecodeCall(c.Encode())
		if err != nil {
			t.Fatalf("an accepted call does not decode after re-encoding: %v", err)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the call:\n got %+v\nwant %+v", again, c)
		}
	})
}

func FuzzDecodeAnswer(f *testing.F) {
	f.Add(fullAnswer().Encode())
	f.Add((&api.Answer{}).Encode())
	f.Add(api.Failed(api.Errorf(api.KindNotFound, "no such block")).Encode())
	f.Fuzz(func(t *testing.T, rec []byte) {
		a, err := api.DecodeAnswer(rec)
		if err != nil {
			if a != nil {
				t.Fatal("a refused answer came back non-nil")
			}
			return
		}
		again, err := api.DecodeAnswer(a.Encode())
		if err != nil {
			t.Fatalf("an accepted answer does not decode after re-encoding: %v", err)
		}
		if !reflect.DeepEqual(again, a) {
			t.Fatalf("round trip changed the answer:\n got %+v\nwant %+v", again, a)
		}
	})
}
