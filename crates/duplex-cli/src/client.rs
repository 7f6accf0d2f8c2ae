//! Client settings from the command line, shared by `connect` and `bench`.

use anyhow::Context as _;
use duplex::{ClientBuilder, Config, DeflateConfig};

use crate::args::ClientArgs;

/// The library's client builder, configured as the options say.
pub fn builder(args: &ClientArgs) -> anyhow::Result<ClientBuilder> {
    let mut builder = ClientBuilder::new()
        .config(Config::default().max_message_size(args.max_size))
        .connect_timeout(args.connect_timeout)
        .danger_accept_invalid_certs(args.insecure);
    for protocol in &args.protocols {
        builder = builder.protocol(protocol.clone());
    }
    for (name, value) in &args.headers {
        builder = builder.header(name.clone(), value.clone());
    }
    if let Some(origin) = &args.origin {
        builder = builder.origin(origin.clone());
    }
    if args.deflate {
        builder = builder.deflate(DeflateConfig::default());
    }
    if let Some(ca) = &args.ca {
        builder = builder
            .add_root_certificates_pem_file(ca)
            .with_context(|| format!("--ca {}", ca.display()))?;
    }
    Ok(builder)
}

/// A connection error, with a hint where the next step is not obvious from the message.
pub fn explain(error: duplex::Error) -> anyhow::Error {
    let hint = match &error {
        duplex::Error::Tls(tls) if tls.is_invalid_certificate() => {
            " (trust its CA with --ca FILE, or skip the check with --insecure when testing)"
        }
        duplex::Error::Timeout(_) => " (a longer --connect-timeout may help)",
        _ => "",
    };
    if hint.is_empty() {
        anyhow::Error::new(error)
    } else {
        anyhow::anyhow!("{error}{hint}")
    }
}
