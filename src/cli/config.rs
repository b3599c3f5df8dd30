//! Configuration: the `payrun.toml` profile, the environment and the flags merged into one
//! validated `Config` (flags win over environment, environment over the file). Reading the file
//! and the environment is the only I/O and happens in `Sources::gather`; `Config::resolve` is
//! pure so every precedence rule is unit-tested. Secrets come only from the environment or a key
//! file, never from flags, and never print.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::cli::values::PerSecond;
use crate::cli::GlobalArgs;
use crate::model::GatewayKind;
use crate::networks::{self, NetworkSpec};
use crate::submit::pacing::{fmt_rate, PublishedLimit};

/// A secret value: never shown by Debug or Display.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub use crate::gateway::blockatm::PayoutType;

/// The `payrun.toml` profile. Every key is optional. Secrets may only be given as key files.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub gateway: Option<String>,
    pub base_url: Option<String>,
    pub project: Option<String>,
    /// File holding the 2328 Payout API key / BlockATM API key.
    pub api_key_file: Option<PathBuf>,
    /// File holding the BlockATM secret key.
    pub api_secret_file: Option<PathBuf>,
    pub contract_id: Option<String>,
    pub network: Option<String>,
    pub callback_url: Option<String>,
    pub payout_type: Option<String>,
    pub from_address: Option<String>,
    /// Requests per second.
    pub rate: Option<f64>,
    /// Allow a `rate` above the gateway's published limit.
    pub rate_above_limit: Option<bool>,
    pub connect_timeout_secs: Option<f64>,
    pub request_timeout_secs: Option<f64>,
    /// The book file (relative to the profile's directory).
    pub book: Option<PathBuf>,
    /// `run` refuses a plan no `payrun approve` by another person recorded.
    pub require_approval: Option<bool>,
    /// How long a finished run stays in the book's live tables before it is packed
    /// (docs/book.md, "Packed runs"), in hours; default 24.
    pub pack_after_hours: Option<f64>,
}

/// What was read from the outside world: the profile (if any), its path, and the environment.
#[derive(Debug, Default)]
pub struct Sources {
    pub profile: Profile,
    pub profile_path: Option<PathBuf>,
    pub env: HashMap<String, String>,
}

/// A configuration problem (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("missing {what}: {hint}")]
    Missing { what: String, hint: String },
}

impl Sources {
    /// Reads the profile (`--config FILE`, else `payrun.toml` in the current directory if
    /// present) and the `PAYRUN_*` environment.
    pub fn gather(config_flag: Option<&Path>) -> Result<Sources, ConfigError> {
        let env: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| k.starts_with("PAYRUN_"))
            .collect();
        let path = match config_flag {
            Some(p) => Some(p.to_path_buf()),
            None => {
                let p = PathBuf::from("payrun.toml");
                p.is_file().then_some(p)
            }
        };
        let profile = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.clone(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: p.clone(),
                    message: parse_error_without_values(&text, &e),
                })?
            }
            None => Profile::default(),
        };
        Ok(Sources {
            profile,
            profile_path: path,
            env,
        })
    }
}

