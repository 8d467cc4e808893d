//! Typed error codes: each context declares its refusals once, as an enum whose variants
//! carry their HTTP status, their stable code and their usual message, instead of
//! writing the code's string wherever the refusal is made.
//!
//! ```
//! kit::error_codes! {
//!     /// Refusals of the live context.
//!     pub enum LiveError {
//!         /// The room does not exist.
//!         RoomNotFound = (NOT_FOUND, "room_not_found", "no such room"),
//!     }
//! }
//! let e: kit::ApiError = LiveError::RoomNotFound.into();
//! assert_eq!((e.status.as_u16(), &*e.code), (404, "room_not_found"));
//! let e = LiveError::RoomNotFound.with_message("room 7 is gone");
//! assert_eq!(e.message, "room 7 is gone");
//! ```

/// Declares an enum of error codes; see the [module](crate::codes).
#[macro_export]
macro_rules! error_codes {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $(
                $(#[$vmeta:meta])*
                $variant:ident = ($status:ident, $code:literal, $message:literal)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every code of this enum.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// The stable code clients switch on.
            pub const fn code(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }

            /// The HTTP status it is answered with.
            pub const fn status(self) -> $crate::codes::StatusCode {
                match self {
                    $($name::$variant => $crate::codes::StatusCode::$status,)*
                }
            }

            /// Its usual message, for people.
            pub const fn message(self) -> &'static str {
                match self {
                    $($name::$variant => $message,)*
                }
            }

            /// Whether `e` is this refusal (its code and its status).
            pub fn is(self, e: &$crate::ApiError) -> bool {
                e.code == self.code() && e.status == self.status()
            }

            /// The error with a message of its own (one that names a limit, say).
            pub fn with_message(self, message: impl Into<String>) -> $crate::ApiError {
                $crate::ApiError::new(self.status(), self.code(), message)
            }
        }

        impl From<$name> for $crate::ApiError {
            fn from(e: $name) -> $crate::ApiError {
                $crate::ApiError::new(e.status(), e.code(), e.message())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

pub use axum::http::StatusCode;

#[cfg(test)]
mod tests {
    crate::error_codes! {
        enum Sample {
            Gone = (NOT_FOUND, "gone", "it is gone"),
            Late = (CONFLICT, "late", "too late"),
        }
    }

    #[test]
    fn each_code_carries_its_status_and_message() {
        assert_eq!(Sample::ALL, &[Sample::Gone, Sample::Late]);
        let e = crate::ApiError::from(Sample::Late);
        assert_eq!(
            (e.status.as_u16(), &*e.code, &*e.message),
            (409, "late", "too late")
        );
        let e = Sample::Gone.with_message("room 7 is gone");
        assert_eq!(
            (e.status.as_u16(), &*e.code, &*e.message),
            (404, "gone", "room 7 is gone")
        );
        assert_eq!(Sample::Gone.to_string(), "gone");
        assert!(Sample::Gone.is(&e));
        assert!(!Sample::Late.is(&e));
    }
}
