//! What each command needs of the connected user, and whether the user has it.
//!
//! The runner's own commands touch three collections of the migrated database (`<c>`,
//! `<c>_details`, `<c>_lock`) and no other: reading the state needs `find`; `up`, `down` and
//! `accept-changes` also `insert` and `update` (upserts) and `remove` (a surplus shared
//! document); `unlock` needs `find` and `update` (a `findAndModify`). `hello`, `buildInfo`,
//! `listCommands` and `connectionStatus` need no privilege. So the built-in role `read` on the
//! database is enough for `status`, `check`, `wait` and `doctor`, and `readWrite` for the rest.
//! What the migration bodies need is theirs to document.
//!
//! The judgement reads `connectionStatus` with `showPrivileges`: where the server lists the
//! user's privileges (MongoDB does), they decide; where it lists only roles (SecantusDB), the
//! built-in roles decide, and a custom role cannot be judged.

use bson::{Bson, Document};
use serde::Serialize;

/// A privilege action the runner needs on its collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Reading the state and the lock.
    Find,
    /// Upserting state documents and the lock document.
    Insert,
    /// Writing the state, the details, the lock.
    Update,
    /// Removing a surplus shared state document.
    Remove,
}

impl Action {
    /// The action's name, as MongoDB spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Find => "find",
            Action::Insert => "insert",
            Action::Update => "update",
            Action::Remove => "remove",
        }
    }
}

/// What one command of the `migrate` CLI needs on the state collections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Need {
    /// The command.
    pub command: &'static str,
    /// The actions, on each of the three collections.
    pub actions: &'static [Action],
    /// The least built-in role on the database that grants them.
    pub role: &'static str,
}

const READ: &[Action] = &[Action::Find];
const WRITE: &[Action] = &[Action::Find, Action::Insert, Action::Update, Action::Remove];

/// Every command that talks to the state, with what it needs.
pub const NEEDS: [Need; 8] = [
    Need {
        command: "up",
        actions: WRITE,
        role: "readWrite",
    },
    Need {
        command: "down",
        actions: WRITE,
        role: "readWrite",
    },
    Need {
        command: "accept-changes",
        actions: WRITE,
        role: "readWrite",
    },
    Need {
        command: "unlock",
        actions: &[Action::Find, Action::Update],
        role: "readWrite",
    },
    Need {
        command: "status",
        actions: READ,
        role: "read",
    },
    Need {
        command: "check",
        actions: READ,
        role: "read",
    },
    Need {
        command: "wait",
        actions: READ,
        role: "read",
    },
    Need {
        command: "doctor",
        actions: READ,
        role: "read",
    },
];

/// What `command` needs (`up` for a command not listed).
pub fn need(command: &str) -> Need {
    NEEDS
        .iter()
        .copied()
        .find(|n| n.command == command)
        .unwrap_or(NEEDS[0])
}

/// One command judged against the user's grants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CommandAccess {
    /// The command.
    pub command: &'static str,
    /// The least role that would do.
    pub role: &'static str,
    /// `true`: granted; `false`: missing; `None`: cannot be told (a custom role).
    pub granted: Option<bool>,
    /// The actions missing, as `action on collection`.
    pub missing: Vec<String>,
}

/// The connected user and what each command may do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessReport {
    /// `user@db` of the authenticated users; empty when none is (no authentication).
    pub users: Vec<String>,
    /// Their roles, `role@db`.
    pub roles: Vec<String>,
    /// Whether the judgement came from listed privileges (else from built-in roles).
    pub from_privileges: bool,
    /// Per command.
    pub commands: Vec<CommandAccess>,
}

impl AccessReport {
    /// The entry of `command`.
    pub fn of(&self, command: &str) -> Option<&CommandAccess> {
        self.commands.iter().find(|c| c.command == command)
    }
}

