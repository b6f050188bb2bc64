// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title Probe: a grab-bag of EVM edge cases for tests.
/// @notice Storage layout:
///   slot 0: mapping(uint256 => bytes32) sink, written by burn (sink[i] at
///           keccak256(pad32(i) ++ pad32(0)), far from the small slots store uses)
/// store/clear write arbitrary raw slots. Transient storage: tcount uses
/// transient slot 0, tstoreThenRevert uses transient slot 1.
contract Probe {
    mapping(uint256 => bytes32) public sink;

    event Tick(uint256 indexed i, address indexed sender);

    receive() external payable {}

    function fail(string calldata reason) external pure {
        revert(reason);
    }

    /// @notice n rounds of keccak + fresh SSTORE (~22k gas each): a low gas
    /// limit runs out of gas.
    function burn(uint256 n) external returns (bytes32 h) {
        for (uint256 i = 0; i < n; i++) {
            h = keccak256(abi.encode(h, i));
            sink[i] = h;
        }
    }

    /// @notice Increments transient slot 0 twice and returns it: 2 in a fresh
    /// transaction, with no persistent storage change.
    function tcount() external returns (uint256 c) {
        assembly {
            tstore(0, add(tload(0), 1))
            tstore(0, add(tload(0), 1))
            c := tload(0)
        }
    }

    /// @notice Writes 123 to transient slot 1, then self-calls tstoreInner, which
    /// overwrites it with 456 and reverts. Returns the value seen afterwards
    /// (123: the reverted sub-call's transient write is rolled back).
    function tstoreThenRevert() external returns (uint256 v) {
        assembly {
            tstore(1, 123)
        }
        try this.tstoreInner() {} catch {}
        assembly {
            v := tload(1)
        }
    }

    function tstoreInner() external {
        assembly {
            tstore(1, 456)
        }
        revert("inner");
    }

    function store(uint256 slot, uint256 val) external {
        assembly {
            sstore(slot, val)
        }
    }

    function clear(uint256 slot) external {
        assembly {
            sstore(slot, 0)
        }
    }

    function emitMany(uint256 n) external {
        for (uint256 i = 0; i < n; i++) {
            emit Tick(i, msg.sender);
        }
    }

    function selfDestruct(address payable beneficiary) external {
        selfdestruct(beneficiary);
    }
}
