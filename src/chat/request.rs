//! STUB (being written): client request → Responses request.

use crate::request::{Rejection, RequestOptions, Translated};

/// Client fields with no Responses equivalent: refused with a 400 naming them, unless the
/// configuration's `drop_unsupported_fields` lists them.
pub const UNSUPPORTED_FIELDS: &[&str] = &[];

/// Translates one client request body into a Responses request.
pub fn translate(body: &[u8], options: &RequestOptions) -> Result<Translated, Rejection> {
    let _ = (body, options);
    Err(Rejection::unsupported("*", "not implemented yet"))
}
