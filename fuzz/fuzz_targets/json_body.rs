//! Any bytes as a JSON request body: parsing answers Ok or a 4xx error, never panics.
#![no_main]

use app::accounts::login::LoginRequest;
use app::accounts::register::RegisterRequest;
use app::http::body::parse;
use app::users::update_me::UpdateProfile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for status in [
        parse::<RegisterRequest>(data).err().map(|e| e.status),
        parse::<LoginRequest>(data).err().map(|e| e.status),
        parse::<UpdateProfile>(data).err().map(|e| e.status),
    ]
    .into_iter()
    .flatten()
    {
        assert!(status.is_client_error(), "{status}");
    }
});
