//! The sub_refresh proxy: when a subscription in a namespace with `sub_refresh_proxy_enabled`
//! reaches its expiry, the hub asks the backend whether it may go on. The reply has the
//! refresh reply's shape (`expired`, `expire_at`, `info`) and the same rules: a backend that
//! cannot answer gives the subscription another minute.

use super::refresh::{interpret, outcome, RefreshOutcome};
use super::request::Request;
use super::{ask, Caller, Proxies};

impl Proxies {
    /// Asks the sub_refresh proxy about an expiring subscription to `channel`. `None` when no
    /// sub_refresh proxy is configured.
    pub(crate) async fn sub_refresh(
        &self,
        caller: Caller<'_>,
        channel: &str,
    ) -> Option<RefreshOutcome> {
        let endpoint = self.sub_refresh.as_ref()?;
        let mut body = Request::new(caller, endpoint);
        body.channel = Some(channel);
        let answer = ask(endpoint, caller, Ok(body.body()), interpret).await;
        Some(outcome("sub_refresh", caller, answer))
    }
}
