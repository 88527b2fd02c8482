//! Validated values: input is parsed into these once, at the edge, and the
//! rest of the code cannot hold an invalid one ("parse, don't validate").
//! Every parse error names the field it came from.

use std::fmt;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::AppError;

/// Characters no client should have to render: C0/C1 controls (except the
/// line breaks and tabs that multi-line text allows), and the Unicode
/// "noncharacters". Bidi controls are allowed: they are legitimate in
/// right-to-left text and clients must render text as text anyway.
fn forbidden_char(c: char, multiline: bool) -> bool {
    let allowed_whitespace = multiline && matches!(c, '\n' | '\t' | '\r');
    (c.is_control() && !allowed_whitespace)
        || matches!(c as u32, 0xFDD0..=0xFDEF)
        || (c as u32 & 0xFFFE) == 0xFFFE
}

/// Checks length in Unicode scalar values and the character set.
fn check_text(
    field: &str,
    value: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<(), AppError> {
    let len = value.chars().count();
    if len < min || len > max {
        return Err(if min > 0 && value.trim().is_empty() {
            AppError::invalid(field, "must not be empty")
        } else {
            AppError::invalid(field, format!("must be {min} to {max} characters"))
        });
    }
    if value.chars().any(|c| forbidden_char(c, multiline)) {
        return Err(AppError::invalid(field, "contains control characters"));
    }
    if min > 0 && value.trim().is_empty() {
        return Err(AppError::invalid(field, "must not be blank"));
    }
    Ok(())
}

macro_rules! text_value {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, multiline = $multi:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub const MAX_CHARS: usize = $max;

            pub fn parse(field: &str, value: String) -> Result<Self, AppError> {
                check_text(field, &value, $min, $max, $multi)?;
                Ok(Self(value))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_value!(
    /// A user's free-form display name, 1-32 characters.
    DisplayName, 1, 32, multiline = false
);
text_value!(
    /// A server name, 1-100 characters.
    ServerName, 1, 100, multiline = false
);
text_value!(
    /// A channel name, 1-100 characters.
    ChannelName, 1, 100, multiline = false
);
text_value!(
    /// A channel topic, up to 1024 characters; may be empty.
    Topic, 0, 1024, multiline = true
);
text_value!(
    /// Message text, 1-4000 characters of Unicode; stored exactly as sent.
    MessageContent, 1, 4000, multiline = true
);

/// A username: 2-32 of ASCII letters, digits, `_`, `.` and `-`; unique
/// case-insensitively. ASCII only so that look-alike names cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(field: &str, value: String) -> Result<Self, AppError> {
        let len = value.chars().count();
        if !(2..=32).contains(&len) {
            return Err(AppError::invalid(field, "must be 2 to 32 characters"));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
        {
            return Err(AppError::invalid(
                field,
                "may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The case-folded form that uniqueness and look-ups use.
    pub fn key(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

/// An e-mail address: one `@`, something on both sides, no spaces; at most
/// 254 characters. Deliverability is not checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, value: String) -> Result<Self, AppError> {
        let valid = value.len() <= 254
            && value.split('@').count() == 2
            && value.split('@').all(|part| !part.is_empty())
            && !value.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(AppError::invalid(field, "must be an e-mail address"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        self.0.to_lowercase()
    }
}

/// A password: 8-256 characters. Never logged: `Debug` is redacted.
pub struct Password(String);

impl Password {
    pub fn parse(field: &str, value: String) -> Result<Self, AppError> {
        let len = value.chars().count();
        if len < 8 {
            return Err(AppError::invalid(field, "must be at least 8 characters"));
        }
        if len > 256 {
            return Err(AppError::invalid(field, "must be at most 256 characters"));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// An emoji reaction: exactly one Unicode emoji (as the emoji database
/// knows it, skin tones included), or a custom `:name:` of 2-32 word
/// characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emoji(String);

impl Emoji {
    /// One Unicode emoji. Custom `:name:` emojis are refused until servers
    /// can have emojis of their own: accepting any name would let anyone
    /// invent reactions without bound.
    pub fn parse(field: &str, value: String) -> Result<Self, AppError> {
        // The emoji database lists fully-qualified forms; clients often send
        // the form without the variation selector, so accept both.
        let unicode =
            emojis::get(&value).is_some() || emojis::get(&format!("{value}\u{FE0F}")).is_some();
        if unicode {
            Ok(Self(value))
        } else {
            Err(AppError::invalid(field, "must be one Unicode emoji"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A member's role in a server, from least to most powerful. Stored as
/// text; a value the database should not hold fails to decode.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum Role {
    Member,
    Admin,
    Owner,
}

/// The state of a relationship between two users. Stored as text, like
/// `Role`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum RelationshipStatus {
    Pending,
    Accepted,
    Blocked,
}

/// A user's presence as others see it (`invisible` is shown as `offline`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Idle,
    Dnd,
    /// Connected, but shown to others as offline.
    Invisible,
    Offline,
}

impl PresenceStatus {
    /// What other users see.
    pub fn visible(self) -> Self {
        match self {
            Self::Invisible => Self::Offline,
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(Username::parse("username", "ab".into()).is_ok());
        assert!(Username::parse("username", "a".into()).is_err());
        assert!(Username::parse("username", "x".repeat(33)).is_err());
        assert!(Username::parse("username", "bad name".into()).is_err());
        assert!(Username::parse("username", "аdmin".into()).is_err()); // Cyrillic 'а'
        assert_eq!(Username::parse("u", "MiXeD".into()).unwrap().key(), "mixed");
    }

    #[test]
    fn message_content_counts_characters_not_bytes() {
        assert!(MessageContent::parse("content", "é".repeat(4000)).is_ok());
        assert!(MessageContent::parse("content", "é".repeat(4001)).is_err());
        assert!(MessageContent::parse("content", String::new()).is_err());
        assert!(MessageContent::parse("content", "   ".into()).is_err());
        assert!(MessageContent::parse("content", "line\nbreak".into()).is_ok());
        assert!(MessageContent::parse("content", "nul\0".into()).is_err());
        assert!(MessageContent::parse("content", "bell\u{7}".into()).is_err());
        assert!(MessageContent::parse("content", "\u{FFFF}".into()).is_err());
        assert!(MessageContent::parse("content", "مرحبا \u{202E}".into()).is_ok());
    }

    #[test]
    fn emojis() {
        for ok in ["👍", "❤️", "❤", "👍🏽", "🏳️‍🌈"] {
            assert!(Emoji::parse("emoji", ok.into()).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "👍👍",
            ":a:",
            ":bad name:",
            "::",
            "👍 ",
            ":x-y:",
            ":party_parrot:",
            ":ok:",
        ] {
            assert!(Emoji::parse("emoji", bad.into()).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_reject_line_breaks_but_topics_allow_them() {
        assert!(ChannelName::parse("name", "a\nb".into()).is_err());
        assert!(Topic::parse("topic", "a\nb".into()).is_ok());
        assert!(Topic::parse("topic", String::new()).is_ok());
    }

    #[test]
    fn emails() {
        assert!(Email::parse("email", "a@b.example".into()).is_ok());
        for bad in ["", "a", "@b", "a@", "a@b@c", "a b@c"] {
            assert!(Email::parse("email", bad.into()).is_err(), "{bad}");
        }
    }
}
