//! YAML documents whose nodes remember where they are: the spanned node
//! tree, `file:line:col` locations, the located [`Diagnostic`] every loader
//! reports, and did-you-mean suggestions.
//!
//! Shared by the inventory and playbook loaders, which read a document with
//! [`parse_document`], walk its [`Node`]s, and point their own errors at the
//! [`Location`] of the offending node.
//!
//! ```
//! use fleet_yaml::{Node, location, parse_document};
//!
//! let root = parse_document("all:\n  port: 22\n", "inv.yaml").unwrap();
//! let Node::Map(entries) = &root.value else { panic!("a map") };
//! let (key, value) = &entries[0];
//! assert_eq!(key.value.as_str(), Some("all"));
//! assert_eq!(location("inv.yaml", &value.referenced).to_string(), "inv.yaml:2:3");
//! ```

mod diagnostic;
mod document;
mod location;
mod node;
mod suggest;
mod vault;
#[cfg(test)]
mod vault_tests;

pub use diagnostic::Diagnostic;
pub use document::{YamlError, YamlErrorKind, parse_document};
pub use location::{Location, location};
pub use node::{Node, YamlNode, message_quote};
pub use suggest::{closest, did_you_mean};
