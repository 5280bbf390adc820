//! A slot of the per-address connection limit, held by the socket that uses it.
//!
//! Kept apart from the pool so that the socket layer ([`super::connect`]) can hold a slot without
//! knowing the pool: the pool is the slot's [`SlotOwner`], told when the slot is given back.

use std::fmt::Debug;
use std::net::SocketAddr;
use std::sync::Weak;

use tokio::sync::OwnedSemaphorePermit;

/// Who hands out slots and hears when one is given back (the connection pool).
pub trait SlotOwner: Debug + Send + Sync {
    /// A slot of `addr` was given back.
    fn slot_freed(&self, addr: SocketAddr);
}

/// A slot of the per-address limit; given back to the oldest request waiting for its address.
#[derive(Debug)]
pub struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    owner: Weak<dyn SlotOwner>,
    addr: SocketAddr,
}

impl Slot {
    /// A slot of `addr` holding `permit`, given back to `owner` when dropped.
    pub fn new(permit: OwnedSemaphorePermit, owner: Weak<dyn SlotOwner>, addr: SocketAddr) -> Slot {
        Slot {
            permit: Some(permit),
            owner,
            addr,
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        drop(self.permit.take());
        if let Some(owner) = self.owner.upgrade() {
            owner.slot_freed(self.addr);
        }
    }
}
