// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

/// @title Child: the contract Factory deploys.
/// @notice The constructor takes no arguments, so the CREATE2 init-code hash is
/// keccak256 of the creation bytecode alone. Storage layout:
///   slot 0: uint256 value (set to 1 by the constructor)
contract Child {
    uint256 public value;

    constructor() payable {
        value = 1;
    }

    receive() external payable {}

    function set(uint256 v) external {
        value = v;
    }

    function get() external view returns (uint256) {
        return value;
    }

    /// @notice Sends the whole balance to beneficiary. Under EIP-6780 the code and
    /// storage are only deleted when called in the transaction that created it.
    function destroy(address payable beneficiary) external {
        selfdestruct(beneficiary);
    }
}
