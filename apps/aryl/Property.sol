// SPDX-License-Identifier: MIT OR Apache-2.0
// The property example of the Aryl gateway (docs/aryl.md): the on-chain
// logic a landlord writes. `aryl build` generates AlkylCode.sol next to the
// compiled contract: the device code (lock.air) and the Aryl script
// (property.aryl.alkyl) as `bytes public constant`, with their keccak256
// hashes and the gateway's HPKE public key, so every party can read what
// the devices will run.
pragma solidity ^0.8.20;

import "./AlkylCode.sol";

contract Property is AlkylCode {
    address public immutable landlord;
    /// The gateway's Ethereum account: the only reporter.
    address public immutable gateway;
    /// Wei per rented minute.
    uint256 public immutable rentPerMinute;
    /// Invalid attempts reported since the last lock-out.
    uint32 public invalidAttempts;
    uint32 public constant MAX_INVALID = 3;
    /// How long a lock-out lasts.
    uint64 public immutable lockoutSeconds;
    /// The house rules, shown by the locks (they ask for `terms()`).
    string public notice = "Quiet hours 22:00-07:00. No smoking. Keys: 4 digits.";

    /// What a tenant agrees to.
    struct Terms {
        uint256 rentPerMinute;
        uint64 lockoutSeconds;
        uint32 maxInvalid;
    }

    /// A tenant paid for `mins` minutes; `encryptPin` is the PIN sealed to
    /// the gateway's HPKE key, bound to this contract, the tenant and `mins`.
    event PaymentEvent(address indexed tenant, bytes encryptPin, uint32 mins);
    /// A device reported an invalid attempt.
    event InvalidAttempt(bytes8 indexed device, uint32 count);
    /// Every lock of the property refuses every PIN until `until` (Unix s).
    event LockOutEvent(uint32 until);

    constructor(address gateway_, uint256 rentPerMinute_, uint64 lockoutSeconds_) {
        landlord = msg.sender;
        gateway = gateway_;
        rentPerMinute = rentPerMinute_;
        lockoutSeconds = lockoutSeconds_;
    }

    function pay(bytes calldata encryptPin, uint32 mins) external payable {
        require(mins > 0 && mins <= 7 days / 60, "mins");
        require(msg.value >= rentPerMinute * mins, "rent");
        require(encryptPin.length <= 128, "pin");
        emit PaymentEvent(msg.sender, encryptPin, mins);
    }

    /// Highest report sequence relayed per device (a report counts once).
    mapping(bytes8 => uint64) public lastReport;

    /// A device's signed report, relayed by the gateway (docs/aryl.md): the
    /// device's key id, its report sequence and its payload.
    function report(bytes8 device, uint64 sequence, bytes calldata payload) external {
        require(msg.sender == gateway, "gateway");
        require(sequence > lastReport[device], "replayed");
        lastReport[device] = sequence;
        if (keccak256(payload) != keccak256("invalid")) return;
        invalidAttempts += 1;
        emit InvalidAttempt(device, invalidAttempts);
        if (invalidAttempts >= MAX_INVALID) {
            invalidAttempts = 0;
            emit LockOutEvent(uint32(block.timestamp + lockoutSeconds));
        }
    }

    /// The terms and the house rules: what a lock asks for (a request for
    /// chain state, answered with a struct and a string: docs/aryl.md).
    function terms() external view returns (Terms memory t, string memory houseRules) {
        return (Terms(rentPerMinute, lockoutSeconds, MAX_INVALID), notice);
    }

    /// The lock-out every lock was sent, as the gateway's script reports it
    /// (a script's transaction: `contract.lockoutApplied(until)`).
    uint32 public lockedUntil;
    event LockOutApplied(uint32 until);

    function lockoutApplied(uint32 until) external {
        require(msg.sender == gateway, "gateway");
        lockedUntil = until;
        emit LockOutApplied(until);
    }

    function setNotice(string calldata notice_) external {
        require(msg.sender == landlord, "landlord");
        require(bytes(notice_).length <= 256, "notice");
        notice = notice_;
    }

    function withdraw() external {
        require(msg.sender == landlord, "landlord");
        payable(landlord).transfer(address(this).balance);
    }
}
