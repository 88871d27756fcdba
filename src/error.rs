//! The crate's error type: every message is meant to be read by a student.

/// Everything that can go wrong with user-supplied shapes, settings or files.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// A shape or setting that cannot work, explained in words.
    #[error("{0}")]
    InvalidSetting(String),
    /// A file or buffer that could not be read.
    #[error("{0}")]
    BadInput(String),
}

pub type Result<T> = std::result::Result<T, Error>;

/// Shorthand for an [`Error::InvalidSetting`] with a formatted message.
#[macro_export]
macro_rules! invalid {
    ($($arg:tt)*) => { $crate::error::Error::InvalidSetting(format!($($arg)*)) };
}
