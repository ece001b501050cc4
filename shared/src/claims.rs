//! Identity (45 CFR 164.312(a)(2)(i), (d)): the verified [`Principal`] behind every request.
//!
//! A `Principal` is produced by token verification only; handlers take a `Principal`, never
//! raw claims.

use crate::ids::{DeviceId, OrderId, Region, Role, TenantId, UserId};

/// What a token grants access to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Drivers and patients: exactly these orders.
    Orders(Vec<OrderId>),
    /// Pharmacists, dispatchers and auditors: every order of this tenant.
    Tenant(TenantId),
}

/// A verified caller: one person, in one role, on one device, within one region and scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    user: UserId,
    role: Role,
    scope: Scope,
    region: Region,
    device: DeviceId,
    expires_at_ms: u64,
}

impl Principal {
    /// Builds a principal without verifying any token. For token verification itself and for
    /// tests; an adapter must never call this with request data.
    pub fn new_unchecked(
        user: UserId,
        role: Role,
        scope: Scope,
        region: Region,
        device: DeviceId,
        expires_at_ms: u64,
    ) -> Self {
        Self {
            user,
            role,
            scope,
            region,
            device,
            expires_at_ms,
        }
    }

    /// The person (`sub`).
    pub fn user(&self) -> &UserId {
        &self.user
    }

    /// The role the token was issued for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The orders or tenant the token covers.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The region the token was issued for.
    pub fn region(&self) -> Region {
        self.region
    }

    /// The device the token was issued to.
    pub fn device(&self) -> &DeviceId {
        &self.device
    }

    /// When the token expires (ms since the epoch). Live sockets close at this time.
    pub fn expires_at_ms(&self) -> u64 {
        self.expires_at_ms
    }

    /// Whether the scope covers `order` of `tenant`.
    pub fn covers(&self, order: &OrderId, tenant: &TenantId) -> bool {
        match &self.scope {
            Scope::Orders(orders) => orders.contains(order),
            Scope::Tenant(t) => t == tenant,
        }
    }
}
