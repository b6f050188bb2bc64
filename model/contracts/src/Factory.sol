// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

import {Child} from "./Child.sol";

/// @title Factory: deploys Child with CREATE and CREATE2. It has no storage.
/// @notice msg.value of every deploy function is forwarded to the new Child.
contract Factory {
    event Deployed(address indexed child, bytes32 indexed salt, bool create2);

    function deploy() external payable returns (address child) {
        child = address(new Child{value: msg.value}());
        emit Deployed(child, bytes32(0), false);
    }

    function deploy2(bytes32 salt) external payable returns (address child) {
        child = address(new Child{salt: salt, value: msg.value}());
        emit Deployed(child, salt, true);
    }

    /// @notice CREATE2-deploys a Child and destroys it in the same call, so under
    /// EIP-6780 the account is really deleted at the end of the transaction and
    /// the child's balance (msg.value) goes to beneficiary.
    function deployAndDestroy(bytes32 salt, address payable beneficiary) external payable returns (address child) {
        Child c = new Child{salt: salt, value: msg.value}();
        c.destroy(beneficiary);
        child = address(c);
        emit Deployed(child, salt, true);
    }
}
