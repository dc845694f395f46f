//! Random names and secrets: ids from a fast generator, credentials from the operating system's CSPRNG.

/// Random `[a-z0-9]` characters (execution ids, job suffixes).
pub fn random_lower(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| CHARS[fastrand::usize(..CHARS.len())] as char).collect()
}

/// Random `[a-zA-Z0-9]` characters from the operating system's CSPRNG, for what is a credential: callback
/// tokens, session tokens and secret keys (fastrand's generator can be predicted from what it gave before).
pub fn random_alnum(len: usize) -> String {
    secret_chars(len, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
}

/// `len` characters of `alphabet` (at most 256 of them) from the operating system's CSPRNG, without
/// modulo bias: bytes past the largest multiple of the alphabet's size are drawn again.
pub fn secret_chars(len: usize, alphabet: &[u8]) -> String {
    let n = alphabet.len().clamp(1, 256);
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        // Linux's getrandom(2) does not fail once the pool is initialised; were it to, the request that
        // asked for a credential fails (a caught panic answers InternalFailure) rather than get a weak one.
        getrandom::fill(&mut buf).expect("the operating system's random source");
        for &b in buf.iter().filter(|&&b| usize::from(b) < limit) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[usize::from(b) % n]));
        }
    }
    out
}

/// A random id in the shape of a UUID (`8-4-4-4-12` of `[a-z0-9]`): request, message and event ids.
pub fn uuid_like() -> String {
    let r = random_lower(32);
    format!("{}-{}-{}-{}-{}", &r[0..8], &r[8..12], &r[12..16], &r[16..20], &r[20..32])
}