/// Judges `connectionStatus`'s reply (with `showPrivileges: true`) for the state collections
/// `collections` of database `db`.
pub fn judge(connection_status: &Document, db: &str, collections: &[String]) -> AccessReport {
    let auth = connection_status
        .get_document("authInfo")
        .cloned()
        .unwrap_or_default();
    let pairs = |key: &str, name: &str| -> Vec<(String, String)> {
        auth.get_array(key)
            .map(|a| {
                a.iter()
                    .filter_map(Bson::as_document)
                    .filter_map(|d| {
                        Some((
                            d.get_str(name).ok()?.to_owned(),
                            d.get_str("db").ok()?.to_owned(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let users = pairs("authenticatedUsers", "user");
    let roles = pairs("authenticatedUserRoles", "role");
    let privileges: Vec<Document> = auth
        .get_array("authenticatedUserPrivileges")
        .map(|a| a.iter().filter_map(Bson::as_document).cloned().collect())
        .unwrap_or_default();
    let from_privileges = !privileges.is_empty();
    let commands = NEEDS
        .iter()
        .map(|n| {
            if users.is_empty() {
                // No authenticated user: either authentication is off (everything is allowed)
                // or the server refuses every command, which the state read shows.
                return CommandAccess {
                    command: n.command,
                    role: n.role,
                    granted: Some(true),
                    missing: Vec::new(),
                };
            }
            let mut missing = Vec::new();
            let mut unknown = false;
            for coll in collections {
                for &action in n.actions {
                    let ok = if from_privileges {
                        Some(privileges.iter().any(|p| grants(p, db, coll, action)))
                    } else {
                        role_grants(&roles, db, action)
                    };
                    match ok {
                        Some(true) => {}
                        Some(false) => missing.push(format!("{} on {db}.{coll}", action.as_str())),
                        None => unknown = true,
                    }
                }
            }
            let granted = if !missing.is_empty() {
                Some(false)
            } else if unknown {
                None
            } else {
                Some(true)
            };
            CommandAccess {
                command: n.command,
                role: n.role,
                granted,
                missing,
            }
        })
        .collect();
    AccessReport {
        users: users.iter().map(|(u, d)| format!("{u}@{d}")).collect(),
        roles: roles.iter().map(|(r, d)| format!("{r}@{d}")).collect(),
        from_privileges,
        commands,
    }
}

/// Whether a listed privilege grants `action` on `db.coll`.
fn grants(privilege: &Document, db: &str, coll: &str, action: Action) -> bool {
    let has_action = privilege.get_array("actions").is_ok_and(|a| {
        a.iter()
            .any(|x| x.as_str() == Some(action.as_str()) || x.as_str() == Some("anyAction"))
    });
    let Ok(resource) = privilege.get_document("resource") else {
        return false;
    };
    if resource.get_bool("anyResource") == Ok(true) {
        return has_action;
    }
    let (Ok(rdb), Ok(rcoll)) = (resource.get_str("db"), resource.get_str("collection")) else {
        return false;
    };
    // An empty name matches every database, or every (non-system) collection.
    has_action && (rdb.is_empty() || rdb == db) && (rcoll.is_empty() || rcoll == coll)
}

/// Whether the built-in roles among `roles` grant `action` on the database `db`; `None` when a
/// custom role might, and nothing built in does.
fn role_grants(roles: &[(String, String)], db: &str, action: Action) -> Option<bool> {
    let mut custom = false;
    for (role, on) in roles {
        let here = on == db;
        let admin = on == "admin";
        let ok = match role.as_str() {
            "read" => here && action == Action::Find,
            "readWrite" | "dbOwner" => here,
            "readAnyDatabase" => admin && action == Action::Find,
            "readWriteAnyDatabase" | "root" | "__system" => admin,
            "dbAdmin"
            | "userAdmin"
            | "dbAdminAnyDatabase"
            | "userAdminAnyDatabase"
            | "clusterAdmin"
            | "clusterManager"
            | "clusterMonitor"
            | "hostManager"
            | "backup"
            | "restore"
            | "enableSharding" => false,
            _ => {
                custom = true;
                false
            }
        };
        if ok {
            return Some(true);
        }
    }
    if custom {
        None
    } else {
        Some(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn colls() -> Vec<String> {
        [
            "pymongo_migrate",
            "pymongo_migrate_details",
            "pymongo_migrate_lock",
        ]
        .map(str::to_owned)
        .to_vec()
    }

    fn status(roles: &[(&str, &str)], privileges: Vec<Document>) -> Document {
        let roles: Vec<Document> = roles
            .iter()
            .map(|(r, d)| doc! { "role": *r, "db": *d })
            .collect();
        doc! { "authInfo": {
            "authenticatedUsers": [ { "user": "ann", "db": "app" } ],
            "authenticatedUserRoles": roles,
            "authenticatedUserPrivileges": privileges,
        }, "ok": 1 }
    }

    #[test]
    fn read_is_enough_for_reading_and_read_write_for_running() {
        let ro = judge(&status(&[("read", "app")], vec![]), "app", &colls());
        assert_eq!(ro.of("status").and_then(|c| c.granted), Some(true));
        let up = ro.of("up").expect("up");
        assert_eq!((up.granted, up.role), (Some(false), "readWrite"));
        assert!(
            up.missing
                .contains(&"insert on app.pymongo_migrate_lock".to_owned()),
            "{up:?}"
        );
        let rw = judge(&status(&[("readWrite", "app")], vec![]), "app", &colls());
        assert!(
            rw.commands.iter().all(|c| c.granted == Some(true)),
            "{rw:?}"
        );
        // A role on another database grants nothing here.
        let other = judge(&status(&[("readWrite", "other")], vec![]), "app", &colls());
        assert_eq!(other.of("status").and_then(|c| c.granted), Some(false));
        assert_eq!(
            judge(&status(&[("root", "admin")], vec![]), "app", &colls())
                .of("up")
                .and_then(|c| c.granted),
            Some(true)
        );
    }

    #[test]
    fn listed_privileges_decide_and_custom_roles_cannot_be_judged_without_them() {
        let privileges = vec![doc! {
            "resource": { "db": "app", "collection": "" },
            "actions": ["find", "insert", "update"],
        }];
        let p = judge(&status(&[("migrator", "app")], privileges), "app", &colls());
        assert!(p.from_privileges);
        assert_eq!(p.of("unlock").and_then(|c| c.granted), Some(true));
        let up = p.of("up").expect("up");
        assert_eq!(up.granted, Some(false));
        assert!(
            up.missing.iter().all(|m| m.starts_with("remove on")),
            "{up:?}"
        );
        let custom = judge(&status(&[("migrator", "app")], vec![]), "app", &colls());
        assert_eq!(custom.of("up").and_then(|c| c.granted), None);
    }

    #[test]
    fn without_an_authenticated_user_nothing_is_judged_missing() {
        let open = doc! { "authInfo": { "authenticatedUsers": [], "authenticatedUserRoles": [] }, "ok": 1 };
        let r = judge(&open, "app", &colls());
        assert!(r.users.is_empty() && r.commands.iter().all(|c| c.granted == Some(true)));
    }
}
