//! Configuration: the environment prefix, the endpoint, region and credentials.
//!
//! ```no_run
//! # async fn run() -> eventosaurus::Result<()> {
//! // From the environment: EVENT_ENVIRONMENT_PREFIX (required), AWS_ENDPOINT_URL_DYNAMODB /
//! // AWS_ENDPOINT_URL / AWS_ENDPOINT (optional), and the usual AWS variables and profiles.
//! let store = eventosaurus::Store::connect(eventosaurus::Config::from_env()?).await?;
//!
//! // Or explicitly, e.g. for DynamoDB Local:
//! let config = eventosaurus::Config::builder()
//!     .environment_prefix("localhost")
//!     .endpoint("http://127.0.0.1:8000")
//!     .build()?;
//! let store = eventosaurus::Store::connect(config).await?;
//! # Ok(()) }
//! ```
//!
//! Region and credentials come from `aws-config`'s usual sources. Only when the endpoint is a
//! loopback address (`localhost`, `127.0.0.0/8`, `::1`) and none are configured does
//! eventosaurus fall back to region `us-east-1` and dummy credentials, so DynamoDB Local
//! works with no AWS setup at all. For a loopback endpoint the instance-metadata and SSO
//! providers are never consulted.
//!
//! # Environment prefixes
//!
//! Tables are named `<prefix>_<table>`. A prefix is 1 to [`MAX_PREFIX_LEN`] letters, digits,
//! `-` and `.`, and **never `_`**: the first `_` of a table name ends its prefix, so a name
//! belongs to exactly one environment. (With `_` allowed, prefix `dev_x` and table `audit`
//! would name the table that prefix `dev` gives its `x_audit`: dropping `dev_x`'s tables
//! would drop `dev`'s.) Use `-` or `.` to structure prefixes, e.g. `staging-eu`.

use std::net::IpAddr;

use crate::error::{Error, Result};

/// The environment variable holding the table prefix.
pub const ENVIRONMENT_PREFIX_VAR: &str = "EVENT_ENVIRONMENT_PREFIX";
/// Endpoint variables, most specific first: the SDK's two, then the Ruby gem's.
pub const ENDPOINT_VARS: [&str; 3] = [
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT",
];

/// The environment variable naming the service that stores events (optional): stored with
/// each event as `event_source` and published in its [`Envelope`](crate::model::Envelope).
pub const SOURCE_VAR: &str = "EVENTOSAURUS_SOURCE";

/// The longest source accepted.
pub const MAX_SOURCE_LEN: usize = 256;

/// The region used against a loopback endpoint when none is configured.
pub const LOOPBACK_DEFAULT_REGION: &str = "us-east-1";

/// Everything a [`Store`](crate::Store) needs to connect.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) environment_prefix: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) credentials: Option<(String, String)>,
    pub(crate) source: Option<String>,
    pub(crate) report_consumed_capacity: bool,
}

impl Config {
    /// Reads the configuration from the environment.
    ///
    /// `EVENT_ENVIRONMENT_PREFIX` is required. The endpoint is taken from the first set of
    /// `AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL` and `AWS_ENDPOINT`; the source from
    /// `EVENTOSAURUS_SOURCE` (optional).
    pub fn from_env() -> Result<Config> {
        let prefix = std::env::var(ENVIRONMENT_PREFIX_VAR)
            .ok()
            .filter(|p| !p.trim().is_empty())
            .ok_or(Error::MissingEnvironmentPrefix {
                variable: ENVIRONMENT_PREFIX_VAR,
            })?;
        let mut builder = Config::builder();
        builder.environment_prefix = Some((prefix, ENVIRONMENT_PREFIX_VAR));
        for var in ENDPOINT_VARS {
            if let Some(endpoint) = std::env::var(var).ok().filter(|e| !e.trim().is_empty()) {
                builder.endpoint = Some((endpoint, var));
                break;
            }
        }
        if let Some(source) = std::env::var(SOURCE_VAR).ok().filter(|s| !s.is_empty()) {
            builder.source = Some((source, SOURCE_VAR));
        }
        builder.build()
    }