/// A profile parse error as `line 3, key api_key: <reason>` — never the value written there
/// (a secret pasted into the profile by mistake must not reach a terminal or a log). Quoted
/// text in the parser's reason is replaced by `"…"`.
fn parse_error_without_values(text: &str, e: &toml::de::Error) -> String {
    let mut out = String::new();
    if let Some(span) = e.span() {
        let start = span.start.min(text.len());
        let line_no = text[..start].bytes().filter(|&b| b == b'\n').count() + 1;
        out.push_str(&format!("line {line_no}"));
        let line = text.lines().nth(line_no - 1).unwrap_or_default();
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim();
            if !key.is_empty() && key.len() <= 64 && !key.contains(['"', '\'']) {
                out.push_str(&format!(", key {key}"));
            }
        }
        out.push_str(": ");
    }
    let mut in_quote = false;
    for c in e.message().chars() {
        match (c, in_quote) {
            ('"', false) => {
                in_quote = true;
                out.push_str("\"…");
            }
            ('"', true) => {
                in_quote = false;
                out.push('"');
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out.trim_end().to_string()
}

/// The validated configuration every command works from.
#[derive(Debug, Clone)]
pub struct Config {
    pub gateway: GatewayKind,
    /// Explicit base URL (None: the gateway's production default, or the in-process sandbox).
    pub base_url: Option<String>,
    pub project: Option<String>,
    pub api_key: Option<Secret>,
    pub api_secret: Option<Secret>,
    pub contract_id: Option<String>,
    /// BlockATM: the contract's chain.
    pub network: Option<&'static NetworkSpec>,
    pub callback_url: Option<String>,
    pub payout_type: PayoutType,
    pub from_address: Option<String>,
    /// `PAYRUN_RATE`, else `rate =` in the profile (`--rate` is the command's).
    pub rate: Option<RateSetting>,
    /// `rate_above_limit =` in the profile.
    pub rate_above_limit: bool,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    /// The book file: `--book`, `PAYRUN_BOOK`, `book =` in the profile, else the platform data
    /// directory. An error text when none can be named (no data directory).
    pub book: Result<PathBuf, String>,
    /// `require_approval =` in the profile (docs/design.md, "Controls before money moves").
    pub require_approval: bool,
    /// `pack_after_hours =` in the profile: how long a finished run stays live before it is
    /// packed (docs/book.md, "Packed runs").
    pub pack_after: Duration,
}

/// A configured rate and where it was given (for messages).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateSetting {
    pub per_sec: PerSecond,
    /// `--rate`, `PAYRUN_RATE` or `rate in the profile`.
    pub source: &'static str,
}

/// The rate a command paces the gateway at, and the warning to print before it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RateChoice {
    /// Requests per second; None: the gateway's published limit.
    pub rate: Option<f64>,
    /// Set when the rate is above the published limit and that was allowed.
    pub warning: Option<String>,
}

/// The rate for `gateway`: `flag` (`--rate`), else the configured one, else the published limit.
/// A rate above the gateway's published limit is refused unless `allow_flag`
/// (`--rate-above-limit`) or the configuration allows it; allowed, it comes with a warning.
pub fn choose_rate(
    gateway: GatewayKind,
    flag: Option<PerSecond>,
    allow_flag: bool,
    local: bool,
    config: &Config,
) -> Result<RateChoice, ConfigError> {
    let setting = flag
        .map(|per_sec| RateSetting {
            per_sec,
            source: "--rate",
        })
        .or(config.rate);
    let Some(RateSetting { per_sec, source }) = setting else {
        return Ok(RateChoice {
            rate: None,
            warning: None,
        });
    };
    let rate = per_sec.get();
    let limit = PublishedLimit::of(gateway);
    let gw = match gateway {
        GatewayKind::G2328 => "2328",
        GatewayKind::BlockAtm => "BlockATM",
    };
    if !limit.exceeded_by(rate) {
        return Ok(RateChoice {
            rate: Some(rate),
            warning: None,
        });
    }
    if local && !(allow_flag || config.rate_above_limit) {
        // The published limit is the gateway's own; a gateway on this machine (the sandbox)
        // has whatever limits it has, and a 429 from it slows payrun down as usual.
        return Ok(RateChoice {
            rate: Some(rate),
            warning: Some(format!(
                "note: {source} {}/s is above {gw}'s published limit of {limit}; allowed because \
                 the gateway is a local one (the sandbox), not {gw} itself",
                fmt_rate(rate)
            )),
        });
    }
    if !(allow_flag || config.rate_above_limit) {
        return Err(ConfigError::Invalid {
            field: source.into(),
            message: format!(
                "{}/s is above {gw}'s published limit of {limit}: the gateway answers 429 (too \
                 many requests) and may ban a client that keeps going (418). Use a rate of at \
                 most {}, or pass --rate-above-limit to send faster anyway",
                fmt_rate(rate),
                fmt_rate(limit.per_second()),
            ),
        });
    }
    Ok(RateChoice {
        rate: Some(rate),
        warning: Some(format!(
            "warning: {source} {}/s is above {gw}'s published limit of {limit}: the gateway may \
             answer 429 (payrun then slows down) or ban the client (418)",
            fmt_rate(rate)
        )),
    })
}

