//! The two credential shapes every wasmpush config writes the same way:
//! `auth = { type = "basic", user, password | password_env | password_file }`
//! and `auth = { type = "bearer", token | token_env | token_file }`.
//!
//! The relay (what it requires of Buildbot), the Buildbot source (how it logs
//! in to the master) and every reporter (how it authenticates to a forge)
//! each embed these in their own `auth` enum, next to the kinds only they
//! have (a shared-secret header, token providers). One definition means one
//! spelling of the keys and one way the secret is read ([`SecretSource`]).

use crate::secret::SecretSource;
use serde::Deserialize;
use std::path::PathBuf;

/// HTTP Basic: a user name (not a secret) and a password from exactly one of
/// `password`, `password_env` or `password_file`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// User name (not a secret).
    pub user: String,
    /// Literal password: allowed, but `wasmpush check` warns.
    #[serde(default)]
    pub password: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// File holding the password (a trailing newline is dropped).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

impl BasicAuth {
    /// Where the password comes from; read it with [`SecretSource::read`]
    /// under the field name `auth.password`.
    pub fn password_source(&self) -> SecretSource {
        SecretSource {
            literal: self.password.clone(),
            env: self.password_env.clone(),
            file: self.password_file.clone(),
        }
    }
}

/// `Authorization: Bearer <token>`, the token from exactly one of `token`,
/// `token_env` or `token_file`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BearerAuth {
    /// Literal token: allowed, but `wasmpush check` warns.
    #[serde(default)]
    pub token: Option<String>,
    /// Environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
    /// File holding the token (a trailing newline is dropped).
    #[serde(default)]
    pub token_file: Option<PathBuf>,
}

impl BearerAuth {
    /// Where the token comes from; read it with [`SecretSource::read`]
    /// under the field name `auth.token`.
    pub fn token_source(&self) -> SecretSource {
        SecretSource { literal: self.token.clone(), env: self.token_env.clone(), file: self.token_file.clone() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
    enum Auth {
        Basic(BasicAuth),
        Bearer(BearerAuth),
    }

    #[test]
    fn both_shapes_read_inside_a_tagged_enum_and_refuse_unknown_keys() {
        let a: Auth = serde_json::from_str(r#"{"type": "basic", "user": "u", "password_env": "P"}"#).unwrap();
        let Auth::Basic(b) = a else { panic!("basic expected") };
        assert_eq!(b.user, "u");
        assert_eq!(b.password_source(), SecretSource { env: Some("P".into()), ..Default::default() });
        let a: Auth = serde_json::from_str(r#"{"type": "bearer", "token_file": "/t"}"#).unwrap();
        let Auth::Bearer(t) = a else { panic!("bearer expected") };
        assert_eq!(t.token_source().file, Some(PathBuf::from("/t")));
        let e = serde_json::from_str::<Auth>(r#"{"type": "basic", "user": "u", "pasword": "x"}"#).unwrap_err();
        assert!(e.to_string().contains("pasword"), "{e}");
    }
}
