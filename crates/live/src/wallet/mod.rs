//! The coin wallet: balances kept by a double-entry [`ledger`], recharges through
//! [`payments`] providers, withdrawals of diamonds, and operators' adjustments and audit.

pub mod adjust;
pub mod admin_ledger;
pub mod audit;
pub mod get_wallet;
pub mod ledger;
pub mod ledger_batch;
pub mod list_ledger;
pub mod payments;
pub mod recharge;
pub mod withdrawals;

use std::sync::Arc;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::LiveState;
use payments::{DevProvider, PaymentProvider};

/// The payment providers this node accepts.
#[derive(Debug, Default)]
pub struct Payments {
    providers: Vec<Arc<dyn PaymentProvider>>,
    dev: Option<Arc<DevProvider>>,
}

impl Payments {
    /// The providers the settings ask for; `jwt_secret` keys the development provider's
    /// signatures unless a payment secret is configured.
    pub fn new(settings: &crate::EconomySettings, jwt_secret: &[u8]) -> Payments {
        let mut p = Payments::default();
        if settings.dev_payments {
            let secret = payments::dev_secret(settings.payment_secret.as_deref(), jwt_secret);
            let dev = Arc::new(DevProvider::new(&secret, settings.callback_max_age_secs));
            p.providers.push(dev.clone());
            p.dev = Some(dev);
        }
        p
    }

    /// Adds a provider (a real one, implemented outside momo's core).
    pub fn add(&mut self, provider: Arc<dyn PaymentProvider>) {
        self.providers.push(provider);
    }

    /// The names of the providers switched on, in the order they were added.
    pub fn names(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.name().to_string())
            .collect()
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.providers.iter().find(|p| p.name() == name)
    }

    /// The development provider, when it is on.
    pub fn dev(&self) -> Option<&Arc<DevProvider>> {
        self.dev.as_ref()
    }
}

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    LiveState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(get_wallet::get_wallet))
        .routes(routes!(list_ledger::list_ledger))
        .routes(routes!(recharge::list_packages))
        .routes(routes!(recharge::create_order))
        .routes(routes!(recharge::get_order))
        .routes(routes!(recharge::callback))
        .routes(routes!(recharge::dev_checkout))
        .routes(routes!(
            withdrawals::request_withdrawal,
            withdrawals::my_withdrawals
        ))
        .routes(routes!(withdrawals::list_withdrawals))
        .routes(routes!(withdrawals::approve))
        .routes(routes!(withdrawals::reject))
        .routes(routes!(adjust::adjust))
        .routes(routes!(audit::get_audit))
        .routes(routes!(admin_ledger::search_ledger))
}