    /// A builder, for configuration that does not come from the environment.
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }

    /// The table prefix, e.g. `localhost` or `production`.
    pub fn environment_prefix(&self) -> &str {
        &self.environment_prefix
    }

    /// The endpoint override, if any.
    pub fn endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The region override, if any.
    pub fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }

    /// The service that stores events, if configured: written with each event as
    /// `event_source` (nothing is written without it).
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }

    /// Whether requests ask DynamoDB for their consumed capacity, recorded on the tracing
    /// spans (see [`ConfigBuilder::report_consumed_capacity`]).
    pub fn reports_consumed_capacity(&self) -> bool {
        self.report_consumed_capacity
    }

    /// This configuration with consumed capacity reported on the tracing spans, or not (see
    /// [`ConfigBuilder::report_consumed_capacity`]); e.g.
    /// `Config::from_env()?.report_consumed_capacity(true)`.
    pub fn report_consumed_capacity(mut self, on: bool) -> Config {
        self.report_consumed_capacity = on;
        self
    }

    /// Whether the endpoint is on this machine (DynamoDB Local).
    pub fn is_loopback(&self) -> bool {
        self.endpoint.as_deref().is_some_and(is_loopback_endpoint)
    }
}

/// Builds a [`Config`]. Only the environment prefix is required.
#[derive(Debug, Default, Clone)]
pub struct ConfigBuilder {
    environment_prefix: Option<(String, &'static str)>,
    endpoint: Option<(String, &'static str)>,
    region: Option<String>,
    credentials: Option<(String, String)>,
    source: Option<(String, &'static str)>,
    report_consumed_capacity: bool,
}

impl ConfigBuilder {
    /// With `true`, every request asks for `ReturnConsumedCapacity=TOTAL` and its tracing
    /// span records the answer as `aws.dynamodb.consumed_capacity` (see
    /// [`backend::telemetry`](crate::backend::telemetry)). Off by default.
    pub fn report_consumed_capacity(mut self, on: bool) -> Self {
        self.report_consumed_capacity = on;
        self
    }

    /// The table prefix: tables are named `<prefix>_<table>`. Letters, digits, `-` and `.`,
    /// no `_` (see [the module docs](self#environment-prefixes)); checked by
    /// [`build`](Self::build).
    pub fn environment_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.environment_prefix = Some((prefix.into(), "Config::builder"));
        self
    }

    /// An endpoint URL, e.g. `http://127.0.0.1:8000` for DynamoDB Local.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some((endpoint.into(), "Config::builder"));
        self
    }

    /// Like [`environment_prefix`](Self::environment_prefix), naming where the value came
    /// from (e.g. `--prefix`) in the error if it is invalid. For tools such as the CLI.
    #[doc(hidden)]
    pub fn environment_prefix_from(
        mut self,
        prefix: impl Into<String>,
        source_name: &'static str,
    ) -> Self {
        self.environment_prefix = Some((prefix.into(), source_name));
        self
    }

    /// Like [`endpoint`](Self::endpoint), naming where the value came from (e.g.
    /// `--endpoint` or `AWS_ENDPOINT`) in the error if it is invalid. For tools such as the CLI.
    #[doc(hidden)]
    pub fn endpoint_from(mut self, endpoint: impl Into<String>, source_name: &'static str) -> Self {
        self.endpoint = Some((endpoint.into(), source_name));
        self
    }

    /// The service that stores events, e.g. `billing` (lowercase and without whitespace is
    /// a good habit): stored with each event as `event_source` and published in its
    /// [`Envelope`](crate::model::Envelope). Without it nothing is stored.
    pub fn source(mut self, source: impl Into<String>) -> Self {
        self.source = Some((source.into(), "Config::builder"));
        self
    }

    /// The AWS region, overriding `aws-config`'s resolution.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Static credentials, overriding `aws-config`'s resolution.
    pub fn credentials(
        mut self,
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
    ) -> Self {
        self.credentials = Some((access_key_id.into(), secret_access_key.into()));
        self
    }

    /// Validates and builds the configuration.
    pub fn build(self) -> Result<Config> {
        let (prefix, prefix_source) =
            self.environment_prefix
                .ok_or(Error::MissingEnvironmentPrefix {
                    variable: ENVIRONMENT_PREFIX_VAR,
                })?;
        validate_prefix(&prefix).map_err(|reason| Error::InvalidEnvironmentPrefix {
            prefix: prefix.clone(),
            source_name: prefix_source,
            reason,
        })?;
        let endpoint = match self.endpoint {
            Some((endpoint, source_name)) => {
                validate_endpoint(&endpoint).map_err(|reason| Error::InvalidEndpoint {
                    endpoint: endpoint.clone(),
                    source_name,
                    reason,
                })?;
                Some(endpoint.trim_end_matches('/').to_owned())
            }
            None => None,
        };
        let source = match self.source {
            Some((value, source_name)) => {
                validate_source(&value).map_err(|reason| Error::InvalidSource {
                    value: value.clone(),
                    source_name,
                    reason,
                })?;
                Some(value)
            }
            None => None,
        };
        Ok(Config {
            environment_prefix: prefix,
            endpoint,
            region: self.region,
            credentials: self.credentials,
            source,
            report_consumed_capacity: self.report_consumed_capacity,
        })
    }
}

pub use crate::name::MAX_PREFIX_LEN;

/// Checks an environment prefix with [`name::check_prefix`](crate::name::check_prefix): 1 to
/// [`MAX_PREFIX_LEN`] of `[a-zA-Z0-9.-]`, no `_` (see [the module docs](self#environment-prefixes)).
/// The error says why and what to use instead.
pub(crate) fn validate_prefix(prefix: &str) -> std::result::Result<(), String> {
    crate::name::check_prefix(prefix).map_err(|err| err.reason(prefix))
}

/// Checks a source: 1 to [`MAX_SOURCE_LEN`] characters, no whitespace or control characters.
pub(crate) fn validate_source(source: &str) -> std::result::Result<(), String> {
    if source.is_empty() {
        return Err("it is empty".to_owned());
    }
    if source.chars().count() > MAX_SOURCE_LEN {
        return Err(format!("it is longer than {MAX_SOURCE_LEN} characters"));
    }
    if let Some(bad) = source.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{bad:?} is not allowed: use a name without whitespace, e.g. `billing`"
        ));
    }
    Ok(())
}

