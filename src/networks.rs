//! The network registry: one data table saying, per network, its address family, whether it
//! takes a memo, which currencies it carries (with their decimals) and which gateways serve it.

use crate::model::GatewayKind;
use crate::validate::address::AddressFamily;

/// A currency carried on a network, with its number of decimals there.
#[derive(Debug, PartialEq, Eq)]
pub struct Asset {
    pub currency: &'static str,
    pub decimals: u32,
}

/// One network of the registry.
#[derive(Debug, PartialEq, Eq)]
pub struct NetworkSpec {
    /// The canonical code (2328's network code; `ARB-ERC20` for BlockATM's Arbitrum).
    pub code: &'static str,
    /// Other names users write for it (matched case-insensitively).
    pub aliases: &'static [&'static str],
    pub family: AddressFamily,
    /// Whether a memo / destination tag is accepted (2328: TON and SOL only).
    pub memo: bool,
    /// Currencies the 2328 gateway pays out on this network.
    pub assets_2328: &'static [Asset],
    /// Currencies BlockATM pays out on this network (empty: BlockATM does not serve it).
    pub assets_blockatm: &'static [Asset],
    /// BlockATM chain id, where BlockATM serves the network.
    pub chain_id: Option<u64>,
}

const fn a(currency: &'static str, decimals: u32) -> Asset {
    Asset { currency, decimals }
}