/// The production base URL of a gateway.
pub fn default_base_url(gateway: GatewayKind) -> &'static str {
    match gateway {
        GatewayKind::G2328 => "https://api.2328.io/api",
        GatewayKind::BlockAtm => "https://open.blockatm.net",
    }
}

fn pick<'a>(flag: Option<&'a str>, env: Option<&'a str>, file: Option<&'a str>) -> Option<&'a str> {
    flag.or(env)
        .or(file)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

fn positive_secs(field: &str, v: Option<f64>, default: f64) -> Result<Duration, ConfigError> {
    let v = v.unwrap_or(default);
    if !(v.is_finite() && v > 0.0 && v <= 3600.0) {
        return Err(ConfigError::Invalid {
            field: field.into(),
            message: format!("must be a number of seconds between 0 and 3600, got {v}"),
        });
    }
    Ok(Duration::from_secs_f64(v))
}

/// `pack_after_hours`: 0 (pack a run as soon as it is finished) to a year; default 24.
fn pack_after(hours: Option<f64>) -> Result<Duration, ConfigError> {
    let h = hours.unwrap_or(24.0);
    if !(h.is_finite() && (0.0..=8760.0).contains(&h)) {
        return Err(ConfigError::Invalid {
            field: "pack_after_hours".into(),
            message: format!("must be a number of hours between 0 and 8760, got {h}"),
        });
    }
    Ok(Duration::from_secs_f64(h * 3600.0))
}

