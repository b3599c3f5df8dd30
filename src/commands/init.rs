//! `payrun init [--out payrun.toml] [--force]`: writes a commented configuration profile that
//! shows every key `cli::config::Profile` accepts and the environment variables that override
//! them. Every key is commented out, so the file as written is a valid, empty profile. Secrets
//! appear only as key-file paths. An existing file is kept unless `--force`.

use std::path::Path;

use crate::cli::InitArgs;
use crate::exit::{Exit, ExitCode};
use crate::ledger::{atomic, LedgerError};

/// The file `payrun init` writes. Lines of the form `# key = value` are the profile's keys
/// with example values; every other comment is explanation.
pub const PROFILE_TEMPLATE: &str = r##"# payrun.toml: the payrun configuration profile.
#
# Every key is optional; uncomment (delete the leading "# ") the ones you need.
# Precedence: command-line flags win over environment variables, which win over this file.
#
# Environment variables, each overriding the key named beside it:
#   PAYRUN_GATEWAY            gateway
#   PAYRUN_BASE_URL           base_url
#   PAYRUN_PROJECT            project
#   PAYRUN_API_KEY            the API key itself (or PAYRUN_API_KEY_FILE: the path of a key file)
#   PAYRUN_API_SECRET         the BlockATM secret itself (or PAYRUN_API_SECRET_FILE)
#   PAYRUN_CONTRACT_ID        contract_id
#   PAYRUN_NETWORK            network
#   PAYRUN_CALLBACK_URL       callback_url
#   PAYRUN_PAYOUT_TYPE        payout_type
#   PAYRUN_FROM_ADDRESS       from_address
#   PAYRUN_RATE               rate
#   --rate-above-limit        rate_above_limit
#
# Secrets never go in this file, only the path of a file holding them (api_key_file,
# api_secret_file). A config file gets copied, committed to git, pasted into tickets and
# backed up; a key file can stay out of all of that, readable by you alone (chmod 600),
# and be rotated without touching this file. For the same reason payrun takes no secret
# as a command-line flag: flags show in `ps` and in shell history.

# Payout gateway: "2328" or "blockatm" (default "2328").
# gateway = "2328"

# Gateway base URL. Defaults: https://api.2328.io/api (2328), https://open.blockatm.net
# (BlockATM). Use --sandbox to try payrun against the embedded sandbox instead.
# base_url = "https://api.2328.io/api"

# 2328: your project UUID.
# project = "00000000-0000-0000-0000-000000000000"

# A file holding the 2328 Payout API key, or the BlockATM API key (surrounding whitespace
# is ignored). A relative path is taken from this file's directory.
# api_key_file = "secrets/payrun-api-key"

# BlockATM: a file holding the secret key used to sign requests.
# api_secret_file = "secrets/payrun-api-secret"

# BlockATM: the payout contract id.
# contract_id = "your-payout-contract-id"

# BlockATM: the contract's chain: "TRX-TRC20", "ETH-ERC20" or "ARB-ERC20".
# network = "TRX-TRC20"

# 2328: URL sent as url_callback with every payout, for `payrun webhook serve`.
# callback_url = "https://payouts.example.com/payrun/webhook"

# BlockATM payoutType: "balance" (default: paid from the contract balance) or "allowance"
# (paid from the allowance of from_address).
# payout_type = "balance"

# BlockATM, with payout_type = "allowance": the authorising address.
# from_address = "your-authorising-address"

# Requests per second (default: the gateway's published limit, 10/s for 2328 and
# 100/min per endpoint for BlockATM). A rate above the limit is refused unless
# rate_above_limit is true (or --rate-above-limit is given): the gateway answers 429 and
# may ban (418).
# rate = 5.0
# rate_above_limit = false

# Seconds allowed to connect, and for a whole request (defaults 10 and 30).
# connect_timeout_secs = 10.0
# request_timeout_secs = 30.0

# Hours a finished run stays in the book's tables as it was paid before it is packed into
# compressed blocks (default 24; 0 packs it as soon as every order is final).
# pack_after_hours = 24.0
"##;

/// Writes the profile to `path`; an existing file is replaced only with `force`.
pub fn write_profile(path: &Path, force: bool) -> Result<(), Exit> {
    let bytes = PROFILE_TEMPLATE.as_bytes();
    let result = if force {
        atomic::write_replace(path, bytes)
    } else {
        atomic::write_new(path, bytes)
    };
    result.map_err(|e| match e {
        LedgerError::Exists { path } => Exit::usage(format!(
            "{} already exists; use --force to overwrite it",
            path.display()
        )),
        other => Exit::usage(other.to_string()),
    })
}

/// `payrun init`.
pub fn execute(args: &InitArgs) -> anyhow::Result<ExitCode> {
    write_profile(&args.out, args.force)?;
    crate::outln!(
        "wrote {}: uncomment the keys you need; keep secrets in key files or the environment",
        args.out.display()
    );
    Ok(ExitCode::Success)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::config::Profile;

    /// The template with every `# key = value` line uncommented, and the keys uncommented.
    fn uncommented() -> (String, Vec<String>) {
        let mut keys = Vec::new();
        let text = PROFILE_TEMPLATE
            .lines()
            .map(|l| match l.strip_prefix("# ") {
                Some(rest)
                    if rest.split_once(" = ").is_some_and(|(k, _)| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                    }) =>
                {
                    keys.push(rest.split(" = ").next().unwrap_or_default().to_string());
                    rest.to_string()
                }
                _ => l.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        (text, keys)
    }

    #[test]
    fn the_file_as_written_is_an_empty_profile() {
        let p: Profile = toml::from_str(PROFILE_TEMPLATE).unwrap();
        assert!(p.gateway.is_none() && p.api_key_file.is_none() && p.rate.is_none());
        assert!(p.request_timeout_secs.is_none() && p.project.is_none());
    }

    #[test]
    fn every_profile_key_is_shown_and_parses_when_uncommented() {
        let (text, mut keys) = uncommented();
        keys.sort();
        let mut expected = vec![
            "api_key_file",
            "api_secret_file",
            "base_url",
            "callback_url",
            "connect_timeout_secs",
            "contract_id",
            "from_address",
            "gateway",
            "network",
            "pack_after_hours",
            "payout_type",
            "project",
            "rate",
            "rate_above_limit",
            "request_timeout_secs",
        ];
        expected.sort();
        assert_eq!(keys, expected);
        // Profile denies unknown fields, so a misspelt key fails here.
        let p: Profile = toml::from_str(&text).unwrap();
        assert_eq!(p.gateway.as_deref(), Some("2328"));
        assert_eq!(p.network.as_deref(), Some("TRX-TRC20"));
        assert_eq!(p.payout_type.as_deref(), Some("balance"));
        assert_eq!(p.rate, Some(5.0));
        assert_eq!(p.rate_above_limit, Some(false));
        assert_eq!(p.connect_timeout_secs, Some(10.0));
        assert_eq!(p.request_timeout_secs, Some(30.0));
        assert_eq!(p.pack_after_hours, Some(24.0));
        assert!(p.base_url.is_some() && p.project.is_some() && p.contract_id.is_some());
        assert!(p.callback_url.is_some() && p.from_address.is_some());
        assert!(p.api_key_file.is_some() && p.api_secret_file.is_some());
    }

    #[test]
    fn no_secret_key_is_offered_inline() {
        let (text, keys) = uncommented();
        assert!(!keys.iter().any(|k| k == "api_key" || k == "api_secret"));
        assert!(toml::from_str::<Profile>("api_key = \"x\"").is_err());
        assert!(text.contains("api_key_file"));
    }
}
