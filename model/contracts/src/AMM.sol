// SPDX-License-Identifier: UNLICENSED
pragma solidity ^0.8.24;

interface IERC20 {
    function transfer(address to, uint256 value) external returns (bool);
    function transferFrom(address from, address to, uint256 value) external returns (bool);
}

/// @title AMM: a constant-product (x*y=k) pool between two ERC-20 tokens, 0.3% fee.
/// @notice There are no LP shares: liquidity is donated to the pool. Storage layout:
///   slot 0: address token0
///   slot 1: address token1
///   slot 2: uint256 reserve0
///   slot 3: uint256 reserve1
/// Reserves always equal the tokens the pool received through addLiquidity and
/// swap (tokens sent to the pool directly are ignored).
contract AMM {
    address public token0;
    address public token1;
    uint256 public reserve0;
    uint256 public reserve1;

    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1);
    event Swap(address indexed trader, bool zeroForOne, uint256 amountIn, uint256 amountOut);

    error EmptyReserves();
    error Slippage(uint256 amountOut, uint256 minOut);
    error TransferFailed();

    constructor(address token0_, address token1_) {
        token0 = token0_;
        token1 = token1_;
    }

    function getReserves() external view returns (uint256, uint256) {
        return (reserve0, reserve1);
    }

    function addLiquidity(uint256 amount0, uint256 amount1) external {
        _pull(token0, amount0);
        _pull(token1, amount1);
        reserve0 += amount0;
        reserve1 += amount1;
        emit LiquidityAdded(msg.sender, amount0, amount1);
    }

    /// @notice out = amountIn*997*rOut / (rIn*1000 + amountIn*997).
    function swap(bool zeroForOne, uint256 amountIn, uint256 minOut) external returns (uint256 out) {
        (uint256 rIn, uint256 rOut) = zeroForOne ? (reserve0, reserve1) : (reserve1, reserve0);
        if (rIn == 0 || rOut == 0) revert EmptyReserves();
        uint256 inWithFee = amountIn * 997;
        out = (inWithFee * rOut) / (rIn * 1000 + inWithFee);
        if (out < minOut) revert Slippage(out, minOut);
        (address tIn, address tOut) = zeroForOne ? (token0, token1) : (token1, token0);
        _pull(tIn, amountIn);
        if (!IERC20(tOut).transfer(msg.sender, out)) revert TransferFailed();
        if (zeroForOne) {
            (reserve0, reserve1) = (rIn + amountIn, rOut - out);
        } else {
            (reserve0, reserve1) = (rOut - out, rIn + amountIn);
        }
        emit Swap(msg.sender, zeroForOne, amountIn, out);
    }

    function _pull(address token, uint256 amount) private {
        if (!IERC20(token).transferFrom(msg.sender, address(this), amount)) revert TransferFailed();
    }
}
