//! Security headers on every response, pages and API alike: a content security policy that
//! admits only the app's own scripts, styles and images (the pages use none inline, and the
//! charts are SVG markup), no framing by other sites, no MIME sniffing, and no referrer sent
//! to other origins.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Request, Response};

/// The policy: everything from the app itself; images may also be `data:` URLs; forms post
/// only to the app; no plugins, no `<base>`, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub struct SecurityHeaders;

#[rocket::async_trait]
impl Fairing for SecurityHeaders {
    fn info(&self) -> Info {
        Info {
            name: "Security headers",
            kind: Kind::Response,
        }
    }

    async fn on_response<'r>(&self, _request: &'r Request<'_>, response: &mut Response<'r>) {
        for (name, value) in [
            ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "same-origin"),
        ] {
            response.set_header(Header::new(name, value));
        }
    }
}

/// The stage: the fairing that sets the headers.
pub fn stage() -> SecurityHeaders {
    SecurityHeaders
}