impl Config {
    /// Merges flags, environment and profile (in that order of precedence) and checks the result.
    /// Credentials are not required here (validate needs none); `require_credentials` checks them.
    pub fn resolve(flags: &GlobalArgs, src: &Sources) -> Result<Config, ConfigError> {
        let env = |k: &str| src.env.get(k).map(String::as_str);
        let p = &src.profile;
        let gateway_text = pick(
            flags.gateway.map(|g| GatewayKind::from(g).as_str()),
            env("PAYRUN_GATEWAY"),
            p.gateway.as_deref(),
        )
        .unwrap_or("2328");
        let gateway = GatewayKind::parse(gateway_text).ok_or_else(|| ConfigError::Invalid {
            field: "gateway".into(),
            message: format!("unknown gateway '{gateway_text}': expected 2328 or blockatm"),
        })?;
        let network = match pick(None, env("PAYRUN_NETWORK"), p.network.as_deref()) {
            None => None,
            Some(n) => {
                let spec = networks::lookup(n).ok_or_else(|| ConfigError::Invalid {
                    field: "PAYRUN_NETWORK".into(),
                    message: format!("unknown network '{n}'"),
                })?;
                if gateway == GatewayKind::BlockAtm && !spec.served_by(gateway) {
                    return Err(ConfigError::Invalid {
                        field: "PAYRUN_NETWORK".into(),
                        message: format!(
                            "BlockATM contracts live on TRX-TRC20, ETH-ERC20 or ARB-ERC20, not {}",
                            spec.code
                        ),
                    });
                }
                Some(spec)
            }
        };
        // `--sandbox` on BlockATM with no chain named: the embedded sandbox's contract chain,
        // as its credentials are (the sheet then needs no network column, as on a live
        // contract).
        #[cfg(feature = "sandbox")]
        let network = match network {
            None if flags.sandbox && gateway == GatewayKind::BlockAtm => {
                networks::lookup(crate::sandbox::DEFAULT_CHAIN)
            }
            n => n,
        };
        let payout_type = match pick(None, env("PAYRUN_PAYOUT_TYPE"), p.payout_type.as_deref()) {
            None => PayoutType::Balance,
            Some(t) => PayoutType::parse(t).ok_or_else(|| ConfigError::Invalid {
                field: "PAYRUN_PAYOUT_TYPE".into(),
                message: format!("'{t}': expected balance or allowance"),
            })?,
        };
        let from_address =
            pick(None, env("PAYRUN_FROM_ADDRESS"), p.from_address.as_deref()).map(String::from);
        if gateway == GatewayKind::BlockAtm
            && payout_type == PayoutType::Allowance
            && from_address.is_none()
        {
            return Err(ConfigError::Missing {
                what: "PAYRUN_FROM_ADDRESS".into(),
                hint: "allowance payouts need the authorising address".into(),
            });
        }
        // The authorising address is an address of the contract's chain, checked as a
        // recipient's is (checksum included).
        if let (Some(a), Some(n)) = (&from_address, network) {
            if gateway == GatewayKind::BlockAtm {
                crate::validate::address::check(n.family, a).map_err(|e| ConfigError::Invalid {
                    field: "PAYRUN_FROM_ADDRESS".into(),
                    message: format!("not a {} address: {e}", n.code),
                })?;
            }
        }
        let api_key = secret(src, "PAYRUN_API_KEY", p.api_key_file.as_deref())?;
        let api_secret = secret(src, "PAYRUN_API_SECRET", p.api_secret_file.as_deref())?;
        // The rule of `--rate` (`PerSecond`), for the environment and the profile alike.
        let rate = match (env("PAYRUN_RATE"), p.rate) {
            (Some(r), _) => Some(RateSetting {
                per_sec: PerSecond::parse(r).map_err(|message| ConfigError::Invalid {
                    field: "PAYRUN_RATE".into(),
                    message,
                })?,
                source: "PAYRUN_RATE",
            }),
            (None, Some(r)) => Some(RateSetting {
                per_sec: PerSecond::new(r).map_err(|message| ConfigError::Invalid {
                    field: "rate".into(),
                    message,
                })?,
                source: "rate in the profile",
            }),
            (None, None) => None,
        };
        let rate_above_limit = p.rate_above_limit.unwrap_or(false);
        Ok(Config {
            gateway,
            base_url: pick(None, env("PAYRUN_BASE_URL"), p.base_url.as_deref())
                .map(|s| s.trim_end_matches('/').to_string()),
            project: pick(None, env("PAYRUN_PROJECT"), p.project.as_deref()).map(String::from),
            api_key,
            api_secret,
            contract_id: pick(None, env("PAYRUN_CONTRACT_ID"), p.contract_id.as_deref())
                .map(String::from),
            network,
            callback_url: pick(None, env("PAYRUN_CALLBACK_URL"), p.callback_url.as_deref())
                .map(String::from),
            payout_type,
            from_address,
            rate,
            rate_above_limit,
            pack_after: pack_after(p.pack_after_hours)?,
            connect_timeout: positive_secs("connect_timeout_secs", p.connect_timeout_secs, 10.0)?,
            request_timeout: positive_secs("request_timeout_secs", p.request_timeout_secs, 30.0)?,
            require_approval: p.require_approval.unwrap_or(false),
            book: crate::book::location::resolve(
                flags.book.as_deref(),
                env("PAYRUN_BOOK"),
                p.book
                    .as_ref()
                    .map(|b| match &src.profile_path {
                        Some(pp) if b.is_relative() => {
                            pp.parent().unwrap_or(Path::new(".")).join(b)
                        }
                        _ => b.clone(),
                    })
                    .as_deref(),
            ),
        })
    }

