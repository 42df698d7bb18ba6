//! Typed argument structs declared together with their parameters, so the two cannot disagree.
//!
//! ```ignore
//! arguments! {
//!     /// Arguments of Get-KeyVaultKey.
//!     pub struct GetKeyArgs {
//!         pub vault_name: String = "VaultName", String, "Name of the key vault", mandatory, pipeline;
//!         pub include_versions: bool = "IncludeVersions", Switch, "List every version";
//!     }
//! }
//! ```
//!
//! Each field names its parameter once: the macro makes the serde name and the [`Param`] from
//! the same literal, checks at compile time that the field's Rust type fits the parameter's
//! kind ([`Fits`]), and gives the struct `#[serde(default)]` so an absent optional parameter
//! is never a decoding error (whether it may be absent is the parameter table's rule, checked
//! by validation before the struct is decoded).

use super::Param;
use serde::de::DeserializeOwned;

/// A typed argument struct with its parameter table. Made by [`arguments!`].
pub trait Arguments: DeserializeOwned {
    fn parameters() -> Vec<Param>;
}

/// Marker types, one per [`super::ParamType`], for the compile-time type check.
pub mod kinds {
    pub struct String;
    pub struct StringArray;
    pub struct Int;
    pub struct Switch;
    pub struct Bool;
    pub struct DateTime;
    pub struct Hashtable;
    pub struct Bytes;
    pub struct Path;
    pub struct SecureString;
}

/// `T: Fits<kinds::K>`: a field of type `T` can hold a parameter of kind `K`.
pub trait Fits<K> {}

impl Fits<kinds::String> for String {}
impl Fits<kinds::Path> for String {}
impl Fits<kinds::Bytes> for String {}
impl Fits<kinds::SecureString> for zeroize::Zeroizing<String> {}
impl Fits<kinds::Bytes> for zeroize::Zeroizing<String> {}
impl Fits<kinds::StringArray> for Vec<String> {}
impl Fits<kinds::Int> for i64 {}
impl Fits<kinds::Switch> for bool {}
impl Fits<kinds::Bool> for bool {}
impl Fits<kinds::DateTime> for chrono::DateTime<chrono::Utc> {}
impl Fits<kinds::Hashtable> for std::collections::BTreeMap<String, String> {}
impl<T: Fits<K>, K> Fits<K> for Option<T> {}

/// Compiles only when `T` fits `K`; the macro calls it once per field.
pub const fn fits<T: Fits<K>, K>() {}

/// Declares an argument struct and its parameters in one place. See the module docs.
macro_rules! arguments {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $(
                $(#[$fmeta:meta])*
                pub $field:ident : $fty:ty = $pname:literal, $kind:ident, $help:expr
                    $(, $modifier:ident $( ( $($marg:expr),* ) )? )* ;
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(serde::Deserialize, Default)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                $(#[$fmeta])*
                #[serde(rename = $pname)]
                pub $field: $fty,
            )*
        }

        impl $crate::operations::Arguments for $name {
            fn parameters() -> Vec<$crate::operations::Param> {
                vec![$(
                    {
                        $crate::operations::arguments::fits::<$fty, $crate::operations::kinds::$kind>();
                        $crate::operations::Param::new(
                            $pname,
                            $crate::operations::ParamType::$kind,
                            $help,
                        )
                        $( .$modifier( $( $($marg),* )? ) )*
                    }
                ),*]
            }
        }
    };
}