/// Every network payrun knows.
pub static NETWORKS: &[NetworkSpec] = &[
    NetworkSpec {
        code: "TRX-TRC20",
        aliases: &["TRON", "TRC20", "TRC-20", "TRX"],
        family: AddressFamily::Tron,
        memo: false,
        assets_2328: &[a("USDT", 6), a("TRX", 6)],
        assets_blockatm: &[a("USDT", 6)],
        chain_id: None,
    },
    NetworkSpec {
        code: "ETH-ERC20",
        aliases: &["ETH", "ERC20", "ERC-20", "ETHEREUM"],
        family: AddressFamily::Evm,
        memo: false,
        assets_2328: &[a("USDT", 6), a("USDC", 6), a("ETH", 18)],
        assets_blockatm: &[a("USDT", 6), a("USDC", 6)],
        chain_id: Some(1),
    },
    NetworkSpec {
        code: "BSC-BEP20",
        aliases: &["BSC", "BEP20", "BEP-20", "BNB", "BNB SMART CHAIN"],
        family: AddressFamily::Evm,
        memo: false,
        assets_2328: &[a("USDT", 18), a("USDC", 18), a("BNB", 18)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "AVAX-C",
        aliases: &["AVAX", "AVAXC", "AVALANCHE", "C-CHAIN", "AVAX C-CHAIN"],
        family: AddressFamily::Evm,
        memo: false,
        assets_2328: &[a("USDT", 6), a("USDC", 6), a("AVAX", 18)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "POL-MATIC",
        aliases: &["POL", "MATIC", "POLYGON"],
        family: AddressFamily::Evm,
        memo: false,
        assets_2328: &[a("USDT", 6), a("USDC", 6), a("POL", 18)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "ARB-ERC20",
        aliases: &["ARB", "ARBITRUM", "ARBITRUM ONE"],
        family: AddressFamily::Evm,
        memo: false,
        assets_2328: &[],
        assets_blockatm: &[a("USDT", 6), a("USDC", 6)],
        chain_id: Some(42161),
    },
    NetworkSpec {
        code: "TON",
        aliases: &["TONCOIN", "THE OPEN NETWORK"],
        family: AddressFamily::Ton,
        memo: true,
        assets_2328: &[a("USDT", 6), a("TON", 9)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "SOL",
        aliases: &["SOLANA", "SPL"],
        family: AddressFamily::Solana,
        memo: true,
        assets_2328: &[a("USDT", 6), a("USDC", 6), a("SOL", 9)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "BTC",
        aliases: &["BITCOIN"],
        family: AddressFamily::Bitcoin,
        memo: false,
        assets_2328: &[a("BTC", 8)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "LTC",
        aliases: &["LITECOIN"],
        family: AddressFamily::Litecoin,
        memo: false,
        assets_2328: &[a("LTC", 8)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "DASH",
        aliases: &[],
        family: AddressFamily::Dash,
        memo: false,
        assets_2328: &[a("DASH", 8)],
        assets_blockatm: &[],
        chain_id: None,
    },
    NetworkSpec {
        code: "DOGE",
        aliases: &["DOGECOIN"],
        family: AddressFamily::Dogecoin,
        memo: false,
        assets_2328: &[a("DOGE", 8)],
        assets_blockatm: &[],
        chain_id: None,
    },
];

/// Finds a network by code or alias (case-insensitive, surrounding spaces ignored).
pub fn lookup(name: &str) -> Option<&'static NetworkSpec> {
    let name = crate::validate::chars::trim(name);
    // Most cells hold the code exactly; names are unique across the table (a test checks),
    // so an exact code match is the network the case-insensitive search would find.
    if let Some(n) = NETWORKS.iter().find(|n| n.code == name) {
        return Some(n);
    }
    NETWORKS.iter().find(|n| {
        n.code.eq_ignore_ascii_case(name) || n.aliases.iter().any(|a| a.eq_ignore_ascii_case(name))
    })
}

impl NetworkSpec {
    /// The currencies the given gateway pays out on this network.
    pub fn assets(&self, gateway: GatewayKind) -> &'static [Asset] {
        match gateway {
            GatewayKind::G2328 => self.assets_2328,
            GatewayKind::BlockAtm => self.assets_blockatm,
        }
    }

    /// The asset for `currency` (case-insensitive) on this network for the gateway.
    pub fn asset(&self, gateway: GatewayKind, currency: &str) -> Option<&'static Asset> {
        let currency = crate::validate::chars::trim(currency);
        self.assets(gateway)
            .iter()
            .find(|a| a.currency.eq_ignore_ascii_case(currency))
    }

    /// Whether the gateway serves this network at all.
    pub fn served_by(&self, gateway: GatewayKind) -> bool {
        !self.assets(gateway).is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_aliases_resolve_case_insensitively() {
        assert_eq!(lookup("trx-trc20").unwrap().code, "TRX-TRC20");
        assert_eq!(lookup(" Tron ").unwrap().code, "TRX-TRC20");
        assert_eq!(lookup("erc20").unwrap().code, "ETH-ERC20");
        assert_eq!(lookup("Polygon").unwrap().code, "POL-MATIC");
        assert_eq!(lookup("Arbitrum").unwrap().code, "ARB-ERC20");
        assert!(lookup("XRP").is_none());
    }

    #[test]
    fn names_are_unique_across_the_table() {
        let mut seen = std::collections::HashSet::new();
        for n in NETWORKS {
            for name in std::iter::once(&n.code).chain(n.aliases.iter()) {
                assert!(seen.insert(name.to_ascii_uppercase()), "{name} twice");
            }
        }
    }

    #[test]
    fn decimals_follow_the_design() {
        let bsc = lookup("BSC-BEP20").unwrap();
        assert_eq!(bsc.asset(GatewayKind::G2328, "usdt").unwrap().decimals, 18);
        let tron = lookup("TRX-TRC20").unwrap();
        assert_eq!(tron.asset(GatewayKind::G2328, "USDT").unwrap().decimals, 6);
        assert_eq!(
            lookup("TON")
                .unwrap()
                .asset(GatewayKind::G2328, "TON")
                .unwrap()
                .decimals,
            9
        );
        assert!(lookup("ARB-ERC20")
            .unwrap()
            .asset(GatewayKind::G2328, "USDT")
            .is_none());
        assert!(lookup("ARB-ERC20")
            .unwrap()
            .served_by(GatewayKind::BlockAtm));
        assert!(lookup("TON").unwrap().memo && lookup("SOL").unwrap().memo);
        assert!(!lookup("BTC").unwrap().memo);
    }
}