    /// Checks that the credentials the gateway needs are present.
    pub fn require_credentials(&self) -> Result<(), ConfigError> {
        let missing = |what: &str, hint: &str| ConfigError::Missing {
            what: what.into(),
            hint: hint.into(),
        };
        match self.gateway {
            GatewayKind::G2328 => {
                if self.project.is_none() {
                    return Err(missing("PAYRUN_PROJECT", "the 2328 project UUID"));
                }
                if self.api_key.is_none() {
                    return Err(missing(
                        "PAYRUN_API_KEY",
                        "the 2328 Payout API key (environment variable or api_key_file in payrun.toml)",
                    ));
                }
            }
            GatewayKind::BlockAtm => {
                if self.api_key.is_none() {
                    return Err(missing("PAYRUN_API_KEY", "the BlockATM API key"));
                }
                if self.api_secret.is_none() {
                    return Err(missing(
                        "PAYRUN_API_SECRET",
                        "the BlockATM secret key (environment variable or api_secret_file in payrun.toml)",
                    ));
                }
                if self.contract_id.is_none() {
                    return Err(missing(
                        "PAYRUN_CONTRACT_ID",
                        "the BlockATM payout contract id",
                    ));
                }
                if self.network.is_none() {
                    return Err(missing(
                        "PAYRUN_NETWORK",
                        "the BlockATM contract's chain (TRX-TRC20, ETH-ERC20 or ARB-ERC20)",
                    ));
                }
            }
        }
        Ok(())
    }

    /// The base URL to talk to.
    pub fn effective_base_url(&self) -> String {
        self.base_url
            .clone()
            .unwrap_or_else(|| default_base_url(self.gateway).to_string())
    }
}