fn validate_endpoint(endpoint: &str) -> std::result::Result<(), String> {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| "it must start with http:// or https://".to_owned())?;
    if host_of(rest).is_empty() {
        return Err("it has no host".to_owned());
    }
    Ok(())
}

/// The host part of `host[:port][/path]` (without brackets for IPv6).
fn host_of(authority_and_path: &str) -> &str {
    let authority = authority_and_path
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default();
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether an endpoint URL points at this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub fn is_loopback_endpoint(endpoint: &str) -> bool {
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .unwrap_or(endpoint);
    let host = host_of(rest);
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_detection() {
        assert!(is_loopback_endpoint("http://localhost:8000"));
        assert!(is_loopback_endpoint("http://127.0.0.1:8000/"));
        assert!(is_loopback_endpoint("http://127.1.2.3"));
        assert!(is_loopback_endpoint("http://[::1]:8000"));
        assert!(!is_loopback_endpoint(
            "https://dynamodb.eu-west-1.amazonaws.com"
        ));
        assert!(!is_loopback_endpoint("http://10.0.0.1:8000"));
        assert!(!is_loopback_endpoint("http://localhost.evil.com"));
    }

    #[test]
    fn builder_validates_prefix_and_endpoint() {
        let err = Config::builder().build().unwrap_err();
        assert!(err.to_string().contains(ENVIRONMENT_PREFIX_VAR), "{err}");
        let err = Config::builder()
            .environment_prefix("bad prefix")
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidEnvironmentPrefix { .. }),
            "{err}"
        );
        let err = Config::builder()
            .environment_prefix("dev")
            .endpoint("localhost:8000")
            .build()
            .unwrap_err();
        assert!(matches!(err, Error::InvalidEndpoint { .. }), "{err}");
        let ok = Config::builder()
            .environment_prefix("dev-1.x")
            .endpoint("http://localhost:8000/")
            .build()
            .unwrap();
        assert_eq!(ok.endpoint(), Some("http://localhost:8000"));
        assert!(ok.is_loopback());
        assert_eq!(ok.source(), None, "no source unless configured");
    }

    #[test]
    fn builder_validates_the_source() {
        let config = Config::builder()
            .environment_prefix("dev")
            .source("billing")
            .build()
            .unwrap();
        assert_eq!(config.source(), Some("billing"));
        for bad in ["", "billing service", "tab\there"] {
            let err = Config::builder()
                .environment_prefix("dev")
                .source(bad)
                .build()
                .unwrap_err();
            assert!(matches!(err, Error::InvalidSource { .. }), "{bad:?}: {err}");
        }
    }

    #[test]
    fn a_prefix_never_contains_the_separator() {
        let err = Config::builder()
            .environment_prefix_from("dev_x", "--prefix")
            .build()
            .unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, Error::InvalidEnvironmentPrefix { .. }),
            "{text}"
        );
        assert!(
            text.contains("\"dev_x\" (from --prefix)")
                && text.contains("`_` is not allowed")
                && text.contains("\"dev-x\""),
            "{text}"
        );
        for bad in ["_", "dev_", "_dev", "a_b_c"] {
            assert!(validate_prefix(bad).is_err(), "{bad}");
        }
    }
}
