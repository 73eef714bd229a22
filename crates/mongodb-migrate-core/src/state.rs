//! Names of the state collections. The documents and their I/O live in [`store`](crate::store).

pub use crate::store::{
    details_collection, lock_collection, state_collections, Record, LOCK_ID, TOOL,
};