/// A secret from the environment variable `var`, else from `VAR_FILE`, else from the profile's
/// key file. The file's content is trimmed of surrounding whitespace.
fn secret(
    src: &Sources,
    var: &str,
    profile_file: Option<&Path>,
) -> Result<Option<Secret>, ConfigError> {
    if let Some(v) = src.env.get(var).filter(|v| !v.trim().is_empty()) {
        return Ok(Some(Secret::new(v.trim())));
    }
    let file = src
        .env
        .get(&format!("{var}_FILE"))
        .map(PathBuf::from)
        .or_else(|| {
            profile_file.map(|f| match &src.profile_path {
                Some(pp) if f.is_relative() => pp.parent().unwrap_or(Path::new(".")).join(f),
                _ => f.to_path_buf(),
            })
        });
    match file {
        None => Ok(None),
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                path: path.clone(),
                source,
            })?;
            let t = text.trim();
            if t.is_empty() {
                return Err(ConfigError::Invalid {
                    field: path.display().to_string(),
                    message: "the key file is empty".into(),
                });
            }
            Ok(Some(Secret::new(t)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sources(env: &[(&str, &str)], profile: Profile) -> Sources {
        Sources {
            profile,
            profile_path: None,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let profile = Profile {
            gateway: Some("blockatm".into()),
            network: Some("TRON".into()),
            ..Default::default()
        };
        let src = sources(&[("PAYRUN_GATEWAY", "2328")], profile);
        let cfg = Config::resolve(&GlobalArgs::default(), &src).unwrap();
        assert_eq!(cfg.gateway, GatewayKind::G2328);
        let flags = GlobalArgs {
            gateway: Some(crate::cli::GatewayArg::BlockAtm),
            ..Default::default()
        };
        let cfg = Config::resolve(&flags, &src).unwrap();
        assert_eq!(cfg.gateway, GatewayKind::BlockAtm);
        assert_eq!(cfg.network.unwrap().code, "TRX-TRC20");
        let src = sources(
            &[],
            Profile {
                gateway: Some("blockatm".into()),
                ..Default::default()
            },
        );
        assert_eq!(
            Config::resolve(&GlobalArgs::default(), &src)
                .unwrap()
                .gateway,
            GatewayKind::BlockAtm
        );
    }

    #[test]
    fn default_gateway_is_2328_and_unknown_is_refused() {
        let cfg =
            Config::resolve(&GlobalArgs::default(), &sources(&[], Profile::default())).unwrap();
        assert_eq!(cfg.gateway, GatewayKind::G2328);
        assert_eq!(cfg.effective_base_url(), "https://api.2328.io/api");
        let err = Config::resolve(
            &GlobalArgs::default(),
            &sources(&[("PAYRUN_GATEWAY", "paypal")], Profile::default()),
        )
        .unwrap_err();
        assert!(err.to_string().contains("paypal"));
    }

    #[test]
    fn secrets_are_redacted_and_required() {
        let src = sources(
            &[
                ("PAYRUN_API_KEY", "super-secret-value"),
                ("PAYRUN_PROJECT", "p"),
            ],
            Profile::default(),
        );
        let cfg = Config::resolve(&GlobalArgs::default(), &src).unwrap();
        assert!(!format!("{cfg:?}").contains("super-secret-value"));
        cfg.require_credentials().unwrap();
        let src = sources(
            &[("PAYRUN_GATEWAY", "blockatm"), ("PAYRUN_API_KEY", "k")],
            Profile::default(),
        );
        let err = Config::resolve(&GlobalArgs::default(), &src)
            .unwrap()
            .require_credentials()
            .unwrap_err();
        assert!(err.to_string().contains("PAYRUN_API_SECRET"));
    }

    #[test]
    fn key_file_is_read_and_env_wins() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        std::fs::write(&f, "from-file\n").unwrap();
        let src = sources(
            &[("PAYRUN_API_KEY_FILE", f.to_str().unwrap())],
            Profile::default(),
        );
        let cfg = Config::resolve(&GlobalArgs::default(), &src).unwrap();
        assert_eq!(cfg.api_key.unwrap().expose(), "from-file");
        let src = sources(
            &[
                ("PAYRUN_API_KEY_FILE", f.to_str().unwrap()),
                ("PAYRUN_API_KEY", "env"),
            ],
            Profile::default(),
        );
        assert_eq!(
            Config::resolve(&GlobalArgs::default(), &src)
                .unwrap()
                .api_key
                .unwrap()
                .expose(),
            "env"
        );
    }

    #[test]
    fn blockatm_chain_and_allowance_rules() {
        let src = sources(
            &[("PAYRUN_GATEWAY", "blockatm"), ("PAYRUN_NETWORK", "BTC")],
            Profile::default(),
        );
        assert!(Config::resolve(&GlobalArgs::default(), &src).is_err());
        let src = sources(
            &[
                ("PAYRUN_GATEWAY", "blockatm"),
                ("PAYRUN_PAYOUT_TYPE", "allowance"),
            ],
            Profile::default(),
        );
        let err = Config::resolve(&GlobalArgs::default(), &src).unwrap_err();
        assert!(err.to_string().contains("PAYRUN_FROM_ADDRESS"));
        let allowance = |from: &'static str| {
            sources(
                &[
                    ("PAYRUN_GATEWAY", "blockatm"),
                    ("PAYRUN_NETWORK", "TRX-TRC20"),
                    ("PAYRUN_PAYOUT_TYPE", "allowance"),
                    ("PAYRUN_FROM_ADDRESS", from),
                ],
                Profile::default(),
            )
        };
        let err = Config::resolve(&GlobalArgs::default(), &allowance("hello")).unwrap_err();
        assert!(err.to_string().contains("PAYRUN_FROM_ADDRESS"), "{err}");
        assert!(err.to_string().contains("not a TRX-TRC20 address"), "{err}");
        let ok = Config::resolve(
            &GlobalArgs::default(),
            &allowance("TDy2r6LnrvAvn8GMgfe9PaSbDLmTkG4uJF"),
        );
        assert!(ok.is_ok(), "{ok:?}");
    }

    #[test]
    fn a_parse_error_names_line_and_key_never_the_value() {
        for text in [
            "gateway = \"2328\"\napi_key = \"sk_live_TOPSECRET\"\n",
            "rate = \"sk_live_TOPSECRET\"\n",
            "project = sk_live_TOPSECRET\n",
            "book = \"sk_live_TOPSECRET\n",
        ] {
            let e = toml::from_str::<Profile>(text).unwrap_err();
            let m = parse_error_without_values(text, &e);
            assert!(!m.contains("TOPSECRET"), "{m}");
            assert!(m.starts_with("line "), "{m}");
        }
        let text = "gateway = \"2328\"\napi_key = \"sk_live_TOPSECRET\"\n";
        let e = toml::from_str::<Profile>(text).unwrap_err();
        let m = parse_error_without_values(text, &e);
        assert!(m.contains("line 2, key api_key"), "{m}");
    }

    #[test]
    fn bad_rate_is_refused() {
        for bad in ["-1", "fast", "0", "NaN", "inf", ""] {
            let src = sources(&[("PAYRUN_RATE", bad)], Profile::default());
            let e = Config::resolve(&GlobalArgs::default(), &src).unwrap_err();
            assert!(e.to_string().starts_with("PAYRUN_RATE: "), "{bad}: {e}");
        }
        for bad in [0.0, -3.0, f64::NAN, f64::INFINITY] {
            let profile = Profile {
                rate: Some(bad),
                ..Default::default()
            };
            let e = Config::resolve(&GlobalArgs::default(), &sources(&[], profile)).unwrap_err();
            assert!(e.to_string().contains("per second"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_rate_above_the_published_limit_needs_leave() {
        let rate = |r: f64| Some(PerSecond::new(r).unwrap());
        let cfg = |env: &[(&str, &str)]| {
            Config::resolve(&GlobalArgs::default(), &sources(env, Profile::default())).unwrap()
        };
        let plain = cfg(&[]);
        // No rate: the published limit.
        let c = choose_rate(GatewayKind::G2328, None, false, false, &plain).unwrap();
        assert_eq!((c.rate, c.warning), (None, None));
        // At or under the limit: taken as is, without a word.
        let c = choose_rate(GatewayKind::G2328, rate(10.0), false, false, &plain).unwrap();
        assert_eq!((c.rate, c.warning), (Some(10.0), None));
        let c = choose_rate(GatewayKind::BlockAtm, rate(1.667), false, false, &plain).unwrap();
        assert_eq!(c.rate, Some(1.667));
        // Above: refused, naming the limit and the way out.
        let e = choose_rate(GatewayKind::G2328, rate(50.0), false, false, &plain).unwrap_err();
        let e = e.to_string();
        assert!(
            e.starts_with(
                "--rate: 50/s is above 2328's published limit of 10 requests/s per project"
            ),
            "{e}"
        );
        assert!(e.contains("--rate-above-limit"), "{e}");
        let e = choose_rate(GatewayKind::BlockAtm, rate(2.0), false, false, &plain).unwrap_err();
        assert!(
            e.to_string()
                .contains("BlockATM's published limit of 100 requests/min per endpoint (1.667/s)"),
            "{e}"
        );
        // The environment's rate is checked too, and named.
        let e = choose_rate(
            GatewayKind::G2328,
            None,
            false,
            false,
            &cfg(&[("PAYRUN_RATE", "20")]),
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("PAYRUN_RATE: 20/s"), "{e}");
        // --rate wins over the environment.
        let c = choose_rate(
            GatewayKind::G2328,
            rate(5.0),
            false,
            false,
            &cfg(&[("PAYRUN_RATE", "20")]),
        )
        .unwrap();
        assert_eq!(c.rate, Some(5.0));
        // Allowed by the flag or the configuration: taken, with a warning about 429 and 418.
        let c = choose_rate(GatewayKind::G2328, rate(50.0), true, false, &plain).unwrap();
        assert_eq!(c.rate, Some(50.0));
        let w = c.warning.unwrap();
        assert!(
            w.contains("429") && w.contains("418") && w.contains("10 requests/s"),
            "{w}"
        );
        let allowed = Config::resolve(
            &GlobalArgs::default(),
            &sources(
                &[("PAYRUN_RATE", "200")],
                Profile {
                    rate_above_limit: Some(true),
                    ..Default::default()
                },
            ),
        )
        .unwrap();
        let c = choose_rate(GatewayKind::BlockAtm, None, false, false, &allowed).unwrap();
        assert_eq!(c.rate, Some(200.0));
        assert!(c.warning.unwrap().starts_with("warning: PAYRUN_RATE 200/s"));
        // A gateway on this machine (the sandbox) is not held to the gateway's published limit.
        let c = choose_rate(GatewayKind::G2328, rate(200.0), false, true, &plain).unwrap();
        assert_eq!(c.rate, Some(200.0));
        assert!(c.warning.unwrap().contains("local"));
    }
}
