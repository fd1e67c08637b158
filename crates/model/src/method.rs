//! The HTTP methods a generator may ask for (contract 0.2's `method`), in
//! one home for the runtime, the policy and the client.

use serde::{Deserialize, Serialize};

/// An HTTP method a report may use. A reporter allows `POST` only unless its
/// config lists more (`methods = ["POST", "PATCH"]`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// Create (the only method of contract 0.1).
    #[default]
    Post,
    /// Replace.
    Put,
    /// Update, e.g. a GitHub check run.
    Patch,
    /// Remove.
    Delete,
}

impl Method {
    /// Every method, in a stable order.
    pub const ALL: [Method; 4] = [Method::Post, Method::Put, Method::Patch, Method::Delete];

    /// `POST`, `PUT`, `PATCH` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Method {
    type Err = String;
    /// Case-insensitive: `post`, `PATCH`.
    fn from_str(s: &str) -> Result<Method, String> {
        Method::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("`{s}` is not one of POST, PUT, PATCH, DELETE"))
    }
}
