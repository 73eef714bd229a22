//! What a migration file needs, in one `use mongodb_migrate::prelude::*;`.

pub use crate::migration::{MigrationError as Error, MigrationResult as Result};
pub use crate::transaction::Transaction;
pub use crate::{batch, markers, progress};
pub use anyhow::{anyhow, bail, ensure, Context as _};
pub use bson::{self, doc, oid::ObjectId, Bson, DateTime, Document};
pub use futures::{StreamExt as _, TryStreamExt as _};
pub use mongodb::{self, Collection, Database};
