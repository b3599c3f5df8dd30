//! Native segwit addresses of Bitcoin (`bc1…`) and Litecoin (`ltc1…`) per BIP-173 (bech32,
//! witness v0) and BIP-350 (bech32m, witness v1..v16). The canonical key is lower case.
//!
//! Order of checks, so that a typo reads as a typo: characters, case, prefix and witness
//! version first; then the checksum (matching neither bech32 nor bech32m is a `Checksum`
//! error); then padding and program length (`Format`); then a valid checksum of the wrong kind
//! for the witness version (BIP-350's "bech32 instead of bech32m", a `Checksum` error); last,
//! a testnet prefix (`Testnet`).

use bech32::primitives::decode::{CharError, SegwitHrpstringError, UncheckedHrpstring};
use bech32::primitives::decode::{CheckedHrpstring, UncheckedHrpstringError};
use bech32::{Bech32, Bech32m, Hrp};

use super::{AddressError, AddressKey};

/// Maximum length of a segwit address (BIP-173).
const MAX_LEN: usize = 90;
/// Bech32 checksum length in characters.
const CHECKSUM_CHARS: usize = 6;

/// One network's segwit prefixes and wording.
pub(super) struct SegwitNetwork {
    pub name: &'static str,
    pub expected: &'static str,
    pub mainnet: Hrp,
    pub testnets: &'static [Hrp],
}

pub(super) const BITCOIN: SegwitNetwork = SegwitNetwork {
    name: "Bitcoin",
    expected: "a Bitcoin address starts with 1, 3 or bc1",
    mainnet: Hrp::parse_unchecked("bc"),
    testnets: &[Hrp::parse_unchecked("tb"), Hrp::parse_unchecked("bcrt")],
};

pub(super) const LITECOIN: SegwitNetwork = SegwitNetwork {
    name: "Litecoin",
    expected: "a Litecoin address starts with L, M, 3 or ltc1",
    mainnet: Hrp::parse_unchecked("ltc"),
    testnets: &[Hrp::parse_unchecked("tltc"), Hrp::parse_unchecked("rltc")],
};

const NETWORKS: [&SegwitNetwork; 2] = [&BITCOIN, &LITECOIN];

/// Whether the address starts (in any case) with the segwit prefix of Bitcoin or Litecoin,
/// main or test: such an address goes down the segwit path of either family, so that a
/// Litecoin address in a Bitcoin column is named as such.
pub(super) fn looks_segwit(address: &str) -> bool {
    network_of(address).is_some()
}

/// The network whose segwit prefix (main or test) the address starts with.
fn network_of(address: &str) -> Option<&'static SegwitNetwork> {
    NETWORKS.into_iter().find(|net| {
        std::iter::once(&net.mainnet)
            .chain(net.testnets)
            .any(|hrp| has_prefix_ignore_case(address, hrp.as_str()))
    })
}

fn has_prefix_ignore_case(address: &str, hrp: &str) -> bool {
    let n = hrp.len();
    address.len() > n
        && address.as_bytes()[..n].eq_ignore_ascii_case(hrp.as_bytes())
        && address.as_bytes()[n] == b'1'
}

pub(super) fn check<'a>(
    net: &SegwitNetwork,
    address: &'a str,
) -> Result<AddressKey<'a>, AddressError> {
    let format = |problem: &str| AddressError::Format(format!("{problem}: {}", net.expected));
    if address.len() > MAX_LEN {
        return Err(format(&format!(
            "{} characters is too long for a {} address",
            address.len(),
            net.name
        )));
    }
    let unchecked = UncheckedHrpstring::new(address).map_err(|e| match e {
        UncheckedHrpstringError::Char(CharError::MixedCase) => {
            format("the address mixes upper- and lower-case letters")
        }
        UncheckedHrpstringError::Char(CharError::InvalidChar(ch)) => {
            let at = address.rfind(ch).map_or(0, |i| i + 1);
            format(&format!(
                "character '{ch}' at position {at} is not used in {} addresses \
                 (1, b, i and o never are after the prefix)",
                net.name
            ))
        }
        _ => format(&format!("not a {} address", net.name)),
    })?;

    // A testnet address is checked in full and refused at the end, so that a broken one
    // reports what is broken.
    let hrp = unchecked.hrp();
    let is_testnet = net.testnets.contains(&hrp);
    if hrp != net.mainnet && !is_testnet {
        return Err(match network_of(address) {
            Some(other) if other.name != net.name => format(&format!(
                "this is a {} address, not a {} one",
                other.name, net.name
            )),
            // our own prefix, but a stray '1' later on moved the separator
            Some(_) => format(&format!(
                "character '1' at position {} is not used in {} addresses \
                 (1, b, i and o never are after the prefix)",
                hrp.len() + 1,
                net.name
            )),
            None => format(&format!("prefix '{}1' is not {}'s", hrp.as_str(), net.name)),
        });
    }

    let data = unchecked.data_part_ascii();
    if data.len() <= CHECKSUM_CHARS {
        return Err(format("the address has no data after its prefix"));
    }
    let Some(version) = unchecked.witness_version() else {
        return Err(format(&format!(
            "unknown witness version '{}'",
            char::from(data[0])
        )));
    };

    let is_bech32 = unchecked.has_valid_checksum::<Bech32>();
    let is_bech32m = !is_bech32 && unchecked.has_valid_checksum::<Bech32m>();
    let checked: CheckedHrpstring<'_> = if is_bech32 {
        unchecked.remove_checksum::<Bech32>()
    } else if is_bech32m {
        unchecked.remove_checksum::<Bech32m>()
    } else {
        return Err(checksum_error(net));
    };

    checked.validate_segwit().map_err(|e| match e {
        SegwitHrpstringError::Padding(_) => format("the address has invalid padding bits"),
        SegwitHrpstringError::WitnessLength(_) => format(&format!(
            "the witness program has the wrong length for version {}",
            version.to_u8()
        )),
        _ => format(&format!("not a {} address", net.name)),
    })?;

    // BIP-350: version 0 uses bech32, versions 1 to 16 use bech32m.
    if (version.to_u8() == 0) != is_bech32 {
        return Err(AddressError::Checksum(format!(
            "the {} address uses the wrong checksum kind for its witness version, \
             so it is not valid; copy the address again from the recipient",
            net.name
        )));
    }
    if is_testnet {
        return Err(AddressError::Testnet(format!(
            "this is a {} testnet address; payouts need a mainnet address",
            net.name
        )));
    }
    // At most MAX_LEN (90) characters here, so the key fits inline.
    let mut lower = [0u8; MAX_LEN];
    let n = address.len();
    lower[..n].copy_from_slice(address.as_bytes());
    lower[..n].make_ascii_lowercase();
    Ok(AddressKey::inline(&lower[..n]))
}

fn checksum_error(net: &SegwitNetwork) -> AddressError {
    AddressError::Checksum(format!(
        "the {} address checksum does not match, so it has a typo; \
         copy the address again from the recipient",
        net.name
    ))
}
