package contracts

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"

	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/common/hexutil"
)

//go:embed build/*.json
var buildFS embed.FS

// Contract is one compiled contract. Bytecode and Runtime are shared and must
// not be modified.
type Contract struct {
	Name     string
	ABI      abi.ABI
	Bytecode []byte // creation code, without constructor arguments
	Runtime  []byte // deployed code
}

// The compiled contracts, loaded from the embedded build outputs at init.
var (
	Token   = mustLoad("Token")
	AMM     = mustLoad("AMM")
	Factory = mustLoad("Factory")
	Child   = mustLoad("Child")
	Probe   = mustLoad("Probe")
)

// artifact is the shape of build/<Name>.json as written by build.js.
type artifact struct {
	ABI              json.RawMessage `json:"abi"`
	Bytecode         string          `json:"bytecode"`
	DeployedBytecode string          `json:"deployedBytecode"`
	StorageLayout    struct {
		Storage []struct {
			Label string `json:"label"`
			Slot  string `json:"slot"`
		} `json:"storage"`
	} `json:"storageLayout"`
}

func readArtifact(name string) (*artifact, error) {
	raw, err := buildFS.ReadFile("build/" + name + ".json")
	if err != nil {
		return nil, err
	}
	var a artifact
	if err := json.Unmarshal(raw, &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// mustLoad panics on a malformed artifact: they are committed build outputs.
func mustLoad(name string) *Contract {
	a, err := readArtifact(name)
	if err != nil {
		panic(fmt.Sprintf("contracts: %s: %v", name, err))
	}
	c := &Contract{Name: name}
	if c.ABI, err = abi.JSON(bytes.NewReader(a.ABI)); err != nil {
		panic(fmt.Sprintf("contracts: %s abi: %v", name, err))
	}
	if c.Bytecode, err = hexutil.Decode(a.Bytecode); err != nil || len(c.Bytecode) == 0 {
		panic(fmt.Sprintf("contracts: %s bytecode: %v", name, err))
	}
	if c.Runtime, err = hexutil.Decode(a.DeployedBytecode); err != nil || len(c.Runtime) == 0 {
		panic(fmt.Sprintf("contracts: %s deployedBytecode: %v", name, err))
	}
	return c
}

// pack ABI-encodes a call. It panics on error, which can only be a mismatch
// between a typed helper in this package and the embedded ABI.
func (c *Contract) pack(method string, args ...any) []byte {
	data, err := c.ABI.Pack(method, args...)
	if err != nil {
		panic(fmt.Sprintf("contracts: %s.%s: %v", c.Name, method, err))
	}
	return data
}

// deployCode returns the creation code followed by the encoded constructor
// arguments, in a fresh slice.
func (c *Contract) deployCode(args ...any) []byte {
	enc := c.pack("", args...)
	return append(append(make([]byte, 0, len(c.Bytecode)+len(enc)), c.Bytecode...), enc...)
}
