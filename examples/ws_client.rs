//! A WebSocket client on `std::net`, as the Autobahn testsuite's testee.
//!
//! ```text
//! cargo run --release --example ws_client -- ws://127.0.0.1:9001 pushcodec
//! cargo run --release --example ws_client --features deflate -- ws://127.0.0.1:9001 pushcodec --deflate
//! ```
//!
//! Reads the case count from `URL/getCaseCount`, runs every case
//! (`URL/runCase?case=N&agent=AGENT`), echoing each message until the server
//! closes, then asks for the reports (`URL/updateReports?agent=AGENT`).
//! `.ci/check-autobahn.sh` drives it against `wstest -m fuzzingserver`.
//!
//! pushcodec does no I/O: this program opens the socket, writes the request
//! that [`ClientHandshake`] encodes, checks the answer with it, and then moves
//! bytes between the socket and the [`Connection`].
//!
//! With `--deflate` (needs the `deflate` feature) every case's request offers
//! permessage-deflate (RFC 7692) with the default `DeflateConfig`, then the
//! same with `client_no_context_takeover`, and the server's answer is checked
//! with `negotiate_client`: a bad answer fails that case's connection, as
//! §7.1 requires.

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

#[cfg(feature = "deflate")]
use pushcodec::ws::deflate::{client_offer, negotiate_client};
use pushcodec::ws::handshake::ClientHandshake;
use pushcodec::ws::{Connection, Event, Role};

#[path = "common/blocking.rs"]
mod blocking;
use blocking::READ_BUFFER;
#[cfg(feature = "deflate")]
use blocking::deflate_config;

/// How long the server may take to answer the opening handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, agent, deflate) = match args.as_slice() {
        [url, agent] => (url, agent, false),
        [url, agent, flag] if flag == "--deflate" => (url, agent, true),
        _ => {
            eprintln!("usage: ws_client ws://HOST:PORT[/PATH] AGENT [--deflate]");
            return ExitCode::from(2);
        }
    };
    if deflate && !cfg!(feature = "deflate") {
        eprintln!(
            "ws_client: --deflate needs the `deflate` feature: \
             cargo run --example ws_client --features deflate -- {url} {agent} --deflate"
        );
        return ExitCode::from(2);
    }
    let Some((authority, base)) = url.strip_prefix("ws://").map(|rest| {
        let slash = rest.find('/').unwrap_or(rest.len());
        (&rest[..slash], rest[slash..].trim_end_matches('/'))
    }) else {
        eprintln!("ws_client: only ws:// URLs are supported, got {url:?}");
        return ExitCode::from(2);
    };
    let agent = percent_encode(agent);

    let mut count = String::new();
    let got_count = run(
        authority,
        &format!("{base}/getCaseCount"),
        false,
        |_, event| {
            if let Event::Text(text) = event {
                count.push_str(&text);
            }
        },
    );
    let count: u32 = match got_count.map(|()| count.trim().parse()) {
        Ok(Ok(count)) => count,
        Ok(Err(_)) => {
            eprintln!("ws_client: getCaseCount answered {count:?}, not a number");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("ws_client: getCaseCount: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprintln!("ws_client: running {count} cases as {agent}");

    for case in 1..=count {
        let path = format!("{base}/runCase?case={case}&agent={agent}");
        // A case may end in an error on purpose (the fuzzer sent garbage);
        // its report says whether we behaved.
        if let Err(e) = run(authority, &path, deflate, |conn, event| {
            blocking::echo(conn, event, "ws_client");
        }) {
            eprintln!("ws_client: case {case}: {e}");
        }
    }

    match run(
        authority,
        &format!("{base}/updateReports?agent={agent}"),
        false,
        |_, _| {},
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ws_client: updateReports: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Opens `ws://authority/path`, calls `on_event` for everything the server
/// sends, and returns once the server has closed the connection. With
/// `deflate`, offers permessage-deflate.
fn run(
    authority: &str,
    path: &str,
    deflate: bool,
    on_event: impl FnMut(&mut Connection, Event),
) -> io::Result<()> {
    // The fuzzing server checks that the Host header names its own port, so
    // it is sent exactly as the URL has it.
    let mut stream = if authority.contains(':') && !authority.ends_with(']') {
        TcpStream::connect(authority)?
    } else {
        TcpStream::connect(format!("{authority}:80"))?
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
    let mut buf = vec![0u8; READ_BUFFER];

    // The opening handshake (RFC 6455 §4.1). The server's first frames may
    // arrive in the same read as its response head.
    let handshake = ClientHandshake::new(authority, path);
    // Two offers in order of preference (RFC 7692 §5): our policy, then
    // the same with `client_no_context_takeover`, for servers that accept
    // only a client that promises to reset its compressor (Autobahn 13.2,
    // 13.5 and 13.6 do). We can honour either, and `negotiate_client` with
    // our policy checks an answer to either: a server may always answer
    // `client_no_context_takeover` (§7.1.1.2).
    #[cfg(feature = "deflate")]
    let handshake = if deflate {
        let mut fallback = deflate_config();
        fallback.client_no_context_takeover = true;
        handshake
            .extension(&client_offer(&deflate_config()))
            .extension(&client_offer(&fallback))
    } else {
        handshake
    };
    let mut request = Vec::new();
    handshake.encode_request(&mut request);
    stream.write_all(&request)?;
    let mut head = Vec::new();
    let (response, first_frames) = loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&buf[..n]);
        if let Some((response, used)) = handshake.parse_response(&head).map_err(io::Error::other)? {
            break (response, head.split_off(used));
        }
    };

    let mut conn = Connection::new(Role::Client, blocking::large_messages());
    // RFC 7692 §7.1: a response we cannot honour fails the connection
    // (RFC 6455 §4.1: the client drops TCP without a Close frame).
    #[cfg(feature = "deflate")]
    if deflate
        && let Some(params) = negotiate_client(&deflate_config(), response.extensions())
            .map_err(|e| io::Error::other(format!("permessage-deflate: {e}")))?
    {
        conn = conn.with_deflate(&params, &deflate_config());
    }
    #[cfg(not(feature = "deflate"))]
    let _ = (response, deflate);
    // A client waits for the server to close TCP first (RFC 6455 §7.1.1):
    // `drive` returns once it has.
    blocking::drive(
        &mut conn,
        &mut stream,
        &first_frames,
        &format!("ws_client: {path}"),
        on_event,
    )
}

/// Query-string escaping for the agent name (RFC 3986 §2: unreserved
/// characters stay, every other byte becomes `%XX`).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
